"""Invitations: owners invite an email to the current workspace; the invitee accepts the link.

The answer to an invitation is the same whether or not the email has an account here. The link
(``url``) is shown once to the inviter, who hands it over; nothing is mailed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from fluenzr.api.schemas import Id
from fluenzr.http.deps import CtxDep, CurrentUser
from fluenzr.services import invitations
from fluenzr.services.invitations import InvitationView

router = APIRouter(tags=["workspace"])


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=1, max_length=320)]
    role: Literal["owner", "member"] = "member"


class InvitationOut(InvitationView):
    token: str = Field(description="Shown once. The invitee opens `url` (or POSTs the token).")
    url: str


class InvitationAccept(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, Field(min_length=1, max_length=200)]


class Accepted(BaseModel):
    workspace_id: int


def invitation_url(request: Request, token: str) -> str:
    return str(request.base_url).rstrip("/") + f"/invitations/{token}"


@router.get("/workspaces/current/invitations", response_model=list[InvitationView])
def list_invitations(principal: CurrentUser, ctx: CtxDep) -> list[InvitationView]:
    """Owners only: pending invitations (never their tokens)."""
    return invitations.list_pending(
        ctx, actor_id=principal.user_id, workspace_id=principal.workspace_id
    )


@router.post("/workspaces/current/invitations", status_code=201, response_model=InvitationOut)
def create_invitation(
    body: InvitationCreate, request: Request, principal: CurrentUser, ctx: CtxDep
) -> InvitationOut:
    """Owners only: invite an email (existing account or not: the same answer)."""
    created = invitations.invite(
        ctx,
        actor_id=principal.user_id,
        workspace_id=principal.workspace_id,
        email=body.email,
        role=body.role,
    )
    return InvitationOut(**created.model_dump(), url=invitation_url(request, created.token))


@router.delete(
    "/workspaces/current/invitations/{invitation_id}", status_code=204, response_class=Response
)
def revoke_invitation(invitation_id: Id, principal: CurrentUser, ctx: CtxDep) -> Response:
    invitations.revoke(
        ctx,
        actor_id=principal.user_id,
        workspace_id=principal.workspace_id,
        invitation_id=invitation_id,
    )
    return Response(status_code=204)


@router.post("/invitations/accept", response_model=Accepted)
def accept_invitation(body: InvitationAccept, principal: CurrentUser, ctx: CtxDep) -> Accepted:
    """The caller accepts an invitation to their own email; the workspace is then theirs to
    pick with ``X-Workspace``. (Without an account, open the link to set a password.)"""
    return Accepted(
        workspace_id=invitations.accept(ctx, token=body.token, user_id=principal.user_id)
    )
