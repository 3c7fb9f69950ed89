"""The supervising front of a `local` deployment: a small HTTP proxy on the stable port, and its backends.

It runs as its own process (`python -m mlgit.deploy.front STATE_DIR HOST PORT`), outlives the command that
started it, and imports nothing but the standard library and mlgit's base (the atomic writer and the
subprocess door, which import nothing else of mlgit). `mlgit deploy` drives it over a loopback control
socket, whose port and secret token the front writes to `control.json` (mode 0600) in the state folder, with
one JSON line per request:

- `start` {folder, python, digest, version}: spawn the bundle's server on a free port, wait for its `ready` line;
- `switch` {id}: route every new request to that backend, wait until the old one has no request in flight,
  then SIGTERM it (it answers what it has read and exits): no request is refused or cut during a switch;
- `discard` {id}: stop a candidate that never took traffic; `status`; `shutdown`.

Each proxied request goes to the backend current when it arrives, on a connection of its own.
"""

from __future__ import annotations

import hmac
import http.client
import json
import os
import secrets
import selectors
import signal
import socket
import socketserver
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from mlgit.system import atomic, process

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
CONTROL = "control.json"
_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"})
MAX_BODY = 64 << 20


@dataclass
class Backend:
    """One bundle server process behind the front."""

    id: int
    proc: subprocess.Popen[bytes]
    host: str
    port: int
    digest: str
    version: str
    inflight: int = 0

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pid": self.proc.pid,
            "url": f"http://{self.host}:{self.port}",
            "digest": self.digest,
            "version": self.version,
        }


@dataclass
class Front:
    """The routing state every proxy thread and the control socket share."""

    state: Path
    current: Backend | None = None
    candidates: dict[int, Backend] = field(default_factory=dict)
    cond: threading.Condition = field(default_factory=threading.Condition)
    next_id: int = 1
    served: int = 0
    failed: int = 0

    def acquire(self) -> Backend | None:
        with self.cond:
            backend = self.current
            if backend is not None:
                backend.inflight += 1
            return backend

    def release(self, backend: Backend, ok: bool) -> None:
        with self.cond:
            backend.inflight -= 1
            self.served += 1
            self.failed += 0 if ok else 1
            self.cond.notify_all()

    def start(self, folder: str, python: str, digest: str, version: str) -> dict[str, Any]:
        log = (self.state / "backends.log").open("ab")
        args = [python, "-I", folder, "serve", "--host", "127.0.0.1", "--port", "0", "--digest", digest]
        # Not detached: a backend lives and dies with this front (its stdin is the front's, /dev/null).
        proc = process.spawn(args, stderr=log)
        log.close()
        ready = _line(proc, "ready", READY_TIMEOUT_S)
        if ready is None:
            _stop(proc)
            return {
                "error": f"the server exited with {proc.poll()} before it was ready (see {self.state / 'backends.log'})"
            }
        host, port = str(ready["url"]).removeprefix("http://").rsplit(":", 1)
        with self.cond:
            backend = Backend(self.next_id, proc, host, int(port), digest, version)
            self.next_id += 1
            self.candidates[backend.id] = backend
        return {"backend": backend.doc()}

    def switch(self, ident: int) -> dict[str, Any]:
        with self.cond:
            backend = self.candidates.pop(ident, None)
            if backend is None:
                return {"error": f"no candidate backend {ident}"}
            old, self.current = self.current, backend
            while old is not None and old.inflight:
                self.cond.wait()
        if old is not None:
            _stop(old.proc)
        return {"current": backend.doc(), "previous": old.doc() if old else None}

    def discard(self, ident: int) -> dict[str, Any]:
        with self.cond:
            backend = self.candidates.pop(ident, None)
        if backend is None:
            return {"error": f"no candidate backend {ident}"}
        _stop(backend.proc)
        return {"discarded": backend.doc()}

    def status(self) -> dict[str, Any]:
        with self.cond:
            current = self.current.doc() if self.current else None
            return {"pid": os.getpid(), "current": current, "served": self.served, "failed": self.failed}

    def shutdown(self) -> None:
        with self.cond:
            backends = [b for b in (self.current, *self.candidates.values()) if b is not None]
            self.current = None
            self.candidates.clear()
            while any(b.inflight for b in backends):
                self.cond.wait()
        for b in backends:
            _stop(b.proc)


