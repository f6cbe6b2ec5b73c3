"""Files the CLI reads on the operator's own machine (never on a tenant's behalf)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError


def read_pem_file(path: str | Path, *, field: str) -> str:
    """The text of a local CA file (the service validates it as PEM); regular files only,
    opened non-blocking so a FIFO cannot hang the command, at most the PEM size cap."""
    # Imported here for start-up time: account_rules pulls cryptography.x509 and
    # email_validator (~0.25 s), which commands that read no CA file never need.
    from fluenzr.services.account_rules import CA_PEM_MAX_BYTES

    shown = str(Path(path).expanduser())
    try:
        fd = os.open(shown, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ValidationError(
            ErrorCode.CA_FILE_INVALID, params={"field": field, "value": shown}
        ) from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError(
                ErrorCode.CA_FILE_INVALID, params={"field": field, "value": shown}
            )
        data = os.read(fd, CA_PEM_MAX_BYTES + 1)
    except OSError as exc:
        raise ValidationError(
            ErrorCode.CA_FILE_INVALID, params={"field": field, "value": shown}
        ) from exc
    finally:
        os.close(fd)
    return data.decode("utf-8", "replace")


__all__ = ["read_pem_file"]
