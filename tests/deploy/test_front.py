"""The local target's front on its own: what it answers with nothing deployed, and who may drive it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from mlgit.deploy import front, local
from mlgit.errors import MlgitError
from testing.oip import call


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_front_without_a_version_answers_503_and_obeys_only_its_token(tmp_path: Path) -> None:
    import http.client

    where = tmp_path / "state"
    port = _free_port()
    status = local.ensure_front(where, "127.0.0.1", port)
    try:
        assert status["current"] is None
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        code, body = call(conn, "GET", "/v2/health/ready")
        assert (code, body) == (503, {"error": "no version is deployed"})
        control = json.loads((where / front.CONTROL).read_text())
        assert (where / front.CONTROL).stat().st_mode & 0o777 == 0o600
        with socket.create_connection(("127.0.0.1", control["port"]), timeout=60) as s:
            s.sendall(json.dumps({"op": "shutdown", "token": "guessed"}).encode() + b"\n")
            answer = json.loads(s.makefile().readline())
        assert answer == {"error": "bad control request: wrong token"}
        assert local.running(where) is not None  # still serving
        # A second front for the same deployment on another port is refused while this one runs.
        other = _free_port()
        with pytest.raises(MlgitError, match=f"already listens on 127.0.0.1:{port}, not 127.0.0.1:{other}"):
            local.ensure_front(where, "127.0.0.1", other)
    finally:
        assert local.stop(where) is True
    assert local.running(where) is None and local.stop(where) is False
