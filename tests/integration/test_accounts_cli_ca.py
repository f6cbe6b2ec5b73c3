"""`fluenzr accounts add/edit --smtp-ca-file`: the CLI reads a *local* file and stores its PEM."""

from __future__ import annotations

import os
from pathlib import Path

import trustme

from tests.support.cli import Cli


def _add(cli: Cli, *extra: str) -> tuple[int, dict[str, object]]:
    result = cli(
        "accounts",
        "add",
        "--email",
        "ana@example.com",
        "--smtp-host",
        "smtp.example.com",
        "--imap-host",
        "smtp.example.com",  # the same host: the SMTP password serves IMAP too
        "--password-stdin",
        "--json",
        *extra,
        input="pw\n",
    )
    data = result.json()
    assert isinstance(data, dict)
    return result.exit_code, data


def test_cli_stores_the_pem_of_a_local_file(home: Path, tmp_path: Path) -> None:
    cli = Cli(home=home)
    assert cli("init").exit_code == 0
    pem = trustme.CA().cert_pem.bytes().decode()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for bad in ("/dev/zero", str(fifo), str(tmp_path), str(tmp_path / "missing.pem")):
        code, failed = _add(cli, "--smtp-ca-file", bad)  # a FIFO must not hang the command
        error = failed["error"]
        assert isinstance(error, dict)
        assert (code, error["code"], error["field"]) == (2, "ca_file_invalid", "smtp_ca_file")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    code, failed = _add(cli, "--smtp-ca-file", str(garbage))
    error = failed["error"]
    assert isinstance(error, dict)
    assert (code, error["code"], error["field"]) == (2, "ca_pem_invalid", "smtp_ca_pem")

    good = tmp_path / "ca.pem"
    good.write_text(pem)
    code, created = _add(cli, "--smtp-ca-file", str(good), "--imap-ca-file", str(good))
    assert code == 0, created
    assert created["smtp_ca_pem"] == pem and created["imap_ca_pem"] == pem
    assert created["smtp_auth"] is True
    good.unlink()  # the account keeps the text, not the path
    account = str(created["id"])
    # The CA is part of the endpoint the password is bound to: it is given again with it.
    edited = cli(
        "accounts",
        "edit",
        account,
        "--smtp-ca-file",
        "",
        "--no-auth",
        "--password-stdin",
        "--json",
        input="pw\n",
    ).json()
    assert isinstance(edited, dict)
    assert edited["smtp_ca_pem"] is None and edited["imap_ca_pem"] == pem
    assert edited["smtp_auth"] is False
