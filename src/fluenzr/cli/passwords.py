"""Reading a password without ever taking it as a command-line value (visible in `ps`)."""

from __future__ import annotations

import getpass
import os
import sys

from fluenzr.core.secret import Secret
from fluenzr.error_codes import ErrorCode
from fluenzr.errors import ValidationError
from fluenzr.i18n import translate


def read_password(
    *, from_stdin: bool, env_var: str | None, field: str = "password", prompt: bool = True
) -> Secret | None:
    """stdin (first line) | a named environment variable | an interactive prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        return Secret(line.rstrip("\r\n"))
    if env_var:
        value = os.environ.get(env_var)
        if value is None:
            raise ValidationError(ErrorCode.PASSWORD_SOURCE_MISSING, params={"field": field})
        return Secret(value)
    if prompt and sys.stdin.isatty():
        return Secret(getpass.getpass(f"{translate('field.' + field)}: "))
    return None
