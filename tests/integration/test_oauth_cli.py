"""`fluenzr accounts connect google --email E`: the RFC 8252 loopback redirect, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import oauth_server
from tests.support.mailservers import create_user

ROOT = Path(__file__).resolve().parents[2]


def test_connect_from_the_command_line(home: Path, mailserver: None) -> None:
    oauth_server.ensure_oauth_mailservers()
    user = create_user("cliconnect")
    env = {**os.environ, "FLUENZR_HOME": str(home), "FLUENZR_LANG": "en"}
    for key, value in oauth_server.fluenzr_settings().items():
        env[f"FLUENZR_{key.upper()}"] = str(value)
    command = [str(Path(sys.executable).parent / "fluenzr"), "accounts", "connect", "google"]
    command += ["--email", user.email, "--json", "--wait", "30"]
    with subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        url = ""
        while not url:
            line = proc.stderr.readline()
            assert line, "the command ended before printing the URL"
            if line.startswith(oauth_server.AUTHORIZE_URL):
                url = line.strip()
        callback = oauth_server.consent(url, email=user.email)
        assert callback.startswith("http://127.0.0.1:")
        assert "Done" in httpx.get(callback, timeout=10).text
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    view = json.loads(out)
    assert view["email"] == user.email and view["auth_method"] == "oauth"
    assert "refresh_token" not in out and "access_token" not in out + err
