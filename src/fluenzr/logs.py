"""Logging set-up. Secrets are redacted by construction: a password only ever exists as a
:class:`~fluenzr.core.secret.Secret`, which renders as a mask. As a second line of defence the
filter below scrubs protocol lines that carry credentials (``AUTH PLAIN <b64>``, ``LOGIN u p``)
and ``password=`` style pairs, in case a library logs them.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

_PATTERNS = (
    re.compile(r"(?i)(AUTH\s+(?:PLAIN|LOGIN|CRAM-MD5|XOAUTH2)\s+)\S+"),
    re.compile(r"(?i)(\bLOGIN\s+\S+\s+)\S+"),
    re.compile(r"(?i)((?:password|passwd|secret|token|api_key)\s*[=:]\s*)\S+"),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1********", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def configure_logging(*, home: Path, level: str = "INFO") -> Path:
    """Log to ``<home>/logs/fluenzr.log`` (0600) with redaction on every record."""
    folder = home / "logs"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / "fluenzr.log"
    path.touch(mode=0o600, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
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
