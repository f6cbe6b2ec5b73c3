"""A standards-compliant OAuth 2.0 authorization server for the tests, built from Authlib.

Authlib's maintained server components (``AuthorizationServer``, the RFC 6749 authorization
code and refresh token grants, RFC 7636 PKCE, RFC 7009 revocation, RFC 7662 introspection)
over SQLAlchemy models from ``authlib.integrations.sqla_oauth2``; this file only wires them and
draws the login/consent page. It stands in for Google's and Microsoft's servers:

* ``/authorize`` — a login + consent page (any email; no password: like a provider's
  "development interactions"); scopes can be unticked (missing-scope tests); "Deny" answers
  ``access_denied``. PKCE S256 is required.
* ``/token`` — authorization_code and refresh_token grants; refresh tokens rotate (the old one is
  revoked when a new one is issued, and reusing it answers ``invalid_grant``).
* ``/introspect`` — for Dovecot's ``oauth2`` passdb (client ``dovecot``); the payload carries
  ``username`` (the account's email).
* ``/revoke`` — revoking a refresh token revokes the whole grant (its access tokens too).

Redirect URIs match exactly, except that a loopback IP literal's port is free (RFC 8252 §7.3).
"""

from __future__ import annotations

import html
import time
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.sqla_oauth2 import (
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    create_query_client_func,
    create_revocation_endpoint,
)
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, request
from sqlalchemy import Column, Integer, String, create_engine
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool
from werkzeug.datastructures import MultiDict

GOOGLE_SCOPE = "https://mail.google.com/"
MICROSOFT_SCOPES = (
    "https://outlook.office.com/SMTP.Send https://outlook.office.com/IMAP.AccessAsUser.All"
    " offline_access"
)
CLIENTS = {
    # client_id: (secret, scopes)
    "fluenzr-google": ("google-test-secret", GOOGLE_SCOPE),
    "fluenzr-microsoft": ("microsoft-test-secret", MICROSOFT_SCOPES),
}
INTROSPECTION_CLIENT = ("dovecot", "dovecot-test-secret")
ACCESS_TOKEN_SECONDS = 3600
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class Base(DeclarativeBase):
    pass


class Client(Base, OAuth2ClientMixin):
    __tablename__ = "clients"
    id = Column(Integer, primary_key=True)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if redirect_uri in self.redirect_uris:
            return True
        return any(_loopback_match(redirect_uri, known) for known in self.redirect_uris)


class AuthorizationCode(Base, OAuth2AuthorizationCodeMixin):
    __tablename__ = "codes"
    id = Column(Integer, primary_key=True)
    user_id = Column(String(320))


class Token(Base, OAuth2TokenMixin):
    __tablename__ = "tokens"
    id = Column(Integer, primary_key=True)
    user_id = Column(String(320))

    def is_refresh_token_valid(self) -> bool:
        return not self.refresh_token_revoked_at


class User:
    def __init__(self, email: str) -> None:
        self.email = email

    def get_user_id(self) -> str:
        return self.email


def _loopback_match(given: str, registered: str) -> bool:
    """RFC 8252 §7.3: for a loopback IP redirect the port may vary; all else is exact."""
    a, b = urlsplit(given), urlsplit(registered)
    if a.hostname not in ("127.0.0.1", "[::1]", "::1") or a.hostname != b.hostname:
        return False
    return (a.scheme, a.path, a.query, a.fragment) == (b.scheme, b.path, b.query, b.fragment)


