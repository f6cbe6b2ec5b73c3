"""The test authorization server (Authlib, ``app.py``) on 127.0.0.1:10980, and helpers.

Dovecot's ``oauth2`` passdb introspects tokens at this fixed address (scripts/mailservers), so
the server runs as one long-lived process shared by every test run, started on first use by
:func:`ensure_running` (or ``scripts/services.sh up``). Its state is in memory: every test makes
its own users (emails) and grants, never relies on a restart.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.oauth_server.app import (
    CLIENTS,
    GOOGLE_SCOPE,
    INTROSPECTION_CLIENT,
    MICROSOFT_SCOPES,
)
from tests.support.services import port_open, unavailable

HOST = "127.0.0.1"
PORT = 10980
BASE_URL = f"http://{HOST}:{PORT}"
AUTHORIZE_URL = f"{BASE_URL}/authorize"
TOKEN_URL = f"{BASE_URL}/token"
REVOKE_URL = f"{BASE_URL}/revoke"
INTROSPECT_URL = f"{BASE_URL}/introspect"
# Loopback redirect URIs: the port is free (RFC 8252 §7.3), the path exact.
REDIRECT_URIS = ("http://127.0.0.1:8000/accounts/oauth/callback", "http://127.0.0.1:8000/")
ROOT = Path(__file__).resolve().parents[3]
LOCK_FILE = Path(os.environ.get("FLUENZR_OAUTH_LOCK", "/tmp/fluenzr-test-oauth.lock"))

__all__ = [
    "AUTHORIZE_URL",
    "BASE_URL",
    "CLIENTS",
    "GOOGLE_SCOPE",
    "INTROSPECTION_CLIENT",
    "MICROSOFT_SCOPES",
    "REVOKE_URL",
    "TOKEN_URL",
    "consent",
    "ensure_running",
    "grant_tokens",
    "is_running",
    "revoke",
]


def is_running() -> bool:
    if not port_open(HOST, PORT):
        return False
    try:
        return httpx.get(f"{BASE_URL}/health", timeout=2).json().get("ok") is True
    except (httpx.HTTPError, ValueError):
        return False


_STARTED: list[subprocess.Popen[bytes]] = []


@contextmanager
def _machine_lock() -> Iterator[None]:
    """One starter at a time on this machine (pytest-xdist workers, other checkouts): the port
    and the shared mail-server configuration are machine-wide, so the lock is too."""
    with open(LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_running() -> None:
    """Start the server (detached, outliving this process) unless it already answers."""
    if is_running():
        return
    # Two workers seeing it down at once must not both start it (the loser's bind fails).
    with _machine_lock():
        if not is_running():
            _start()


def _start() -> None:
    log_dir = Path(os.environ.get("FLUENZR_OAUTH_LOG_DIR", "/tmp"))
    args = [sys.executable, "-m", "tests.support.oauth_server", "--port", str(PORT)]
    for uri in REDIRECT_URIS:
        args += ["--redirect-uri", uri]
    with open(log_dir / "fluenzr-test-oauth.log", "ab") as log:
        # Kept referenced: a dropped Popen of a live child warns (ResourceWarning) when it is
        # collected, and pytest turns that into an error in whichever test runs then.
        _STARTED.append(
            subprocess.Popen(
                args,
                cwd=ROOT,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if is_running():
            return
        time.sleep(0.05)
    unavailable("OAuth test server", f"nothing answers on {BASE_URL}")


def revoke(refresh_token: str, *, client_id: str = "fluenzr-google") -> None:
    """Withdraw a grant at the AS (RFC 7009), as a user removing the app's access would."""
    secret = CLIENTS[client_id][0]
    response = httpx.post(
        REVOKE_URL,
        data={"token": refresh_token, "token_type_hint": "refresh_token"},
        auth=(client_id, secret),
        timeout=5,
    )
    response.raise_for_status()


