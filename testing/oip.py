"""A served bundle as a real process, and a real HTTP client: what the serving tests talk to."""

from __future__ import annotations

import http.client
import json
import selectors
import signal
import subprocess
from pathlib import Path
from typing import Any

MODEL = "cancer-classifier"  # the example repository's model
WHEEL_CACHE_ENV = "MLGIT_WHEEL_CACHE"

# A safety net only, never a measurement: a broken server fails the test instead of hanging the suite.
_GIVE_UP_S = 120


class Served:
    """A server process, synchronised on the JSON status lines it prints (`ready`, `stopped`)."""

    def __init__(self, args: list[str], stderr: Path, env: dict[str, str] | None = None) -> None:
        with stderr.open("wb") as err:
            self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, env=env)
        self.stderr = stderr
        ready = self.line("ready")
        self.ready = ready
        self.host, port = str(ready["url"]).removeprefix("http://").rsplit(":", 1)
        self.port = int(port)

    def line(self, event: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while sel.select(_GIVE_UP_S):
                raw = self.proc.stdout.readline()
                if not raw:
                    break
                doc = json.loads(raw)
                if doc.get("event") == event:
                    return dict(doc)
        raise AssertionError(f"no {event!r} line; stderr:\n{self.stderr.read_text()[-3000:]}")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=_GIVE_UP_S)

    def stop(self) -> tuple[int, dict[str, Any]]:
        self.proc.send_signal(signal.SIGTERM)
        stopped = self.line("stopped")
        return self.proc.wait(_GIVE_UP_S), stopped

    def __enter__(self) -> Served:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def call(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One request; the status and the decoded JSON body (text for non-JSON)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=headers or {})
    res = conn.getresponse()
    raw = res.read()
    if res.getheader("Content-Type", "").startswith("application/json"):
        return res.status, json.loads(raw)
    return res.status, raw.decode()


def package(mlgit: Any, repo: Path, *args: str) -> dict[str, Any]:
    """`mlgit package ARGS --json` in REPO, which must succeed: what it prints (archive, folder, sha256, ...)."""
    res = mlgit(repo, "package", *args, "--json")
    assert res.code == 0, res.err
    return dict(json.loads(res.out))


def manifest_of(built: dict[str, Any]) -> dict[str, Any]:
    """The manifest.json of the bundle folder a `package` call wrote."""
    return dict(json.loads((Path(built["folder"]) / "manifest.json").read_text()))


def folder_of(archive: Path) -> Path:
    """The bundle folder `mlgit package` writes beside its archive."""
    return archive.with_name(archive.name.removesuffix(".tar.gz"))