def create_app(*, redirect_uris: list[str]) -> Flask:
    engine = create_engine(
        "sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool
    )
    Base.metadata.create_all(engine)
    db = scoped_session(sessionmaker(bind=engine))
    for client_id, (secret, scope) in CLIENTS.items():
        client = Client(client_id=client_id, client_secret=secret, client_id_issued_at=0)
        client.set_client_metadata(
            {
                "redirect_uris": redirect_uris,
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": scope,
                "token_endpoint_auth_method": "client_secret_post",
            }
        )
        db.add(client)
    dovecot = Client(client_id=INTROSPECTION_CLIENT[0], client_secret=INTROSPECTION_CLIENT[1])
    dovecot.set_client_metadata(
        {
            "grant_types": [],
            "response_types": [],
            "token_endpoint_auth_method": "client_secret_basic",
        }
    )
    db.add(dovecot)
    db.commit()

    app = Flask(__name__)
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": ACCESS_TOKEN_SECONDS,
        "refresh_token": ACCESS_TOKEN_SECONDS,
    }

    def save_token(token: dict[str, Any], req: Any) -> None:
        user_id = req.user.get_user_id() if req.user else None
        db.add(Token(client_id=req.client.client_id, user_id=user_id, **token))
        db.commit()

    server = AuthorizationServer(
        app, query_client=create_query_client_func(db, Client), save_token=save_token
    )

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

        def save_authorization_code(self, code: str, req: Any) -> None:
            db.add(
                AuthorizationCode(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope,
                    user_id=req.user.get_user_id(),
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                )
            )
            db.commit()

        def query_authorization_code(self, code: str, client: Client) -> Any:
            item = db.query(AuthorizationCode).filter_by(code=code, client_id=client.client_id)
            found = item.first()
            return found if found and not found.is_expired() else None

        def delete_authorization_code(self, authorization_code: Any) -> None:
            db.delete(authorization_code)
            db.commit()

        def authenticate_user(self, authorization_code: Any) -> User:
            return User(authorization_code.user_id)

    class RefreshGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
        INCLUDE_NEW_REFRESH_TOKEN = True  # rotation

        def authenticate_refresh_token(self, refresh_token: str) -> Any:
            item = db.query(Token).filter_by(refresh_token=refresh_token).first()
            return item if item and item.is_refresh_token_valid() else None

        def authenticate_user(self, refresh_token: Any) -> User:
            return User(refresh_token.user_id)

        def revoke_old_credential(self, refresh_token: Any) -> None:
            now = int(time.time())
            refresh_token.refresh_token_revoked_at = now
            db.commit()  # the old access token stays valid until it expires (as at Google)

    class Revocation(create_revocation_endpoint(db, Token)):  # type: ignore[misc]
        CLIENT_AUTH_METHODS = AUTH_METHODS

        def revoke_token(self, token: Any, req: Any) -> None:
            # Revoking a grant revokes every token of that user and client (consent withdrawn).
            now = int(time.time())
            for item in db.query(Token).filter_by(client_id=token.client_id, user_id=token.user_id):
                item.access_token_revoked_at = now
                item.refresh_token_revoked_at = now
            db.commit()

    class Introspection(IntrospectionEndpoint):
        CLIENT_AUTH_METHODS = AUTH_METHODS

        def query_token(self, token: str, token_type_hint: str | None) -> Any:
            q = db.query(Token)
            if token_type_hint != "refresh_token":
                found = q.filter_by(access_token=token).first()
                if found or token_type_hint == "access_token":
                    return found
            return q.filter_by(refresh_token=token).first()

        def check_permission(self, token: Any, client: Any, req: Any) -> bool:
            return bool(client.client_id == INTROSPECTION_CLIENT[0])

        def introspect_token(self, token: Any) -> dict[str, Any]:
            return {
                "active": True,
                "client_id": token.client_id,
                "token_type": token.token_type,
                "username": token.user_id,
                "sub": token.user_id,
                "scope": token.get_scope(),
                "iat": token.issued_at,
                "exp": token.issued_at + token.expires_in,
            }

    server.register_grant(CodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        if request.method == "GET":
            try:
                grant = server.get_consent_grant(end_user=None)
            except Exception as exc:
                return f"<h1>Error</h1><p>{html.escape(str(exc))}</p>", 400
            return _consent_page(grant.client.client_id, grant.request.payload)
        fields = MultiDict([(k, v) for k, v in request.form.items(multi=True) if k != "grant"])
        if request.form.get("decision") != "allow":
            request.values = fields  # type: ignore[misc]
            return server.create_authorization_response(grant_user=None)
        email = request.form.get("email", "").strip().lower()
        if "@" not in email:
            return "<h1>Error</h1><p>email required</p>", 400
        fields.setlist("scope", [" ".join(request.form.getlist("grant"))])
        request.values = fields  # type: ignore[misc]  # the ticked scopes are those granted
        user = User(email)
        grant = server.get_consent_grant(end_user=user)
        return server.create_authorization_response(grant_user=user, grant=grant)

    @app.route("/token", methods=["POST"])
    def issue_token() -> Any:
        return server.create_token_response()

    @app.route("/revoke", methods=["POST"])
    def revoke() -> Any:
        return server.create_endpoint_response("revocation")

    @app.route("/introspect", methods=["POST"])
    def introspect() -> Any:
        return server.create_endpoint_response("introspection")

    @app.route("/health")
    def health() -> Any:
        return {"ok": True, "server": "fluenzr-test-oauth"}

    return app


def _consent_page(client_id: str, payload: Any) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in request.args.items()
    )
    scopes = "".join(
        f'<label><input type="checkbox" name="grant" value="{html.escape(s)}" checked> '
        f"{html.escape(s)}</label><br>"
        for s in (payload.scope or "").split()
    )
    hint = html.escape(request.args.get("login_hint", ""))
    return (
        "<!doctype html><title>Test authorization server</title>"
        f"<h1>Sign in to continue to {html.escape(client_id)}</h1>"
        '<form method="post" action="/authorize">'
        f'{hidden}<label>Email <input name="email" value="{hint}"></label><br>{scopes}'
        '<button name="decision" value="allow">Allow</button> '
        '<button name="decision" value="deny">Deny</button></form>'
    )