def consent(
    authorize_url: str, *, email: str, grant: list[str] | None = None, allow: bool = True
) -> str:
    """Answer the AS's consent page for ``authorize_url`` as a user would; the redirect back."""
    with httpx.Client(timeout=5) as client:
        page = client.get(authorize_url)
        page.raise_for_status()
        params = dict(httpx.URL(authorize_url).params)
        scopes = grant if grant is not None else params.get("scope", "").split()
        form: dict[str, str | list[str]] = {**params, "email": email, "grant": scopes}
        form["decision"] = "allow" if allow else "deny"
        answer = client.post(AUTHORIZE_URL, data=form)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def grant_tokens(
    email: str, *, client_id: str = "fluenzr-google", grant: list[str] | None = None
) -> dict[str, object]:
    """Authorization code + PKCE straight at the AS (no FluenzR): a token response."""
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect = "http://127.0.0.1:8000/accounts/oauth/callback"
    scope = GOOGLE_SCOPE if client_id == "fluenzr-google" else MICROSOFT_SCOPES
    url = httpx.URL(
        AUTHORIZE_URL,
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "scope": scope,
            "state": secrets.token_urlsafe(8),
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        },
    )
    location = consent(str(url), email=email, grant=grant)
    code = httpx.URL(location).params["code"]
    response = httpx.post(
        TOKEN_URL,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect,
            "client_id": client_id,
            "client_secret": CLIENTS[client_id][0],
            "code_verifier": verifier,
        },
        timeout=5,
    )
    response.raise_for_status()
    tokens: dict[str, object] = response.json()
    return tokens


def oauth_endpoint(endpoint: object, *, token: str, mechanism: str = "XOAUTH2") -> object:
    """``endpoint`` (a mail Endpoint) logging in with ``token`` over ``mechanism``."""
    import dataclasses

    from fluenzr.core.secret import Secret

    return dataclasses.replace(endpoint, password=Secret(token), oauth=mechanism)  # type: ignore[type-var]


def ensure_oauth_mailservers() -> None:
    """The AS up, and the shared Postfix/Dovecot on this checkout's configuration (which adds
    the oauth2 passdb): ``scripts/mailservers.sh up`` re-renders and reloads it when an older
    configuration is running (idempotent, about a second)."""
    import imaplib

    ensure_running()
    try:
        with imaplib.IMAP4(HOST, 10143, timeout=5) as imap:
            offered = "AUTH=XOAUTH2" in imap.capabilities
    except OSError:
        offered = False
    if not offered:
        script = ROOT / "scripts" / "mailservers.sh"
        # Never two re-renders at once (pytest-xdist workers): the script rewrites shared files.
        with _machine_lock():
            subprocess.run([str(script), "up"], check=False, capture_output=True, timeout=60)


def fluenzr_settings(**extra: object) -> dict[str, object]:
    """FluenzR settings pointing both providers at this AS and at the test Postfix/Dovecot."""
    from tests.support.mailservers import CA_FILE, IMAPS_PORT, SUBMISSION_PORT

    values: dict[str, object] = {}
    for key, client in (("google", "fluenzr-google"), ("microsoft", "fluenzr-microsoft")):
        values.update(
            {
                f"oauth_{key}_client_id": client,
                f"oauth_{key}_client_secret": CLIENTS[client][0],
                f"oauth_{key}_authorization_endpoint": AUTHORIZE_URL,
                f"oauth_{key}_token_endpoint": TOKEN_URL,
                f"oauth_{key}_smtp": f"{HOST}:{SUBMISSION_PORT}:starttls",
                f"oauth_{key}_imap": f"{HOST}:{IMAPS_PORT}:ssl",
            }
        )
    values["oauth_ca_pem_file"] = CA_FILE
    values.update(extra)
    return values


def introspect(token: str) -> dict[str, object]:
    response = httpx.post(
        INTROSPECT_URL, data={"token": token}, auth=INTROSPECTION_CLIENT, timeout=5
    )
    response.raise_for_status()
    result: dict[str, object] = response.json()
    return result
