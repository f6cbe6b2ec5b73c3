"""The password never appears in the home folder (database, WAL, logs, keys) or CLI output."""

from __future__ import annotations

import base64
import codecs
from pathlib import Path

from tests.support.cli import Cli

PASSWORD = "Qu1ck-Br0wn-Zorro!¿ñ"


def _forms(secret: str) -> dict[str, bytes]:
    raw = secret.encode("utf-8")
    return {
        "plain": raw,
        "base64": base64.b64encode(raw),
        "base64-auth-plain": base64.b64encode(b"\0ana@example.com\0" + raw)[8:24],
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "utf-16-le": secret.encode("utf-16-le"),
        "utf-16-be": secret.encode("utf-16-be"),
        "rot13": codecs.encode(secret, "rot13").encode("utf-8"),
    }


def test_no_trace_of_the_password(home: Path) -> None:
    cli = Cli(home=home)
    outputs = []
    for args in (
        (
            "accounts",
            "add",
            "--email",
            "ana@example.com",
            "--name",
            "Ana",
            "--smtp-host",
            "smtp.example.com",
            "--imap-host",
            "smtp.example.com",
            "--password-stdin",
            "--json",
        ),
        ("accounts", "list", "--json"),
        ("accounts", "list"),
        ("accounts", "show", "1", "--json"),
        ("accounts", "show", "1"),
        ("accounts", "edit", "1", "--password-stdin", "--json"),
        ("keys", "rotate", "--json"),
    ):
        result = cli(*args, input=PASSWORD + "\n")
        assert result.exit_code == 0, result.stderr
        outputs.append((result.stdout + result.stderr).encode("utf-8"))
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name.startswith("fluenzr.db") for p in files)
    assert any(p.suffix == ".log" for p in files)
    blobs = {str(p): p.read_bytes() for p in files}
    blobs.update({f"output {i}": out for i, out in enumerate(outputs)})
    for form, needle in _forms(PASSWORD).items():
        hits = [name for name, data in blobs.items() if needle in data]
        assert not hits, f"password found as {form} in {hits}"
