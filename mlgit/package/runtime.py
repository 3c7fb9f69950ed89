"""The serving runtime that ships inside every bundle: `python BUNDLE serve` and `python BUNDLE predict FILE`,
or, once the bundle is installed with pip (see `build_backend`), `python -m MODULE serve` / `predict FILE`.

It is copied verbatim into the bundle as `__main__.py`, so it imports only the standard library at module
level and the model's own loader (joblib, skops or onnxruntime, with numpy) once at start-up: a bundle runs
without mlgit, DVC, polars or pydantic. `mlgit serve` runs this same module. The hot path imports nothing,
parses one JSON body, validates it against the signature and calls the model once.

Open Inference Protocol v2 (REST) endpoints, Prometheus `/metrics`, sampled JSONL request logs, and a
SIGTERM drain: the listening socket closes, idle keep-alive connections are shut, requests already read are
answered (with `Connection: close`), and the process exits with a `stopped` line giving the counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SIGNATURE = "signature.json"
MAX_BODY = 8 * 1024 * 1024
LOG_ROTATE_BYTES = 64 * 1024 * 1024
LOG_KEEP = 5
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_NUMERIC = {"FP64": float, "FP32": float, "FP16": float, "INT64": int, "INT32": int, "INT16": int, "INT8": int}
_NUMPY_TYPES = {"float32": "FP32", "float64": "FP64", "int64": "INT64", "int32": "INT32", "bool": "BOOL"}


class BadRequest(Exception):
    """A request the server refuses with a 4xx and an OIP error body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Tensor:
    """One input or output of the signature."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class Signature:
    """What `signature.json` declares: the model, how to load and call it, its inputs and outputs."""

    model: str
    version: str
    platform: str
    loader: str
    file: str
    key: str | None
    method: str
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    # skops: the types beyond skops' defaults the release declared trusted (`trusted_types`) and the file needs.
    trusted_types: tuple[str, ...] = ()

    @classmethod
    def read(cls, bundle: Path) -> Signature:
        doc = json.loads((bundle / SIGNATURE).read_text(encoding="utf-8"))
        return cls(
            model=doc["model"],
            version=doc["version"],
            platform=doc["platform"],
            loader=doc["loader"],
            file=doc["file"],
            key=doc.get("key"),
            method=doc["method"],
            inputs=tuple(Tensor(t["name"], t["datatype"], tuple(t["shape"])) for t in doc["inputs"]),
            outputs=tuple(Tensor(t["name"], t["datatype"], tuple(t["shape"])) for t in doc["outputs"]),
            trusted_types=tuple(doc.get("trusted_types") or ()),
        )


# -- the model -------------------------------------------------------------------------------------------


def load_model(bundle: Path, sig: Signature) -> Callable[[list[list[Any]]], Any]:
    """A function from rows (in the signature's input order) to the model's output array."""
    import warnings

    import numpy as np

    path = bundle / sig.file
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obj = _load(path, sig.loader, sig.trusted_types)
    if sig.loader == "onnx":
        return _onnx(obj, sig, np)
    if sig.key is not None:
        obj = obj[sig.key]
    method = getattr(obj, sig.method)
    numeric = all(t.datatype in _NUMERIC for t in sig.inputs)
    names = getattr(obj, "feature_names_in_", None)
    frame: Any = None
    if names is not None:
        import pandas as pd  # a model fitted on a DataFrame needs pandas anyway

        frame = pd.DataFrame

    def predict(rows: list[list[Any]]) -> Any:
        x: Any = np.array(rows, dtype=np.float64 if numeric else object)
        if frame is not None:
            x = frame(x, columns=[t.name for t in sig.inputs])
        return np.asarray(method(x))

    return predict


def _load(path: Path, loader: str, trusted: tuple[str, ...]) -> Any:
    if loader == "skops":
        import skops.io as sio

        # Only the types the release trusted, never whatever the file asks for: a swapped model file that needs
        # other types is refused here, before anything of it is built.
        unknown = [t for t in sio.get_untrusted_types(file=path) if t not in trusted]
        if unknown:
            sys.stderr.write(
                f"error: {path.name} needs types the release did not trust: {', '.join(unknown)}"
                " (signature.json trusted_types); the model is not loaded\n"
            )
            raise SystemExit(2)
        return sio.load(path, trusted=list(trusted) or None)
    if loader == "onnx":
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.log_severity_level = 3
        return onnxruntime.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    if loader == "joblib":
        import joblib

        return joblib.load(path)
    import pickle

    with path.open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 - the bundle's manifest hash-checks this file; mlgit packaged it trusted


def _onnx(session: Any, sig: Signature, np: Any) -> Callable[[list[list[Any]]], Any]:
    graph_inputs = session.get_inputs()
    kinds = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64}

    def predict(rows: list[list[Any]]) -> Any:
        x = np.array(rows, dtype=np.float64)
        if len(graph_inputs) == 1:
            feeds = {graph_inputs[0].name: x.astype(kinds.get(graph_inputs[0].type, np.float32))}
        else:
            feeds = {g.name: x[:, [i]].astype(kinds.get(g.type, np.float32)) for i, g in enumerate(graph_inputs)}
        return np.asarray(session.run([sig.method], feeds)[0])

    return predict


def datatype_of(arr: Any) -> str:
    """The OIP datatype of a numpy array."""
    return _NUMPY_TYPES.get(str(arr.dtype), "BYTES")


# -- requests ----------------------------------------------------------------------------------------------


def rows_from(doc: Any, sig: Signature) -> tuple[list[list[Any]], str | None]:
    """Validate an OIP infer body; return rows in signature order and the request id."""
    if not isinstance(doc, dict):
        raise BadRequest("the body must be a JSON object with 'inputs'")
    rid = doc.get("id")
    if rid is not None and not isinstance(rid, str):
        raise BadRequest("'id' must be a string")
    inputs = doc.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("'inputs' must be a non-empty list of tensors")
    if len(inputs) == 1 and isinstance(inputs[0], dict) and len(sig.inputs) > 1:
        only = inputs[0]
        if only.get("name") not in {t.name for t in sig.inputs}:
            return _matrix(only, sig), rid
    return _columns(inputs, sig), rid


def _flat(tensor: dict[str, Any], datatype: str) -> tuple[list[Any], list[int]]:
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not shape or not all(type(d) is int and d >= 0 for d in shape):
        raise BadRequest(f"input {tensor.get('name')!r}: 'shape' must be a list of non-negative integers")
    data = tensor.get("data")
    if not isinstance(data, list):
        raise BadRequest(f"input {tensor.get('name')!r}: 'data' must be a list")
    if data and isinstance(data[0], list):
        depth, probe = 1, data
        while probe and isinstance(probe[0], list):
            depth, probe = depth + 1, probe[0]
        if depth != len(shape):
            raise BadRequest(f"input {tensor.get('name')!r}: data nested {depth} deep for a shape of {len(shape)} axes")
        data = list(_flatten(data, 0))
    if len(data) != math.prod(shape):
        raise BadRequest(
            f"input {tensor.get('name')!r}: shape {shape} needs {math.prod(shape)} values, got {len(data)}"
        )
    want = tensor.get("datatype")
    if want != datatype and not (want in _NUMERIC and datatype in _NUMERIC):
        raise BadRequest(f"input {tensor.get('name')!r}: datatype {want!r}, the model takes {datatype}")
    kind = _NUMERIC.get(datatype)
    if kind is float:
        if not all(type(v) is float or type(v) is int for v in data):
            raise BadRequest(f"input {tensor.get('name')!r}: {datatype} data must be numbers")
    elif kind is int:
        if not all(type(v) is int for v in data):
            raise BadRequest(f"input {tensor.get('name')!r}: {datatype} data must be integers")
    elif datatype == "BOOL" and not all(type(v) is bool for v in data):
        raise BadRequest(f"input {tensor.get('name')!r}: BOOL data must be true or false")
    elif datatype == "BYTES" and not all(type(v) is str for v in data):
        raise BadRequest(f"input {tensor.get('name')!r}: BYTES data must be strings")
    return data, shape


def _flatten(data: list[Any], depth: int) -> Iterator[Any]:
    if depth > 8:
        raise BadRequest("'data' is nested too deeply")
    for v in data:
        if isinstance(v, list):
            yield from _flatten(v, depth + 1)
        else:
            yield v


def _matrix(tensor: dict[str, Any], sig: Signature) -> list[list[Any]]:
    width = len(sig.inputs)
    datatype = sig.inputs[0].datatype if len({t.datatype for t in sig.inputs}) == 1 else "BYTES"
    data, shape = _flat(tensor, datatype)
    if len(shape) != 2 or shape[1] != width:
        raise BadRequest(f"input {tensor.get('name')!r}: shape must be [rows, {width}], got {shape}")
    if shape[0] == 0:
        raise BadRequest("no rows to predict")
    return [data[i : i + width] for i in range(0, len(data), width)]


def _columns(inputs: list[Any], sig: Signature) -> list[list[Any]]:
    by_name: dict[str, dict[str, Any]] = {}
    for tensor in inputs:
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise BadRequest("each input must be an object with a string 'name'")
        by_name[tensor["name"]] = tensor
    known = {t.name: t for t in sig.inputs}
    unknown = sorted(set(by_name) - set(known))
    if unknown:
        raise BadRequest(f"unknown inputs: {', '.join(unknown)}; the model takes: {', '.join(known)}")
    missing = [n for n in known if n not in by_name]
    if missing:
        raise BadRequest(f"missing inputs: {', '.join(missing)}")
    columns = []
    for t in sig.inputs:
        data, shape = _flat(by_name[t.name], t.datatype)
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise BadRequest(f"input {t.name!r}: shape must be [rows] or [rows, 1], got {shape}")
        columns.append(data)
    n = len(columns[0])
    if n == 0 or any(len(c) != n for c in columns):
        raise BadRequest("every input must have the same, non-zero number of rows")
    return [list(r) for r in zip(*columns, strict=True)]


def outputs_doc(arr: Any, sig: Signature) -> list[dict[str, Any]]:
    """The OIP `outputs` list for one prediction."""
    name = sig.outputs[0].name if sig.outputs else "predict"
    return [{"name": name, "datatype": datatype_of(arr), "shape": list(arr.shape), "data": arr.ravel().tolist()}]


# -- metrics and logs ----------------------------------------------------------------------------------------


@dataclass
class Metrics:
    """Prometheus counters and a latency histogram, updated under one lock."""

    labels: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: dict[tuple[str, int], int] = field(default_factory=dict)
    buckets: list[int] = field(default_factory=lambda: [0] * len(_BUCKETS))
    count: int = 0
    total: float = 0.0
    errors: int = 0

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        with self.lock:
            key = (endpoint, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            if status >= 400:
                self.errors += 1
            if endpoint == "infer":
                self.count += 1
                self.total += seconds
                for i, bound in enumerate(_BUCKETS):
                    if seconds <= bound:
                        self.buckets[i] += 1

    def text(self) -> str:
        with self.lock:
            lines = [
                "# TYPE mlgit_requests_total counter",
                *(
                    f'mlgit_requests_total{{endpoint="{e}",status="{s}"}} {n}'
                    for (e, s), n in sorted(self.requests.items())
                ),
                "# TYPE mlgit_request_errors_total counter",
                f"mlgit_request_errors_total {self.errors}",
                "# TYPE mlgit_inference_duration_seconds histogram",
                *(
                    f'mlgit_inference_duration_seconds_bucket{{le="{b}"}} {n}'
                    for b, n in zip(_BUCKETS, self.buckets, strict=True)
                ),
                f'mlgit_inference_duration_seconds_bucket{{le="+Inf"}} {self.count}',
                f"mlgit_inference_duration_seconds_sum {self.total:.6f}",
                f"mlgit_inference_duration_seconds_count {self.count}",
                "# TYPE mlgit_model_info gauge",
                f"mlgit_model_info{{{self.labels}}} 1",
            ]
        return "\n".join(lines) + "\n"


class RequestLog:
    """JSONL request records, one per sampled request, in size-rotated files (`requests-<pid>.jsonl`)."""

    def __init__(self, folder: Path | None, rate: float) -> None:
        self.folder = folder
        self.rate = rate
        self.lock = threading.Lock()
        self.seen = 0
        self.fh: Any = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self.path = folder / f"requests-{os.getpid()}.jsonl"
            self.fh = self.path.open("a", encoding="utf-8")

    def sampled(self) -> bool:
        """Deterministic sampling: every request whose index crosses a multiple of 1/rate is kept."""
        if self.fh is None or self.rate <= 0:
            return False
        with self.lock:
            self.seen += 1
            return math.floor(self.seen * self.rate) != math.floor((self.seen - 1) * self.rate)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        with self.lock:
            self.fh.write(line)
            self.fh.flush()
            if self.fh.tell() >= LOG_ROTATE_BYTES:
                self._rotate()

    def _rotate(self) -> None:
        self.fh.close()
        for n in range(LOG_KEEP - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self.fh = self.path.open("a", encoding="utf-8")

    def close(self) -> None:
        if self.fh is not None:
            with self.lock:
                self.fh.close()


# -- the server ---------------------------------------------------------------------------------------------


@dataclass
class App:
    """Everything a request handler reads: the loaded model, its metadata, counters and the drain state."""

    sig: Signature
    digest: str
    predict: Callable[[list[list[Any]]], Any]
    metrics: Metrics
    log: RequestLog
    max_body: int = MAX_BODY
    draining: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: int = 0
    answered: int = 0
    idle: set[socket.socket] = field(default_factory=set)

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.sig.model,
            "versions": [self.sig.version],
            "platform": self.sig.platform,
            "inputs": [t.as_dict() for t in self.sig.inputs],
            "outputs": [t.as_dict() for t in self.sig.outputs],
            "parameters": {"digest": self.digest, "loader": self.sig.loader},
        }

    def server_doc(self) -> dict[str, Any]:
        return {"name": "mlgit-serve", "version": "1", "extensions": []}


def _route(app: App, path: str) -> tuple[str, bool]:
    """(endpoint name, whether the model named in the path is ours); 'unknown' when nothing matches."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if parts in (["v2"], ["v2", "health", "live"], ["v2", "health", "ready"], ["metrics"]):
        return "/".join(parts[1:]) or ("server" if parts == ["v2"] else "metrics"), True
    if len(parts) < 3 or parts[:2] != ["v2", "models"]:
        return "unknown", True
    ours = parts[2] == app.sig.model
    rest = parts[3:]
    if rest[:1] == ["versions"]:
        if len(rest) < 2:
            return "unknown", True
        ours = ours and rest[1] in (app.sig.version, app.sig.version.removeprefix("v"))
        rest = rest[2:]
    if not rest:
        return "model", ours
    if rest in (["ready"], ["infer"]):
        return rest[0], ours
    return "unknown", True


class Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, so a client reuses it for many requests."""

    protocol_version = "HTTP/1.1"
    # The base class answers a request line it cannot parse as HTTP/0.9, without a status line.
    default_request_version = "HTTP/1.0"
    server_version = "mlgit-serve/1"
    app: App

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without NODELAY, Nagle plus delayed ACKs add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Access lines would cost a write per request; the JSONL log and /metrics say what happened."""

    def handle_one_request(self) -> None:
        app = self.app
        with app.lock:
            if app.draining:
                self.close_connection = True
                return
            app.idle.add(self.connection)
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            self.raw_requestline = b""
        with app.lock:
            app.idle.discard(self.connection)
            if not self.raw_requestline:
                self.close_connection = True
                return
            app.accepted += 1
        try:
            self._one()
        finally:
            with app.lock:
                app.answered += 1
                if app.draining:
                    self.close_connection = True

    def _one(self) -> None:
        # What parse_request fills in; an error answered before it runs needs them too.
        self.command, self.requestline, self.request_version = "", "", self.default_request_version
        if len(self.raw_requestline) > 65536:
            self.close_connection = True
            self._error(414, "request line too long")
            return
        if not self.parse_request():
            return
        started = time.perf_counter()
        endpoint, ours = _route(self.app, self.path)
        status = self._dispatch(endpoint, ours)
        self.app.metrics.observe(endpoint, status, time.perf_counter() - started)

    def _dispatch(self, endpoint: str, ours: bool) -> int:
        app = self.app
        if endpoint == "unknown" or not ours:
            what = "no such endpoint" if endpoint == "unknown" else f"unknown model or version: {self.path}"
            return self._error(404, what)
        if endpoint == "infer":
            if self.command != "POST":
                return self._error(405, "infer takes POST")
            return self._infer()
        if self.command not in ("GET", "HEAD"):
            return self._error(405, f"{endpoint} takes GET")
        if endpoint == "metrics":
            return self._send(200, app.metrics.text().encode(), "text/plain; version=0.0.4")
        if endpoint in ("health/live", "health/ready", "ready"):
            return self._json(200, {"live": True} if endpoint == "health/live" else {"ready": True})
        return self._json(200, app.metadata() if endpoint == "model" else app.server_doc())

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            raise BadRequest("chunked bodies are not supported: send Content-Length", 411)
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            raise BadRequest("a Content-Length header is required", 411)
        if int(length) > self.app.max_body:
            raise BadRequest(f"the body is over {self.app.max_body} bytes", 413)
        body = self.rfile.read(int(length))
        if len(body) != int(length):
            raise BadRequest("the body is shorter than Content-Length")
        return body

    def _infer(self) -> int:
        app = self.app
        started = time.perf_counter()
        rid: str | None = None
        doc: Any = None
        try:
            body = self._body()
            try:
                doc = json.loads(body)
            except (ValueError, RecursionError) as exc:
                raise BadRequest(f"the body is not valid JSON: {exc}") from None
            rows, rid = rows_from(doc, app.sig)
            try:
                out = app.predict(rows)
            except (ValueError, TypeError) as exc:
                raise BadRequest(f"the model refused the input: {exc}", 422) from None
        except BadRequest as exc:
            if exc.status in (411, 413):
                self.close_connection = True  # the unread body would be parsed as the next request
            self._log(rid, doc, None, exc.status, started, str(exc))
            return self._error(exc.status, str(exc))
        rid = rid or str(uuid.uuid4())
        outputs = outputs_doc(out, app.sig)
        reply = {"model_name": app.sig.model, "model_version": app.sig.version, "id": rid, "outputs": outputs}
        self._log(rid, doc, outputs, 200, started, None)
        return self._json(200, reply)

    def _log(self, rid: str | None, doc: Any, outputs: Any, status: int, started: float, error: str | None) -> None:
        app = self.app
        if not app.log.sampled():
            return
        inputs = doc.get("inputs") if isinstance(doc, dict) else None
        named = (
            {t.get("name", "?"): t.get("data") for t in inputs if isinstance(t, dict)}
            if isinstance(inputs, list)
            else None
        )
        app.log.write(
            {
                "schema": "mlgit.request/1",
                "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z",
                "id": rid or str(uuid.uuid4()),
                "model": app.sig.model,
                "version": app.sig.version,
                "digest": app.digest,
                "inputs": named,
                "outputs": {o["name"]: o["data"] for o in outputs} if outputs else None,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
                "status": status,
                "error": error,
            }
        )

    def _json(self, status: int, doc: dict[str, Any]) -> int:
        return self._send(status, json.dumps(doc, separators=(",", ":")).encode(), "application/json")

    def _error(self, status: int, message: str) -> int:
        return self._json(status, {"error": message})

    def _send(self, status: int, body: bytes, ctype: str) -> int:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection or self.app.draining:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's malformed-request answers, as OIP error bodies instead of HTML."""
        self.close_connection = True
        # The base class says 505 for an unknown HTTP version: a client's mistake, so a 4xx like the others.
        self._error(400 if code >= 500 else code, message or "bad request")


class Server(ThreadingHTTPServer):
    """A thread per connection; handler threads are joined on close, so a drain waits for them."""

    daemon_threads = False
    block_on_close = True
    request_queue_size = 256


def drain(server: Server, app: App) -> None:
    """Stop accepting, wake idle keep-alive connections, and let requests already read finish."""
    with app.lock:
        app.draining = True
        for conn in app.idle:
            try:
                conn.shutdown(socket.SHUT_RD)
            except OSError:
                pass
    server.shutdown()


def build_app(bundle: Path, digest: str | None, log_dir: Path | None, log_sample: float) -> App:
    """Load the model once and set up what requests share."""
    sig = Signature.read(bundle)
    digest = digest or read_digest(bundle)
    labels = f'model="{sig.model}",version="{sig.version}",digest="{digest}"'
    return App(sig, digest, load_model(bundle, sig), Metrics(labels), RequestLog(log_dir, log_sample))


def read_digest(bundle: Path) -> str:
    """The bundle's digest: recorded beside it (`NAME.tar.gz.sha256`), or inside it once installed with pip
    (`bundle.sha256`, which the build backend copies from beside the folder), else hashed from the archive."""
    for recorded in (bundle.with_name(bundle.name + ".tar.gz.sha256"), bundle / "bundle.sha256"):
        if recorded.is_file():
            return "sha256:" + recorded.read_text(encoding="utf-8").split()[0]
    archive = bundle.with_name(bundle.name + ".tar.gz")
    if archive.is_file():
        return "sha256:" + hashlib.sha256(archive.read_bytes()).hexdigest()
    return "unknown"


def emit(event: str, **data: Any) -> None:
    """One JSON line on stdout: what a supervisor (and `mlgit check package`) synchronises on."""
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def serve(bundle: Path, host: str, port: int, workers: int, app: App) -> int:
    """Serve until SIGTERM or SIGINT, then drain; workers > 1 pre-fork processes sharing the socket."""
    server = Server((host, port), type("BoundHandler", (Handler,), {"app": app}))
    children: list[int] = []
    for _ in range(max(workers, 1) - 1):
        pid = os.fork()
        if pid == 0:
            children = []
            app.log = RequestLog(app.log.folder, app.log.rate)  # a file of its own per process
            break
        children.append(pid)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        if not stop.is_set():
            stop.set()
            for child in children:
                os.kill(child, signum)
            threading.Thread(target=drain, args=(server, app), daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if children or workers <= 1:
        emit(
            "ready",
            url=f"http://{host}:{server.server_address[1]}",
            pid=os.getpid(),
            model=app.sig.model,
            version=app.sig.version,
            digest=app.digest,
            workers=max(workers, 1),
        )
    server.serve_forever(poll_interval=0.05)
    server.server_close()
    for child in children:
        os.waitpid(child, 0)
    app.log.close()
    emit("stopped", pid=os.getpid(), accepted=app.accepted, answered=app.answered)
    return 0


# -- batch prediction ---------------------------------------------------------------------------------------


def read_batch(path: Path, sig: Signature) -> list[list[Any]]:
    """Rows of a CSV (with a header), JSONL (one object per line) or Parquet (needs pyarrow) file."""
    names = [t.name for t in sig.inputs]
    numeric = {t.name for t in sig.inputs if t.datatype in _NUMERIC}
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq  # only a Parquet batch needs it

        table = pq.read_table(path, columns=names).to_pydict()
        return [list(r) for r in zip(*(table[n] for n in names), strict=True)]
    if suffix in (".jsonl", ".ndjson"):
        with path.open(encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
        return [[r.get(n) for n in names] for r in records]
    import csv

    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        return [[float(r[n]) if n in numeric and r[n] != "" else (r[n] or None) for n in names] for r in reader]


def predict_file(bundle: Path, path: Path) -> int:
    """Predict a batch file; one JSON line per row on stdout."""
    sig = Signature.read(bundle)
    rows = read_batch(path, sig)
    out = load_model(bundle, sig)(rows)
    name = sig.outputs[0].name if sig.outputs else "predict"
    for value in out.tolist():
        sys.stdout.write(json.dumps({name: value}) + "\n")
    return 0


def main(argv: Sequence[str] | None = None, bundle: Path | None = None) -> int:
    """`python BUNDLE serve ...` / `python BUNDLE predict FILE`; installed (`pip install BUNDLE`): `python -m MODULE`."""
    here = bundle or Path(__file__).resolve().parent
    prog = f"python -m {__package__}" if bundle is None and __package__ else f"python {here.name}"
    parser = argparse.ArgumentParser(prog=prog, description="serve or run the packaged model")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="Open Inference Protocol v2 HTTP server")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8080)
    s.add_argument("--workers", type=int, default=1)
    s.add_argument("--log-dir", type=Path)
    s.add_argument("--log-sample", type=float, default=1.0)
    s.add_argument("--digest", help="the bundle's sha256 (default: read beside the bundle)")
    s.add_argument("--max-body-bytes", type=int, default=MAX_BODY)
    p = sub.add_parser("predict", help="predict a CSV, JSONL or Parquet file")
    p.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "predict":
        return predict_file(here, args.file)
    if not 0.0 <= args.log_sample <= 1.0:
        parser.error("--log-sample is a rate between 0 and 1")
    app = build_app(here, args.digest, args.log_dir, args.log_sample)
    app.max_body = args.max_body_bytes
    return serve(here, args.host, args.port, args.workers, app)


if __name__ == "__main__":
    sys.exit(main())
