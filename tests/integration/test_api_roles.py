"""The split deployment: ``serve --role web`` holds only the public key and queues Probar; a
separate sending system (private key) runs it; the steps reach the web role's API."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from fluenzr.config import load_settings
from fluenzr.services.context import open_app
from fluenzr.services.jobs import run_jobs
from tests.e2e.server import admin, serve
from tests.support.cli import Cli
from tests.support.services import port_open

PASSWORD = "Split-Role-Secret-99"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_web_role_queues_and_worker_runs(home: Path, db_url: str) -> None:
    worker_ctx = open_app(load_settings(home=home, database_url=db_url))  # creates the keys
    web_ctx = open_app(load_settings(home=home, database_url=db_url, vault_read_only=True))
    try:
        assert web_ctx.vault.can_open is False and worker_ctx.vault.can_open is True
        caller = admin(web_ctx)
        account = {
            "email": "split@example.com",
            "smtp_host": "127.0.0.1",
            "smtp_port": _closed_port(),
            "smtp_security": "ssl",
            "force": True,
            "password": PASSWORD,
        }
        with (
            serve(web_ctx, role="web") as url,
            httpx.Client(base_url=url, headers=caller.headers, timeout=20) as http,
        ):
            created = http.post("/api/v1/accounts", json=account)
            assert created.status_code == 201, created.text  # sealing needs only the public key
            account_id = created.json()["id"]
            job_id = http.post(f"/api/v1/accounts/{account_id}/test").json()["id"]
            time.sleep(1.0)
            assert http.get(f"/api/v1/jobs/{job_id}").json()["status"] == "pending"

            asyncio.run(run_jobs(worker_ctx, until_idle=True))

            done = http.get(f"/api/v1/jobs/{job_id}").json()
            assert done["status"] == "done" and done["steps"]
            assert done["result"]["error"]["category"] == "connection"
            assert PASSWORD not in str(done)
    finally:
        web_ctx.close()
        worker_ctx.close()


def _free_port() -> int:
    return _closed_port()


def test_cli_serve_users_and_tokens(home: Path) -> None:
    """`fluenzr users add`, `fluenzr tokens create`, then `fluenzr serve --role web` answers."""
    cli = Cli(home=home)
    added = cli(
        "users",
        "add",
        "ops@example.com",
        "--workspace",
        "Ops",
        "--password-env",
        "OPS_PW",
        "--json",
        env={"OPS_PW": "ops-password-123"},
    )
    assert added.exit_code == 0, added.stderr
    token = cli("tokens", "create", "--user", "ops@example.com", "--name", "ci", "--json")
    assert token.exit_code == 0, token.stderr
    value = token.json()["token"]
    listed = cli("tokens", "list", "--user", "ops@example.com", "--json")
    assert value not in listed.stdout and listed.json()["tokens"][0]["name"] == "ci"
    weak = cli("users", "add", "x@example.com", "--password-env", "W", env={"W": "short"})
    assert weak.exit_code == 2

    port = _free_port()
    env = {**os.environ, "FLUENZR_HOME": str(home)}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("fluenzr")),
            "serve",
            "--role",
            "web",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90  # generous: two test processes may share 2 cores
        while not port_open("127.0.0.1", port):
            assert server.poll() is None, server.communicate()[1]
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        me = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/me",
            headers={"Authorization": f"Bearer {value}"},
            timeout=20,  # the first request of a new process renders and imports lazily
        )
        assert me.status_code == 200 and me.json()["email"] == "ops@example.com"
        page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=20)
        assert page.status_code == 200 and "Iniciar sesión" in page.text
    finally:
        server.terminate()
        server.communicate(timeout=20)
