"""The `local` target: a supervising front on the stable port, switching between bundle servers behind it."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgit.deploy import front
from mlgit.deploy.blessed import Blessed
from mlgit.errors import MlgitError
from mlgit.results.finding import Finding, failed
from mlgit.serve import evaluate
from mlgit.system import atomic, process

_START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Switch:
    """What one local apply did."""

    ok: bool
    unchanged: bool
    url: str
    previous: dict[str, Any] | None
    findings: tuple[Finding, ...] = ()


def running(where: Path) -> dict[str, Any] | None:
    """The front's status when one serves this state folder."""
    try:
        answer = front.request(where, {"op": "status"}, timeout=10)
    except (OSError, ValueError, KeyError):
        return None
    return answer if "pid" in answer else None


def ensure_front(where: Path, host: str, port: int) -> dict[str, Any]:
    """The running front of this deployment, started on host:port (detached from this command) if none runs."""
    status = running(where)
    if status is not None:
        recorded = recorded_address(where)
        if recorded is not None and recorded != (host, port):
            raise MlgitError(
                f"this deployment already listens on {recorded[0]}:{recorded[1]}, not {host}:{port}",
                hint="stop it first (mlgit deploy stop MODEL STAGE), then apply with the new port",
            )
        return status
    where.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-I", str(Path(front.__file__)), str(where), host, str(port)]
    with (where / "front.log").open("ab") as log:
        proc = process.spawn(args, stderr=log, detach=True)
    ready = _ready_line(proc)
    if ready is None:
        tail = (where / "front.log").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise MlgitError(f"the front could not listen on {host}:{port}: {tail[0]}", hint="is the port in use?")
    atomic.write_text(where / "address.json", json.dumps({"host": host, "port": port}) + "\n")
    status = running(where)
    if status is None:
        raise MlgitError(f"the front on {host}:{port} does not answer its control socket (see {where / 'front.log'})")
    return status


def recorded_address(where: Path) -> tuple[str, int] | None:
    """The host and port a running deployment's front was started on (a --port override included)."""
    try:
        doc = json.loads((where / "address.json").read_text())
        return str(doc["host"]), int(doc["port"])
    except (OSError, ValueError, KeyError):
        return None


def _ready_line(proc: subprocess.Popen[bytes]) -> dict[str, Any] | None:
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the front prints its ready line, or exits (closing stdout) on failure
    proc.stdout.close()
    try:
        doc = json.loads(line)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and doc.get("event") == "ready" else None


def apply(where: Path, blessed: Blessed, python: Path, host: str, port: int) -> Switch:
    """Start the bundle beside what serves now, check it, and only then let it take the port."""
    status = ensure_front(where, host, port)
    url = f"http://{host}:{port}"
    current = status.get("current")
    if isinstance(current, dict) and current.get("digest") == f"sha256:{blessed.digest}":
        return Switch(True, True, url, current)
    started = front.request(
        where,
        {
            "op": "start",
            "folder": str(blessed.folder),
            "python": str(python),
            "digest": f"sha256:{blessed.digest}",
            "version": blessed.version,
        },
    )
    if "error" in started:
        raise MlgitError(f"the new version did not start: {started['error']}")
    candidate = started["backend"]
    ev = evaluate.smoke(str(candidate["url"]), blessed.opened, blessed.manifest)
    if failed(ev.findings):
        front.request(where, {"op": "discard", "id": candidate["id"]})
        return Switch(False, False, url, current if isinstance(current, dict) else None, tuple(ev.findings))
    switched = front.request(where, {"op": "switch", "id": candidate["id"]})
    if "error" in switched:
        raise MlgitError(f"the switch failed: {switched['error']}")
    return Switch(True, False, url, switched.get("previous"), tuple(ev.findings))


def stop(where: Path) -> bool:
    """Stop the front and every backend behind it; False when nothing was running."""
    status = running(where)
    if status is None:
        return False
    front.request(where, {"op": "shutdown"}, timeout=10)
    return True


def served(host: str, port: int, model: str) -> dict[str, Any] | None:
    """What the stable port serves for a model (`GET /v2/models/{m}`), or None when nothing answers."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request("GET", f"/v2/models/{model}")
        res = conn.getresponse()
        body = res.read()
        if res.status != 200:
            return None
        doc = json.loads(body)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    finally:
        conn.close()
    if not isinstance(doc, dict):
        return None
    versions = doc.get("versions") or []
    return {"version": versions[0] if versions else None, "digest": (doc.get("parameters") or {}).get("digest")}
