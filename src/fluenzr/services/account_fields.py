"""The account's fields, written down once: what each is, where it shows, how it is checked.

The web form (parsing, rendering, the errors next to each field), the service's limit ranges
and the REST API's body (``api.schemas.AccountFields``, checked against this list by
``tests/unit/test_account_fields.py``) all read :data:`FIELDS`. Adding a field here adds it to
the form; the API test then fails until the API takes it too.

``binds`` says which stored password a field is part of (``services.credential_binding``):
changing it means that password must be typed again, or nothing is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["email", "text", "number", "port", "password", "security", "preset", "pem", "flag"]
Group = Literal["identity", "smtp", "imap", "advanced", "limits"]
Binds = Literal["smtp", "imap", "both"]


@dataclass(frozen=True)
class AccountField:
    name: str  # the service's (AccountInput) and the API's name
    kind: Kind
    group: Group
    label_key: str
    hint_key: str | None = None
    max_length: int = 320  # text as the boundaries accept it (the API's max_length)
    minimum: int | None = None  # numbers: the range the service accepts
    maximum: int | None = None
    secret: bool = False  # never rendered back into a page, never in a response
    binds: Binds | None = None
    clearable: bool = False  # editing: a blank value removes it (else blank = unchanged)
    live: bool = False  # checked as the user leaves it (htmx), with the service's rule
    form_name: str | None = None  # the HTML input's name when it differs
    inverted: bool = False  # a flag whose checkbox means False (no_auth → smtp_auth=False)
    placeholder: str = ""

    @property
    def input_name(self) -> str:
        return self.form_name or self.name


_HOST = 255
_PEM = 70_000
_SECRET = 1024

FIELDS: tuple[AccountField, ...] = (
    # The seed page's order: Email, Nombre visible, (Proveedor), Servidor SMTP, Puerto, Nombre
    # de usuario, Contraseña, Encriptación; then the optional IMAP block.
    AccountField("email", "email", "identity", "web.form.email", placeholder="user@example.com"),
    AccountField(
        "display_name",
        "text",
        "identity",
        "web.form.display_name",
        "web.form.display_name_help",
        max_length=200,
        live=True,
    ),
    AccountField("preset", "preset", "smtp", "web.form.preset", max_length=40),
    AccountField(
        "smtp_host",
        "text",
        "smtp",
        "web.form.smtp_host",
        max_length=_HOST,
        binds="smtp",
        live=True,
        placeholder="smtp.example.com",
    ),
    AccountField(
        "smtp_port",
        "port",
        "smtp",
        "web.form.smtp_port",
        "web.form.smtp_port_help",
        minimum=1,
        maximum=65535,
        binds="smtp",
        live=True,
    ),
    AccountField(
        "username", "text", "smtp", "web.form.username", "web.form.username_help", binds="smtp"
    ),
    AccountField(
        "password",
        "password",
        "smtp",
        "web.form.password",
        "web.form.password_help",
        max_length=_SECRET,
        secret=True,
    ),
    AccountField(
        "smtp_security", "security", "smtp", "web.form.smtp_security", max_length=10, binds="smtp"
    ),
    AccountField(
        "imap_host",
        "text",
        "imap",
        "web.form.imap_host",
        max_length=_HOST,
        binds="imap",
        clearable=True,
        live=True,
        placeholder="imap.example.com",
    ),
    AccountField(
        "imap_port",
        "port",
        "imap",
        "web.form.imap_port",
        minimum=1,
        maximum=65535,
        binds="imap",
        clearable=True,
        live=True,
    ),
    AccountField(
        "imap_security",
        "security",
        "imap",
        "web.form.imap_security",
        max_length=10,
        binds="imap",
        clearable=True,
    ),
    AccountField(
        "imap_username",
        "text",
        "imap",
        "web.form.imap_username",
        "web.form.imap_username_help",
        binds="imap",
        clearable=True,
    ),
    AccountField(
        "imap_password",
        "password",
        "imap",
        "web.form.imap_password",
        "web.form.imap_password_help",
        max_length=_SECRET,
        secret=True,
    ),
    AccountField(
        "smtp_ca_pem",
        "pem",
        "advanced",
        "web.form.smtp_ca_pem",
        "web.form.ca_pem_help",
        max_length=_PEM,
        binds="smtp",
        clearable=True,
        live=True,
    ),
    AccountField(
        "imap_ca_pem",
        "pem",
        "advanced",
        "web.form.imap_ca_pem",
        "web.form.ca_pem_help",
        max_length=_PEM,
        binds="imap",
        clearable=True,
        live=True,
    ),
    AccountField(
        "pin_sha256",
        "text",
        "advanced",
        "web.form.pin_sha256",
        "web.form.pin_help",
        max_length=128,
        binds="both",
        clearable=True,
        live=True,
    ),
    AccountField(
        "smtp_auth",
        "flag",
        "advanced",
        "web.form.no_auth",
        "web.form.no_auth_help",
        form_name="no_auth",
        inverted=True,
    ),
    AccountField("force", "flag", "advanced", "web.form.force"),
    AccountField(
        "daily_limit", "number", "limits", "web.form.daily_limit", minimum=1, maximum=100_000
    ),
    AccountField(
        "hourly_limit", "number", "limits", "web.form.hourly_limit", minimum=1, maximum=100_000
    ),
    AccountField(
        "min_interval", "number", "limits", "web.form.min_interval", minimum=0, maximum=86_400
    ),
    AccountField(
        "max_interval", "number", "limits", "web.form.max_interval", minimum=0, maximum=86_400
    ),
    AccountField(
        "timezone", "text", "limits", "web.form.timezone", "web.form.timezone_help", max_length=64
    ),
)

BY_NAME: dict[str, AccountField] = {f.name: f for f in FIELDS}
BY_INPUT: dict[str, AccountField] = {f.input_name: f for f in FIELDS}


def in_group(*groups: Group) -> tuple[AccountField, ...]:
    return tuple(f for f in FIELDS if f.group in groups)


def field(name: str) -> AccountField:
    return BY_NAME[name]


# Limits whose range the service checks (daily_limit … max_interval), from the list above.
LIMIT_RANGES: dict[str, tuple[int, int]] = {
    f.name: (f.minimum, f.maximum)
    for f in FIELDS
    if f.kind == "number" and f.minimum is not None and f.maximum is not None
}
