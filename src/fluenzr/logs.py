"""Logging set-up. Secrets are redacted by construction: a password only ever exists as a
:class:`~fluenzr.core.secret.Secret`, which renders as a mask. As a second line of defence the
filter below scrubs protocol lines that carry credentials (``AUTH PLAIN <b64>``, ``LOGIN u p``)
and ``password=`` style pairs, in case a library logs them.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Literal

LogFormat = Literal["text", "json"]
# Structured fields (``extra=``) whose name says they hold a secret: masked whatever the value.
_SECRET_KEY = re.compile(r"(?i)pass(word|wd)?|secret|token|api_key|authorization|credential|cookie")

_PATTERNS = (
    re.compile(r"(?i)(AUTH(?:ENTICATE)?\s+(?:PLAIN|LOGIN|CRAM-MD5|XOAUTH2|OAUTHBEARER)\s+)\S+"),
    re.compile(r"(?i)(\bBearer\s+)[^\s\x01]+"),
    re.compile(r"(?i)([?&](?:code|state|code_verifier)=)[^&\s]+"),
    re.compile(r"(?i)(\bLOGIN\s+\S+\s+)\S+"),
    re.compile(r"(?i)((?:password|passwd|secret|token|api_key)\s*[=:]\s*)\S+"),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1********", text)
    return text


def redact_value(key: str, value: Any) -> Any:
    """A structured field as it may be logged: secret-named keys masked, text redacted."""
    if _SECRET_KEY.search(key):
        return "********"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(key, v) for v in value]
    return value


def json_formatter() -> logging.Formatter:
    """One JSON object per line: ``timestamp``, ``level``, ``logger``, ``message``, then the
    record's ``extra`` fields; every field redacted like the text format's message."""
    from pythonjsonlogger.json import JsonFormatter  # lazy: only FLUENZR_LOG_FORMAT=json needs it

    class RedactingJsonFormatter(JsonFormatter):
        def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
            return {key: redact_value(key, value) for key, value in log_data.items()}

    return RedactingJsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
    )


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(*, home: Path, level: str = "INFO", fmt: LogFormat = "text") -> Path:
    """Log to ``<home>/logs/fluenzr.log`` (0600) with redaction on every record; ``fmt="json"``
    writes one JSON object per line instead of text (docs/observability.md)."""
    folder = home / "logs"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "fluenzr.log"
    path.touch(mode=0o600, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    if fmt == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    release_logging()
    handler._fluenzr = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return path


def release_logging() -> None:
    """Close the file handler installed by :func:`configure_logging` (tests open many homes)."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_fluenzr", False):
            root.removeHandler(existing)
            existing.close()
