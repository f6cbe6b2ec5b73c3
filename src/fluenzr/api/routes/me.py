"""The caller: who they are, their workspaces, their API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from fluenzr.api.schemas import Id, TokenCreate, TokenCreated
from fluenzr.http.deps import CtxDep, CurrentUser
from fluenzr.services import tokens, users
from fluenzr.services.tokens import TokenView
from fluenzr.services.users import MemberView, WorkspaceView

router = APIRouter(tags=["me"])


class MeOut(BaseModel):
    id: int
    email: str
    is_admin: bool
    workspace_id: int
    workspaces: list[WorkspaceView]


@router.get("/me", response_model=MeOut)
def me(principal: CurrentUser, ctx: CtxDep) -> MeOut:
    return MeOut(
        id=principal.user_id,
        email=principal.email,
        is_admin=principal.is_admin,
        workspace_id=principal.workspace_id,
        workspaces=users.workspaces_of(ctx, principal.user_id),
    )


@router.get("/tokens", response_model=list[TokenView])
def list_tokens(principal: CurrentUser, ctx: CtxDep) -> list[TokenView]:
    return tokens.list_tokens(ctx, user_id=principal.user_id)


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(body: TokenCreate, principal: CurrentUser, ctx: CtxDep) -> TokenCreated:
    view, secret = tokens.create_token(
        ctx, user_id=principal.user_id, workspace_id=principal.workspace_id, name=body.name
    )
    return TokenCreated(id=view.id, name=view.name, token=secret.reveal())


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response)
def revoke_token(token_id: Id, principal: CurrentUser, ctx: CtxDep) -> Response:
    tokens.revoke_token(ctx, user_id=principal.user_id, token_id=token_id)
    return Response(status_code=204)


@router.get("/workspace/members", response_model=list[MemberView])
def list_members(principal: CurrentUser, ctx: CtxDep) -> list[MemberView]:
    return users.list_members(ctx, workspace_id=principal.workspace_id)


@router.delete("/workspace/members/{user_id}", status_code=204, response_class=Response)
def remove_member(user_id: Id, principal: CurrentUser, ctx: CtxDep) -> Response:
    users.remove_member(
        ctx, actor_id=principal.user_id, workspace_id=principal.workspace_id, user_id=user_id
    )
    return Response(status_code=204)
