"""Every stable error code the project reports: one enum, each member with its data.

:class:`ErrorCode` is a :class:`~enum.StrEnum`: a member *is* its snake_case wire string (what the
CLI's ``--json`` and the API return, what rows store), so ``FluenzrError`` subclasses take members
and mypy rejects a code that does not exist. Each member carries, through its :class:`ErrorKind`
row in :data:`ROWS`:

- ``category``: the heading a user sees, i18n key ``category.<category>`` (the seed page's
  "Conexión rechazada", "Autenticación fallida", "Certificado inválido", "Límite de envío
  alcanzado", plus the others real servers and the application need);
- ``scope``: who reports it: ``smtp``, ``imap``, ``mail`` (either transport, Probar, the sending
  system), ``http`` (the HTTP boundary), ``app`` (input, state, vault, users). A ``mail`` code
  is one code for both transports: the raised :class:`~fluenzr.errors.MailError` says which in
  its own ``scope`` (``auth_failed`` from the IMAP transport has scope ``imap``), and may pick
  a protocol's wording, ``error.<code>.<scope>.message``/``.hint``, where the catalogue has one;
- ``impact``: what a mail failure is about: ``account`` (settings or credentials: pause, ask the
  user), ``recipient`` (this recipient only), ``message`` (this message only), ``server`` (right
  now: retry with backoff); ``none`` for the application's errors;
- ``permanent``: the answer is final for this message; ``retryable``: trying again later without
  changing anything may succeed.

Messages and hints live in ``i18n/locales/<lang>/<domain>.po`` as ``error.<code>.message`` and
``error.<code>.hint`` (:attr:`ErrorCode.message_key`, :attr:`ErrorCode.hint_key`); tests check
every member has a row, both keys in es, en and fr, and a line in docs/errors.md. To add a code,
add a member, its row and its catalogue entries.

A code read back from storage is a plain string some version of FluenzR wrote: parse it with
:func:`parse_code`, which maps a string this version does not know to :attr:`ErrorCode.UNKNOWN`
explicitly (never a silent guess at a category).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    CONNECTION = "connection"  # "Conexión rechazada"
    AUTH = "auth"  # "Autenticación fallida"
    CERTIFICATE = "certificate"  # "Certificado inválido"
    SENDING_LIMIT = "sending_limit"  # "Límite de envío alcanzado"
    DNS = "dns"
    TIMEOUT = "timeout"
    TLS = "tls"
    SENDER = "sender"
    RECIPIENT = "recipient"
    MESSAGE = "message"
    SERVER = "server"
    IMAP = "imap"
    TEST_MAIL = "test_mail"
    MAIL = "mail"  # a mail failure with no more precise heading; unknown stored codes
    SENDING = "sending"  # the sending system's own outcomes (cancelled, recovered, paused by hand)
    # The application's errors: the category their FluenzrError class reports.
    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    CONFIG = "config"
    VAULT = "vault"
    HTTP = "http"
    INTERNAL = "internal"

    @property
    def key(self) -> str:
        return f"category.{self.value}"


class Scope(StrEnum):
    SMTP = "smtp"
    IMAP = "imap"
    MAIL = "mail"  # either transport, Probar, or the sending system
    HTTP = "http"
    APP = "app"


class Impact(StrEnum):
    ACCOUNT = "account"
    RECIPIENT = "recipient"
    MESSAGE = "message"
    SERVER = "server"
    NONE = "none"


class ErrorCode(StrEnum):
    """Every stable error code. The value is the wire string (CLI ``--json``, API, stored rows)."""

    # -- mail transports and Probar (rows with protocol data below) ----------------------
    DNS_NOT_FOUND = "dns_not_found"
    CONNECTION_REFUSED = "connection_refused"
    HOST_UNREACHABLE = "host_unreachable"
    TIMEOUT = "timeout"
    SERVER_DISCONNECTED = "server_disconnected"
    CLEARTEXT_NOT_ALLOWED = "cleartext_not_allowed"
    TLS_MODE_MISMATCH = "tls_mode_mismatch"
    TLS_FAILED = "tls_failed"
    STARTTLS_UNAVAILABLE = "starttls_unavailable"
    CERTIFICATE_INVALID = "certificate_invalid"
    AUTH_FAILED = "auth_failed"
    AUTH_MECHANISM_UNSUPPORTED = "auth_mechanism_unsupported"
    SMTP_AUTH_DISABLED = "smtp_auth_disabled"
    OAUTH_REQUIRED = "oauth_required"
    APP_PASSWORD_REQUIRED = "app_password_required"  # noqa: S105 (an error code)
    OAUTH_TOKEN_REJECTED = "oauth_token_rejected"  # noqa: S105 (an error code)
    OAUTH_SCOPE_MISSING = "oauth_scope_missing"
    RECONNECT_REQUIRED = "reconnect_required"
    OAUTH_TOKEN_ENDPOINT_FAILED = "oauth_token_endpoint_failed"  # noqa: S105 (an error code)
    OAUTH_CLOCK_SKEW = "oauth_clock_skew"
    AUTH_REQUIRED = "auth_required"
    AUTH_THROTTLED = "auth_throttled"
    RELAY_DENIED = "relay_denied"
    SENDER_REJECTED = "sender_rejected"
    RECIPIENT_REJECTED = "recipient_rejected"
    MAILBOX_FULL = "mailbox_full"
    SENDING_LIMIT = "sending_limit"
    MESSAGE_TOO_LARGE = "message_too_large"
    MESSAGE_REJECTED = "message_rejected"
    TEMPORARY_FAILURE = "temporary_failure"
    SERVER_UNAVAILABLE = "server_unavailable"
    UNEXPECTED_REPLY = "unexpected_reply"
    IMAP_FOLDER_NOT_FOUND = "imap_folder_not_found"
    IMAP_COMMAND_FAILED = "imap_command_failed"
    IMAP_UNEXPECTED_RESPONSE = "imap_unexpected_response"
    TEST_MAIL_NOT_RECEIVED = "test_mail_not_received"
    SENT_FOLDER_NOT_FOUND = "sent_folder_not_found"
    # -- sending outcomes (message and account reasons that are not a server reply) ------
    CONNECTION_LOST = "connection_lost"
    CONNECTION_FAILED = "connection_failed"
    INTERRUPTED_DURING_SEND = "interrupted_during_send"
    RECOVERED_FROM_SENT = "recovered_from_sent"
    PARTIALLY_SENT = "partially_sent"
    CANCELLED = "cancelled"
    MANUAL = "manual"
    BOUNCE_RATE = "bounce_rate"
    MAIL_ERROR = "mail_error"
    REPLIED = "replied"  # a stop-on-reply message cancelled: the recipient replied
    COMPLAINED = "complained"  # a stop-on-reply message cancelled: the recipient complained
    COMPLAINT_RATE = "complaint_rate"  # account paused: too many spam complaints (ARF)
    # -- the application: input, state, vault, users, HTTP -------------------------------
    ERROR = "error"
    CONFIG_INVALID = "config_invalid"
    INVALID_INPUT = "invalid_input"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    VAULT_ERROR = "vault_error"
    VAULT_KEY_MISSING = "vault_key_missing"
    VAULT_NO_PRIVATE_KEY = "vault_no_private_key"
    VAULT_OPEN_FAILED = "vault_open_failed"
    VAULT_CORRUPT = "vault_corrupt"
    VAULT_NOT_INITIALISED = "vault_not_initialised"
    EMAIL_MISSING = "email_missing"
    EMAIL_INVALID = "email_invalid"
    DISPLAY_NAME_INVALID = "display_name_invalid"
    HOST_MISSING = "host_missing"
    HOST_INVALID = "host_invalid"
    PORT_INVALID = "port_invalid"
    SECURITY_INVALID = "security_invalid"
    CLEARTEXT_NOT_LOOPBACK = "cleartext_not_loopback"
    SECURITY_PORT_MISMATCH = "security_port_mismatch"
    PASSWORD_EMPTY = "password_empty"  # noqa: S105 (an error code)
    CA_FILE_INVALID = "ca_file_invalid"
    PIN_INVALID = "pin_invalid"
    LIMIT_INVALID = "limit_invalid"
    INTERVAL_ORDER = "interval_order"
    TIMEZONE_INVALID = "timezone_invalid"
    PRESET_UNKNOWN = "preset_unknown"
    FIELD_UNKNOWN = "field_unknown"
    ACCOUNT_DUPLICATE = "account_duplicate"
    ACCOUNT_NOT_FOUND = "account_not_found"
    PASSWORD_SOURCE_MISSING = "password_source_missing"  # noqa: S105 (an error code)
    VAULT_ROTATE_NEEDS_FILES = "vault_rotate_needs_files"
    CLASSIFY_FILE_UNREADABLE = "classify_file_unreadable"
    CLASSIFY_FILE_TOO_LARGE = "classify_file_too_large"
    SINCE_INVALID = "since_invalid"
    EVENT_TYPE_INVALID = "event_type_invalid"
    WEBHOOK_URL_INVALID = "webhook_url_invalid"
    WEBHOOK_EVENTS_INVALID = "webhook_events_invalid"
    WEBHOOK_LIMIT = "webhook_limit"
    WEBHOOK_NOT_FOUND = "webhook_not_found"
    SUPPRESSION_EMAIL_INVALID = "suppression_email_invalid"
    SUPPRESSION_REASON_INVALID = "suppression_reason_invalid"
    SUPPRESSION_EXISTS = "suppression_exists"
    SUPPRESSION_NOT_FOUND = "suppression_not_found"
    IMAP_NOT_CONFIGURED = "imap_not_configured"
    HEADER_INJECTION = "header_injection"
    MESSAGE_ID_INVALID = "message_id_invalid"
    UNSUBSCRIBE_INVALID = "unsubscribe_invalid"
    ONE_CLICK_NEEDS_HTTPS = "one_click_needs_https"
    HEADER_NAME_INVALID = "header_name_invalid"
    HEADER_RESERVED = "header_reserved"
    HEADER_FORMAT = "header_format"
    TOO_MANY_RECIPIENTS = "too_many_recipients"
    SUBJECT_TOO_LONG = "subject_too_long"
    TEXT_CHOICE = "text_choice"
    FILE_UNREADABLE = "file_unreadable"
    DATETIME_INVALID = "datetime_invalid"
    DATETIME_NEEDS_OFFSET = "datetime_needs_offset"
    PAUSE_UNTIL_PAST = "pause_until_past"
    ACCOUNT_NOT_PAUSED = "account_not_paused"
    OUTBOX_STATUS_INVALID = "outbox_status_invalid"
    OUTBOX_NOT_FOUND = "outbox_not_found"
    OUTBOX_NOT_CANCELLABLE = "outbox_not_cancellable"
    RECIPIENT_SUPPRESSED = "recipient_suppressed"
    WINDOW_INVALID = "window_invalid"
    WARMUP_INVALID = "warmup_invalid"
    ONLY_INVALID = "only_invalid"
    WINDOW_DAYS_INVALID = "window_days_invalid"
    WINDOW_HOURS_INVALID = "window_hours_invalid"
    LOGIN_FAILED = "login_failed"
    NOT_AUTHENTICATED = "not_authenticated"
    LOGIN_RATE_LIMITED = "login_rate_limited"
    CSRF_INVALID = "csrf_invalid"
    USER_EMAIL_INVALID = "user_email_invalid"
    USER_PASSWORD_LENGTH = "user_password_length"  # noqa: S105 (an error code)
    USER_EXISTS = "user_exists"
    WORKSPACE_NAME_INVALID = "workspace_name_invalid"
    NOT_ALLOWED = "not_allowed"
    MEMBER_EXISTS = "member_exists"
    MEMBER_ROLE_INVALID = "member_role_invalid"
    LAST_OWNER = "last_owner"
    SETUP_DONE = "setup_done"
    TOKEN_NAME_INVALID = "token_name_invalid"  # noqa: S105 (an error code)
    INVALID_TEXT = "invalid_text"
    JOB_NOT_FOUND = "job_not_found"
    PROBAR_UNAVAILABLE = "probar_unavailable"
    JOB_ABANDONED = "job_abandoned"
    INTERNAL_ERROR = "internal_error"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    HTTP_ERROR = "http_error"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # -- added by the security hardening -----------------------------------------------
    EGRESS_REFUSED = "egress_refused"
    NO_AUTH_NOT_ALLOWED = "no_auth_not_allowed"
    CA_PEM_INVALID = "ca_pem_invalid"
    CA_PEM_TOO_LARGE = "ca_pem_too_large"
    CA_PEM_PRIVATE_KEY = "ca_pem_private_key"
    PROBAR_RATE_LIMITED = "probar_rate_limited"
    RATE_LIMITED = "rate_limited"
    WEBHOOK_HTTPS_REQUIRED = "webhook_https_required"
    WEBHOOK_URL_REFUSED = "webhook_url_refused"
    CREDENTIALS_ENDPOINT_CHANGED = "credentials_endpoint_changed"
    CREDENTIALS_NEED_REBIND = "credentials_need_rebind"
    ENDPOINT_CHANGED_PASSWORD_REQUIRED = "endpoint_changed_password_required"  # noqa: S105 (an error code)
    IMAP_PASSWORD_REQUIRED = "imap_password_required"  # noqa: S105 (an error code)
    VAULT_PUBLIC_KEY_STALE = "vault_public_key_stale"
    IDEMPOTENCY_KEY_INVALID = "idempotency_key_invalid"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_KEY_IN_FLIGHT = "idempotency_key_in_flight"
    JSONL_INVALID = "jsonl_invalid"
    JSONL_NOT_OBJECT = "jsonl_not_object"
    JSONL_UNKNOWN_FIELD = "jsonl_unknown_field"
    JSONL_WRONG_TYPE = "jsonl_wrong_type"
    JSONL_MISSING_FIELD = "jsonl_missing_field"
    JSONL_TOO_LARGE = "jsonl_too_large"
    INVITATION_INVALID = "invitation_invalid"
    INVITATION_OTHER_USER = "invitation_other_user"
    INVITATION_LOGIN_REQUIRED = "invitation_login_required"
    REQUEST_BODY_TOO_LARGE = "request_body_too_large"
    TOKEN_WORKSPACE_REQUIRED = "token_workspace_required"  # noqa: S105 (an error code)
    HOURLY_OVER_DAILY = "hourly_over_daily"
    # -- added by the deliverability checks -----------------------------------------------
    DOMAIN_INVALID = "domain_invalid"
    # -- OAuth 2.0 connect flow ----------------------------------------------------------
    OAUTH_PROVIDER_UNKNOWN = "oauth_provider_unknown"
    OAUTH_NOT_CONFIGURED = "oauth_not_configured"
    OAUTH_STATE_INVALID = "oauth_state_invalid"
    OAUTH_DENIED = "oauth_denied"
    OAUTH_AUTHORIZATION_FAILED = "oauth_authorization_failed"
    OAUTH_SCOPE_NOT_GRANTED = "oauth_scope_not_granted"
    OAUTH_ACCOUNT_NOT_OAUTH = "oauth_account_not_oauth"
    DELETE_CONFIRMATION_MISMATCH = "delete_confirmation_mismatch"
    OUTBOX_NOT_RETRYABLE = "outbox_not_retryable"
    REPLY_NOT_FOUND = "reply_not_found"
    REPLY_CLASS_INVALID = "reply_class_invalid"
    NOTIFY_ACCOUNT_INVALID = "notify_account_invalid"
    BULK_PROBAR_EMPTY = "bulk_probar_empty"
    BULK_PROBAR_TOO_MANY = "bulk_probar_too_many"
    BULK_PROBAR_RUNNING = "bulk_probar_running"
    # -- bulk import of accounts (services.account_csv, services.account_import) --------
    IMPORT_FILE_TOO_LARGE = "import_file_too_large"
    IMPORT_TOO_MANY_ROWS = "import_too_many_rows"
    IMPORT_FILE_BINARY = "import_file_binary"
    IMPORT_ENCODING_INVALID = "import_encoding_invalid"
    IMPORT_EMAIL_COLUMN_MISSING = "import_email_column_missing"
    IMPORT_MAPPING_INVALID = "import_mapping_invalid"
    IMPORT_CELL_TOO_LONG = "import_cell_too_long"
    IMPORT_DUPLICATE_IN_FILE = "import_duplicate_in_file"
    IMPORT_ACCOUNT_EXISTS = "import_account_exists"
    IMPORT_PASTE_LINE_INVALID = "import_paste_line_invalid"
    IMPORT_EMPTY = "import_empty"
    TAG_INVALID = "tag_invalid"
    BULK_CONFIRMATION_MISMATCH = "bulk_confirmation_mismatch"
    # -- a stored code this version does not know (read back by parse_code) --------------
    UNKNOWN = "unknown"

    @property
    def kind(self) -> ErrorKind:
        return KINDS[self]

    @property
    def category(self) -> Category:
        return KINDS[self].category

    @property
    def scope(self) -> Scope:
        return KINDS[self].scope

    @property
    def impact(self) -> Impact:
        return KINDS[self].impact

    @property
    def permanent(self) -> bool:
        return KINDS[self].permanent

    @property
    def retryable(self) -> bool:
        return KINDS[self].retryable

    @property
    def message_key(self) -> str:
        return f"error.{self.value}.message"

    @property
    def hint_key(self) -> str:
        return f"error.{self.value}.hint"

    @property
    def label_key(self) -> str:
        """An optional short label (an account's status reason) when the message needs params."""
        return f"error.{self.value}.label"


@dataclass(frozen=True)
class ErrorKind:
    code: ErrorCode
    category: Category
    scope: Scope
    impact: Impact
    permanent: bool
    retryable: bool


def _mail(
    code: ErrorCode,
    category: Category,
    *,
    permanent: bool,
    retryable: bool,
    impact: Impact,
    scope: Scope = Scope.MAIL,
) -> ErrorKind:
    return ErrorKind(code, category, scope, impact, permanent, retryable)


def _app(code: ErrorCode, category: Category, *, scope: Scope = Scope.APP) -> ErrorKind:
    # A mistake or a state the user must change: final, and trying again unchanged won't help.
    return ErrorKind(code, category, scope, Impact.NONE, True, False)


E, C, S = ErrorCode, Category, Scope
A, R, M, V = Impact.ACCOUNT, Impact.RECIPIENT, Impact.MESSAGE, Impact.SERVER
SMTP, IMAP = S.SMTP, S.IMAP
ROWS: tuple[ErrorKind, ...] = (
    # -- reaching the server (either transport: the error says which, ``MailError.scope``) --
    _mail(E.DNS_NOT_FOUND, C.DNS, permanent=False, retryable=False, impact=A),
    _mail(E.CONNECTION_REFUSED, C.CONNECTION, permanent=False, retryable=True, impact=A),
    _mail(E.HOST_UNREACHABLE, C.CONNECTION, permanent=False, retryable=True, impact=V),
    _mail(E.TIMEOUT, C.TIMEOUT, permanent=False, retryable=True, impact=V),
    _mail(E.SERVER_DISCONNECTED, C.CONNECTION, permanent=False, retryable=True, impact=V),
    _mail(E.SERVER_UNAVAILABLE, C.CONNECTION, permanent=False, retryable=True, impact=V),
    _mail(E.CLEARTEXT_NOT_ALLOWED, C.TLS, permanent=True, retryable=False, impact=A),
    # -- TLS -------------------------------------------------------------------------------
    _mail(E.TLS_MODE_MISMATCH, C.TLS, permanent=True, retryable=False, impact=A),
    _mail(E.TLS_FAILED, C.TLS, permanent=False, retryable=True, impact=A),
    _mail(E.STARTTLS_UNAVAILABLE, C.TLS, permanent=True, retryable=False, impact=A),
    _mail(E.CERTIFICATE_INVALID, C.CERTIFICATE, permanent=True, retryable=False, impact=A),
    # -- authentication --------------------------------------------------------------------
    _mail(E.AUTH_FAILED, C.AUTH, permanent=True, retryable=False, impact=A),
    _mail(E.AUTH_MECHANISM_UNSUPPORTED, C.AUTH, permanent=True, retryable=False, impact=A),
    _mail(E.SMTP_AUTH_DISABLED, C.AUTH, permanent=True, retryable=False, impact=A, scope=SMTP),
    _mail(E.OAUTH_REQUIRED, C.AUTH, permanent=True, retryable=False, impact=A, scope=SMTP),
    _mail(E.APP_PASSWORD_REQUIRED, C.AUTH, permanent=True, retryable=False, impact=A),
    _mail(E.OAUTH_TOKEN_REJECTED, C.AUTH, permanent=True, retryable=False, impact=A),
    _mail(E.OAUTH_SCOPE_MISSING, C.AUTH, permanent=True, retryable=False, impact=A),
    _mail(E.RECONNECT_REQUIRED, C.AUTH, permanent=True, retryable=False, impact=A),
    _mail(E.OAUTH_TOKEN_ENDPOINT_FAILED, C.AUTH, permanent=False, retryable=True, impact=V),
    _mail(E.OAUTH_CLOCK_SKEW, C.AUTH, permanent=False, retryable=False, impact=A),
    _mail(E.AUTH_REQUIRED, C.AUTH, permanent=True, retryable=False, impact=A, scope=SMTP),
    _mail(E.AUTH_THROTTLED, C.AUTH, permanent=False, retryable=True, impact=A, scope=SMTP),
    _mail(E.RELAY_DENIED, C.AUTH, permanent=True, retryable=False, impact=A, scope=SMTP),
    # -- the envelope and the message (SMTP replies) ---------------------------------------
    _mail(E.SENDER_REJECTED, C.SENDER, permanent=True, retryable=False, impact=A, scope=SMTP),
    _mail(E.RECIPIENT_REJECTED, C.RECIPIENT, permanent=True, retryable=False, impact=R, scope=SMTP),
    _mail(E.MAILBOX_FULL, C.RECIPIENT, permanent=False, retryable=True, impact=R, scope=SMTP),
    _mail(E.SENDING_LIMIT, C.SENDING_LIMIT, permanent=False, retryable=True, impact=A, scope=SMTP),
    _mail(E.MESSAGE_TOO_LARGE, C.MESSAGE, permanent=True, retryable=False, impact=M, scope=SMTP),
    _mail(E.MESSAGE_REJECTED, C.MESSAGE, permanent=True, retryable=False, impact=M, scope=SMTP),
    _mail(E.TEMPORARY_FAILURE, C.SERVER, permanent=False, retryable=True, impact=V, scope=SMTP),
    _mail(E.UNEXPECTED_REPLY, C.SERVER, permanent=True, retryable=False, impact=V, scope=SMTP),
    # -- IMAP --------------------------------------------------------------------------------
    _mail(E.IMAP_FOLDER_NOT_FOUND, C.IMAP, permanent=True, retryable=False, impact=A, scope=IMAP),
    _mail(E.IMAP_COMMAND_FAILED, C.IMAP, permanent=False, retryable=True, impact=V, scope=IMAP),
    _mail(
        E.IMAP_UNEXPECTED_RESPONSE, C.IMAP, permanent=False, retryable=True, impact=V, scope=IMAP
    ),
    # -- Probar ------------------------------------------------------------------------------
    _mail(E.TEST_MAIL_NOT_RECEIVED, C.TEST_MAIL, permanent=False, retryable=True, impact=A),
    # A warning: sending works, but copies to Sent cannot be made.
    _mail(E.SENT_FOLDER_NOT_FOUND, C.IMAP, permanent=False, retryable=False, impact=A, scope=IMAP),
    # -- the sending system's own reasons (message and account states) -----------------------
    _mail(E.CONNECTION_LOST, C.CONNECTION, permanent=False, retryable=True, impact=V, scope=SMTP),
    _mail(E.CONNECTION_FAILED, C.CONNECTION, permanent=False, retryable=True, impact=V, scope=SMTP),
    _mail(E.INTERRUPTED_DURING_SEND, C.SENDING, permanent=False, retryable=False, impact=M),
    _mail(E.RECOVERED_FROM_SENT, C.SENDING, permanent=True, retryable=False, impact=M),
    _mail(E.PARTIALLY_SENT, C.SENDING, permanent=True, retryable=False, impact=M),
    _mail(E.CANCELLED, C.SENDING, permanent=True, retryable=False, impact=M),
    _mail(E.MANUAL, C.SENDING, permanent=False, retryable=False, impact=A),
    _mail(E.BOUNCE_RATE, C.SENDING, permanent=False, retryable=False, impact=A),
    _mail(E.MAIL_ERROR, C.MAIL, permanent=False, retryable=False, impact=V),
    _mail(E.REPLIED, C.SENDING, permanent=True, retryable=False, impact=M),
    _mail(E.COMPLAINED, C.SENDING, permanent=True, retryable=False, impact=M),
    _mail(E.COMPLAINT_RATE, C.SENDING, permanent=False, retryable=False, impact=A),
    # -- the application ---------------------------------------------------------------------
    _app(E.ERROR, C.INTERNAL),
    _app(E.CONFIG_INVALID, C.CONFIG),
    _app(E.INVALID_INPUT, C.VALIDATION),
    _app(E.DUPLICATE, C.VALIDATION),
    _app(E.NOT_FOUND, C.NOT_FOUND),
    _app(E.CONFLICT, C.CONFLICT),
    _app(E.VAULT_ERROR, C.VAULT),
    _app(E.VAULT_KEY_MISSING, C.VAULT),
    _app(E.VAULT_NO_PRIVATE_KEY, C.VAULT),
    _app(E.VAULT_OPEN_FAILED, C.VAULT),
    _app(E.VAULT_CORRUPT, C.VAULT),
    _app(E.VAULT_NOT_INITIALISED, C.VAULT),
    _app(E.EMAIL_MISSING, C.VALIDATION),
    _app(E.EMAIL_INVALID, C.VALIDATION),
    _app(E.DISPLAY_NAME_INVALID, C.VALIDATION),
    _app(E.HOST_MISSING, C.VALIDATION),
    _app(E.HOST_INVALID, C.VALIDATION),
    _app(E.PORT_INVALID, C.VALIDATION),
    _app(E.SECURITY_INVALID, C.VALIDATION),
    _app(E.CLEARTEXT_NOT_LOOPBACK, C.VALIDATION),
    _app(E.SECURITY_PORT_MISMATCH, C.VALIDATION),
    _app(E.PASSWORD_EMPTY, C.VALIDATION),
    _app(E.CA_FILE_INVALID, C.VALIDATION),
    _app(E.PIN_INVALID, C.VALIDATION),
    _app(E.LIMIT_INVALID, C.VALIDATION),
    _app(E.INTERVAL_ORDER, C.VALIDATION),
    _app(E.TIMEZONE_INVALID, C.VALIDATION),
    _app(E.PRESET_UNKNOWN, C.VALIDATION),
    _app(E.FIELD_UNKNOWN, C.VALIDATION),
    _app(E.ACCOUNT_DUPLICATE, C.VALIDATION),
    _app(E.ACCOUNT_NOT_FOUND, C.NOT_FOUND),
    _app(E.PASSWORD_SOURCE_MISSING, C.VALIDATION),
    _app(E.VAULT_ROTATE_NEEDS_FILES, C.VAULT),
    _app(E.CLASSIFY_FILE_UNREADABLE, C.VALIDATION),
    _app(E.CLASSIFY_FILE_TOO_LARGE, C.VALIDATION),
    _app(E.SINCE_INVALID, C.VALIDATION),
    _app(E.EVENT_TYPE_INVALID, C.VALIDATION),
    _app(E.WEBHOOK_URL_INVALID, C.VALIDATION),
    _app(E.WEBHOOK_EVENTS_INVALID, C.VALIDATION),
    _app(E.WEBHOOK_LIMIT, C.VALIDATION),
    _app(E.WEBHOOK_NOT_FOUND, C.NOT_FOUND),
    _app(E.SUPPRESSION_EMAIL_INVALID, C.VALIDATION),
    _app(E.SUPPRESSION_REASON_INVALID, C.VALIDATION),
    _app(E.SUPPRESSION_EXISTS, C.VALIDATION),
    _app(E.SUPPRESSION_NOT_FOUND, C.NOT_FOUND),
    _app(E.IMAP_NOT_CONFIGURED, C.CONFIG),
    _app(E.HEADER_INJECTION, C.VALIDATION),
    _app(E.MESSAGE_ID_INVALID, C.VALIDATION),
    _app(E.UNSUBSCRIBE_INVALID, C.VALIDATION),
    _app(E.ONE_CLICK_NEEDS_HTTPS, C.VALIDATION),
    _app(E.HEADER_NAME_INVALID, C.VALIDATION),
    _app(E.HEADER_RESERVED, C.VALIDATION),
    _app(E.HEADER_FORMAT, C.VALIDATION),
    _app(E.TOO_MANY_RECIPIENTS, C.VALIDATION),
    _app(E.SUBJECT_TOO_LONG, C.VALIDATION),
    _app(E.TEXT_CHOICE, C.VALIDATION),
    _app(E.FILE_UNREADABLE, C.VALIDATION),
    _app(E.DATETIME_INVALID, C.VALIDATION),
    _app(E.DATETIME_NEEDS_OFFSET, C.VALIDATION),
    _app(E.PAUSE_UNTIL_PAST, C.VALIDATION),
    _app(E.ACCOUNT_NOT_PAUSED, C.CONFLICT),
    _app(E.OUTBOX_STATUS_INVALID, C.VALIDATION),
    _app(E.OUTBOX_NOT_FOUND, C.NOT_FOUND),
    _app(E.OUTBOX_NOT_CANCELLABLE, C.CONFLICT),
    _app(E.RECIPIENT_SUPPRESSED, C.VALIDATION),
    _app(E.WINDOW_INVALID, C.VALIDATION),
    _app(E.WARMUP_INVALID, C.VALIDATION),
    _app(E.ONLY_INVALID, C.VALIDATION),
    _app(E.WINDOW_DAYS_INVALID, C.VALIDATION),
    _app(E.WINDOW_HOURS_INVALID, C.VALIDATION),
    _app(E.LOGIN_FAILED, C.AUTH),
    _app(E.NOT_AUTHENTICATED, C.AUTH, scope=S.HTTP),
    _app(E.LOGIN_RATE_LIMITED, C.AUTH),
    _app(E.CSRF_INVALID, C.AUTH, scope=S.HTTP),
    _app(E.USER_EMAIL_INVALID, C.VALIDATION),
    _app(E.USER_PASSWORD_LENGTH, C.VALIDATION),
    _app(E.USER_EXISTS, C.VALIDATION),
    _app(E.WORKSPACE_NAME_INVALID, C.VALIDATION),
    _app(E.NOT_ALLOWED, C.AUTH),
    _app(E.MEMBER_EXISTS, C.VALIDATION),
    _app(E.MEMBER_ROLE_INVALID, C.VALIDATION),
    _app(E.LAST_OWNER, C.CONFLICT),
    _app(E.SETUP_DONE, C.CONFLICT),
    _app(E.TOKEN_NAME_INVALID, C.VALIDATION),
    _app(E.INVALID_TEXT, C.VALIDATION),
    _app(E.JOB_NOT_FOUND, C.NOT_FOUND),
    _app(E.PROBAR_UNAVAILABLE, C.INTERNAL),
    _app(E.JOB_ABANDONED, C.INTERNAL),
    _app(E.INTERNAL_ERROR, C.INTERNAL),
    _app(E.METHOD_NOT_ALLOWED, C.HTTP, scope=S.HTTP),
    _app(E.HTTP_ERROR, C.HTTP, scope=S.HTTP),
    _app(E.TOO_LARGE, C.HTTP, scope=S.HTTP),
    _app(E.UNSUPPORTED_MEDIA_TYPE, C.HTTP, scope=S.HTTP),
    _mail(E.EGRESS_REFUSED, C.CONNECTION, permanent=True, retryable=False, impact=A),
    _mail(E.NO_AUTH_NOT_ALLOWED, C.AUTH, permanent=True, retryable=False, impact=A),
    _app(E.CA_PEM_INVALID, C.VALIDATION),
    _app(E.CA_PEM_TOO_LARGE, C.VALIDATION),
    _app(E.CA_PEM_PRIVATE_KEY, C.VALIDATION),
    _app(E.PROBAR_RATE_LIMITED, C.RATE_LIMITED),
    _app(E.RATE_LIMITED, C.RATE_LIMITED),
    _app(E.WEBHOOK_HTTPS_REQUIRED, C.VALIDATION),
    _app(E.WEBHOOK_URL_REFUSED, C.VALIDATION),
    _app(E.CREDENTIALS_ENDPOINT_CHANGED, C.VAULT),
    _app(E.CREDENTIALS_NEED_REBIND, C.VAULT),
    _app(E.ENDPOINT_CHANGED_PASSWORD_REQUIRED, C.VALIDATION),
    _app(E.IMAP_PASSWORD_REQUIRED, C.VALIDATION),
    _app(E.VAULT_PUBLIC_KEY_STALE, C.VAULT),
    _app(E.IDEMPOTENCY_KEY_INVALID, C.VALIDATION),
    _app(E.IDEMPOTENCY_KEY_REUSED, C.VALIDATION),
    _app(E.IDEMPOTENCY_KEY_IN_FLIGHT, C.CONFLICT),
    _app(E.JSONL_INVALID, C.VALIDATION),
    _app(E.JSONL_NOT_OBJECT, C.VALIDATION),
    _app(E.JSONL_UNKNOWN_FIELD, C.VALIDATION),
    _app(E.JSONL_WRONG_TYPE, C.VALIDATION),
    _app(E.JSONL_MISSING_FIELD, C.VALIDATION),
    _app(E.JSONL_TOO_LARGE, C.VALIDATION),
    _app(E.INVITATION_INVALID, C.AUTH),
    _app(E.INVITATION_OTHER_USER, C.AUTH),
    _app(E.INVITATION_LOGIN_REQUIRED, C.AUTH),
    _app(E.REQUEST_BODY_TOO_LARGE, C.HTTP, scope=S.HTTP),
    _app(E.TOKEN_WORKSPACE_REQUIRED, C.VALIDATION),
    _app(E.HOURLY_OVER_DAILY, C.VALIDATION),
    _app(E.DOMAIN_INVALID, C.VALIDATION),
    _app(E.OAUTH_PROVIDER_UNKNOWN, C.VALIDATION),
    _app(E.OAUTH_NOT_CONFIGURED, C.CONFIG),
    _app(E.OAUTH_STATE_INVALID, C.AUTH),
    _app(E.OAUTH_DENIED, C.AUTH),
    _app(E.OAUTH_AUTHORIZATION_FAILED, C.AUTH),
    _app(E.OAUTH_SCOPE_NOT_GRANTED, C.AUTH),
    _app(E.OAUTH_ACCOUNT_NOT_OAUTH, C.VALIDATION),
    _app(E.DELETE_CONFIRMATION_MISMATCH, C.VALIDATION),
    _app(E.OUTBOX_NOT_RETRYABLE, C.CONFLICT),
    _app(E.REPLY_NOT_FOUND, C.NOT_FOUND),
    _app(E.REPLY_CLASS_INVALID, C.VALIDATION),
    _app(E.NOTIFY_ACCOUNT_INVALID, C.VALIDATION),
    _app(E.BULK_PROBAR_EMPTY, C.VALIDATION),
    _app(E.BULK_PROBAR_TOO_MANY, C.VALIDATION),
    _app(E.BULK_PROBAR_RUNNING, C.CONFLICT),
    _app(E.IMPORT_FILE_TOO_LARGE, C.VALIDATION),
    _app(E.IMPORT_TOO_MANY_ROWS, C.VALIDATION),
    _app(E.IMPORT_FILE_BINARY, C.VALIDATION),
    _app(E.IMPORT_ENCODING_INVALID, C.VALIDATION),
    _app(E.IMPORT_EMAIL_COLUMN_MISSING, C.VALIDATION),
    _app(E.IMPORT_MAPPING_INVALID, C.VALIDATION),
    _app(E.IMPORT_CELL_TOO_LONG, C.VALIDATION),
    _app(E.IMPORT_DUPLICATE_IN_FILE, C.VALIDATION),
    _app(E.IMPORT_ACCOUNT_EXISTS, C.CONFLICT),
    _app(E.IMPORT_PASTE_LINE_INVALID, C.VALIDATION),
    _app(E.IMPORT_EMPTY, C.VALIDATION),
    _app(E.TAG_INVALID, C.VALIDATION),
    _app(E.BULK_CONFIRMATION_MISMATCH, C.VALIDATION),
    _app(E.UNKNOWN, C.MAIL),
)
del E, C, S, A, R, M, V, SMTP, IMAP

KINDS: Mapping[ErrorCode, ErrorKind] = {row.code: row for row in ROWS}

# Before one vocabulary, an IMAP failure below the protocol (DNS, TCP, TLS, LOGIN) had its own
# copy of the shared code, prefixed: ``imap_auth_failed`` is now ``auth_failed`` raised with
# scope ``imap``. Stored rows may still hold the old strings.
_RETIRED_IMAP_PREFIX = "imap_"


def parse_code(stored: str) -> ErrorCode:
    """The member for a code read back from storage.

    A retired ``imap_<code>`` copy reads as the shared ``<code>`` (see :func:`stored_scope`).
    :attr:`ErrorCode.UNKNOWN` for a string this version does not know (a newer version wrote it,
    or the code was retired): callers show the stored string and a neutral heading.
    """
    try:
        return ErrorCode(stored)
    except ValueError:
        pass
    if stored.startswith(_RETIRED_IMAP_PREFIX):
        with contextlib.suppress(ValueError):
            return ErrorCode(stored.removeprefix(_RETIRED_IMAP_PREFIX))
    return ErrorCode.UNKNOWN


def stored_scope(stored: str) -> Scope | None:
    """``imap`` for a retired ``imap_<code>`` string, else None (the scope was not in the code)."""
    if stored in _VALUES or not stored.startswith(_RETIRED_IMAP_PREFIX):
        return None
    return Scope.IMAP if stored.removeprefix(_RETIRED_IMAP_PREFIX) in _VALUES else None


_VALUES = frozenset(code.value for code in ErrorCode)


__all__ = [
    "KINDS",
    "ROWS",
    "Category",
    "ErrorCode",
    "ErrorKind",
    "Impact",
    "Scope",
    "parse_code",
    "stored_scope",
]