def _line(proc: subprocess.Popen[bytes], event: str, timeout: float) -> dict[str, Any] | None:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while sel.select(timeout):
            raw = proc.stdout.readline()
            if not raw:
                return None
            try:
                doc = json.loads(raw)
            except ValueError:
                continue
            if isinstance(doc, dict) and doc.get("event") == event:
                return doc
    return None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Proxy(BaseHTTPRequestHandler):
    """Forwards one request at a time to the current backend."""

    protocol_version = "HTTP/1.1"
    front: Front

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            self._reply(413, b'{"error": "request body too large"}', "application/json")
            return
        body = self.rfile.read(length) if length else None
        backend = self.front.acquire()
        if backend is None:
            self._reply(503, b'{"error": "no version is deployed"}', "application/json")
            return
        ok = False
        try:
            status, headers, data = _relay(backend, self.command, self.path, self.headers, body)
            ok = status < 500
        except (OSError, http.client.HTTPException) as exc:
            status, headers, data = (
                502,
                [("Content-Type", "application/json")],
                json.dumps({"error": str(exc)}).encode(),
            )
        finally:
            self.front.release(backend, ok)
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in _HOP and key.lower() not in ("content-length", "server", "date"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _reply(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


def _relay(
    backend: Backend, method: str, path: str, headers: Any, body: bytes | None
) -> tuple[int, list[tuple[str, str]], bytes]:
    conn = http.client.HTTPConnection(backend.host, backend.port, timeout=STOP_TIMEOUT_S)
    try:
        sent = {k: v for k, v in headers.items() if k.lower() not in _HOP and k.lower() != "host"}
        sent["Connection"] = "close"
        conn.request(method, path, body=body, headers=sent)
        res = conn.getresponse()
        return res.status, res.getheaders(), res.read()
    finally:
        conn.close()


class Control(socketserver.StreamRequestHandler):
    """One JSON request line in, one JSON answer line out."""

    front: Front
    stop: threading.Event
    done: threading.Event
    answered: threading.Event
    token: str

    def handle(self) -> None:
        try:
            req = json.loads(self.rfile.readline(1 << 20))
            if not hmac.compare_digest(str(req.get("token", "")), self.token):
                raise ValueError("wrong token")
            answer = self._answer(req)
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"error": f"bad control request: {exc}"}
        self.wfile.write(json.dumps(answer).encode() + b"\n")
        if "stopped" in answer:
            self.answered.set()

    def _answer(self, req: dict[str, Any]) -> dict[str, Any]:
        op = req["op"]
        if op == "start":
            return self.front.start(str(req["folder"]), str(req["python"]), str(req["digest"]), str(req["version"]))
        if op == "switch":
            return self.front.switch(int(req["id"]))
        if op == "discard":
            return self.front.discard(int(req["id"]))
        if op == "status":
            return self.front.status()
        if op == "shutdown":
            self.stop.set()
            self.done.wait(STOP_TIMEOUT_S * 2)  # answer once every backend has stopped
            return {"stopped": os.getpid()}
        return {"error": f"unknown op {op!r}"}


class _ControlServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main(argv: list[str]) -> int:
    """Serve the stable port until SIGTERM or a `shutdown` request; then stop every backend."""
    state, host, port = Path(argv[0]), argv[1], int(argv[2])
    front = Front(state)
    stop, done, answered = threading.Event(), threading.Event(), threading.Event()
    proxy = ThreadingHTTPServer((host, port), type("BoundProxy", (Proxy,), {"front": front}))
    proxy.daemon_threads = True
    token = secrets.token_hex(16)
    control = _ControlServer(
        ("127.0.0.1", 0),
        type(
            "BoundControl",
            (Control,),
            {"front": front, "stop": stop, "done": done, "answered": answered, "token": token},
        ),
    )
    doc = {"port": control.server_address[1], "token": token, "pid": os.getpid()}
    atomic.write_text(state / CONTROL, json.dumps(doc), mode=0o600)  # the token is a secret: owner only
    for target in (proxy.serve_forever, control.serve_forever):
        threading.Thread(target=target, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sys.stdout.write(
        json.dumps({"event": "ready", "url": f"http://{host}:{proxy.server_address[1]}", "pid": os.getpid()}) + "\n"
    )
    sys.stdout.flush()
    # Nobody reads stdout once the starter has the ready line: later prints go to the log, never to a closed pipe.
    log = os.open(state / "front.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    stop.wait()
    proxy.shutdown()
    front.shutdown()
    (state / CONTROL).unlink(missing_ok=True)
    done.set()
    answered.wait(5)  # a `shutdown` request is answered before the process exits
    control.shutdown()
    return 0


def request(state: Path, doc: dict[str, Any], timeout: float = READY_TIMEOUT_S + STOP_TIMEOUT_S) -> dict[str, Any]:
    """Send one control request to the front of a state folder; OSError when no front listens there."""
    try:
        control = json.loads((state / CONTROL).read_text())
    except ValueError as exc:
        raise OSError(f"unreadable {CONTROL}: {exc}") from None
    with socket.create_connection(("127.0.0.1", int(control["port"])), timeout=timeout) as s:
        s.sendall(json.dumps({**doc, "token": control["token"]}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data or b"{}")
    return answer if isinstance(answer, dict) else {"error": "malformed answer"}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
