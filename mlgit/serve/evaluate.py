"""`mlgit check package`: install a bundle offline into a fresh virtualenv, serve it, and judge what it does.

Every step that fails is a finding with a code and a reason; the evaluation record (`mlgit.evaluation/1`)
is bound to the archive's sha256 and written beside the archive and into the local store.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlgit import __version__
from mlgit.config.settings import Budgets
from mlgit.errors import MlgitError
from mlgit.model.artifact import percentile
from mlgit.package import archive, manifest, store
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity, failed
from mlgit.serve.bundles import BadArchive, Opened
from mlgit.system import process

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 60.0
# An offline install must not see the index, find-links or constraints of the host's pip configuration:
# PIP_CONFIG_FILE=/dev/null skips every config file, --isolated every PIP_* variable.
_PIP_ISOLATION = {"PIP_CONFIG_FILE": os.devnull}


@dataclass
class Evaluation:
    """What one `check package` run found and measured."""

    model: str
    version: str
    digest: str | None
    findings: list[Finding] = field(default_factory=list)
    measured: dict[str, float] = field(default_factory=dict)
    isolation: str = "not installed"
    module: str | None = None  # the installed bundle's module the server ran as (`python -m MODULE`), if any

    def finding(self, code: Code, severity: Severity, message: str, **data: Any) -> None:
        self.findings.append(Finding(code=code, severity=severity, subject=self.model, message=message, data=data))

    def record(self, budgets: Budgets) -> dict[str, Any]:
        from mlgit.results.serialize import plain

        return {
            "schema": "mlgit.evaluation/1",
            "bundle": {"sha256": self.digest, "model": self.model, "version": self.version},
            "passed": not failed(self.findings),
            "isolation": self.isolation,
            "entry": f"python -m {self.module}" if self.module else "python BUNDLE",
            "measured": self.measured,
            "budgets": plain(budgets),
            "findings": plain(self.findings),
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "mlgit": __version__,
        }


def evaluate(bundle: Opened, budgets: Budgets, requests: int) -> Evaluation:
    """Verify, install, serve and measure one bundle."""
    doc = require_manifest(bundle)
    ev = Evaluation(doc["model"], doc["version"], bundle.digest)
    if not _intact(bundle, doc, ev):
        return ev
    with tempfile.TemporaryDirectory(prefix="mlgit-check-package-") as tmp:
        venv = Path(tmp) / "venv"
        python = install(bundle.folder, venv, ev, itself=True)
        if python is not None:
            _serve_and_measure(python, bundle, doc, ev, requests, Path(tmp))
    _judge(ev, budgets)
    return ev


def _intact(bundle: Opened, doc: dict[str, Any], ev: Evaluation) -> bool:
    if bundle.recorded is not None and bundle.digest is not None and bundle.recorded != bundle.digest:
        ev.finding(
            Code.PACKAGE_DIGEST_MISMATCH,
            Severity.ERROR,
            f"the archive's sha256 is {bundle.digest}, but {bundle.recorded} was recorded when it was packaged",
            sha256=bundle.digest,
            recorded=bundle.recorded,
        )
    listed: dict[str, str] = doc["files"]
    present = {
        p.relative_to(bundle.folder).as_posix()
        for p in bundle.folder.rglob("*")
        if p.is_file() and p.name != manifest.NAME
    }
    problems = [f"{rel}: missing" for rel in sorted(set(listed) - present)]
    problems += [f"{rel}: not in the manifest" for rel in sorted(present - set(listed))]
    problems += [
        f"{rel}: sha256 differs from the manifest"
        for rel in sorted(set(listed) & present)
        if archive.sha256_of(bundle.folder / rel) != listed[rel]
    ]
    if problems:
        ev.finding(
            Code.PACKAGE_INTEGRITY,
            Severity.ERROR,
            "the bundle was changed: " + "; ".join(problems[:10]),
            files=problems,
        )
    return not failed(ev.findings)


def network_isolation() -> list[str]:
    """`unshare -n` when this process may create a network namespace (root, usually), else nothing."""
    tool = shutil.which("unshare")
    if tool is None or os.geteuid() != 0:
        return []
    probe = process.run((tool, "-n", "true"), check=False)
    return [tool, "-n"] if probe.returncode == 0 else []


def install(folder: Path, venv: Path, ev: Evaluation, *, itself: bool = False) -> Path | None:
    """A fresh virtualenv with the bundle's locked wheels, installed offline; None (with a finding) on failure.

    With `itself`, the bundle is then installed too (`pip install --no-deps BUNDLE`, through its own build
    backend), so that `python -m MODULE` runs it as a user who installed it would. Deploy venvs leave it out:
    they are shared by every bundle with the same lock, and run a bundle by its folder.
    """
    made = process.run((sys.executable, "-m", "venv", "--without-pip", str(venv)), check=False)
    python = venv / "bin" / "python"
    if made.returncode != 0:
        ev.finding(Code.PACKAGE_INSTALL_FAILED, Severity.ERROR, f"could not create a virtualenv: {made.err.strip()}")
        return None
    jail = network_isolation()
    ev.isolation = "unshare -n + --no-index" if jail else "--no-index only (no network namespace available)"
    pip = [sys.executable, "-m", "pip", "--isolated", "--python", str(python), "install", "--quiet", "--no-index"]
    locked = ["--find-links", str(folder / "wheelhouse"), "--require-hashes", "-r", str(folder / "requirements.txt")]
    res = process.run((*jail, *pip, *locked), env=_PIP_ISOLATION, check=False)
    ev.finding(Code.PACKAGE_OFFLINE, Severity.INFO, f"installed offline: {ev.isolation}", isolation=ev.isolation)
    if _pip_failed(res, ev, "the bundle from its wheelhouse"):
        return None
    module = installable(folder) if itself else None
    if module is not None:
        res = process.run((*jail, *pip, "--no-deps", str(folder)), env=_PIP_ISOLATION, check=False)
        if _pip_failed(res, ev, f"the bundle itself (for python -m {module})"):
            return None
        ev.module = module
    return python


def _pip_failed(res: process.Completed, ev: Evaluation, what: str) -> bool:
    """Record pip's failure (the tail of what it said) as `package.install-failed`; whether it failed."""
    if res.returncode == 0:
        return False
    tail = (res.err.strip() or res.out.strip())[-1500:]
    ev.finding(Code.PACKAGE_INSTALL_FAILED, Severity.ERROR, f"pip could not install {what} (exit {res.returncode}): {tail}")
    return True


def installable(folder: Path) -> str | None:
    """The module `python -m` runs once the bundle is installed; None for a bundle packaged before it had one."""
    if not (folder / "pyproject.toml").is_file():
        return None
    module = json.loads((folder / "signature.json").read_text(encoding="utf-8")).get("module")
    return module if isinstance(module, str) else None


class _Server:
    """A bundle's server process, started from the fresh venv and synchronised on its status lines."""

    def __init__(self, python: Path, bundle: Opened, log: Path, module: str | None) -> None:
        # -I: only the venv's packages, nothing of mlgit's environment through PYTHONPATH or the user site.
        # The installed module when check package installed the bundle itself, else the folder.
        target = ["-m", module] if module else [str(bundle.folder)]
        args = [str(python), "-I", *target, "serve", "--host", "127.0.0.1", "--port", "0"]
        if bundle.digest:
            args += ["--digest", f"sha256:{bundle.digest}"]
        self.log = log
        self.started = time.perf_counter()
        with log.open("wb") as err:
            self.proc = process.spawn(args, stderr=err)
        self.ready: dict[str, Any] | None = None

    def wait_line(self, event: str, timeout: float) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if not sel.select(deadline - time.monotonic()):
                    break
                line = self.proc.stdout.readline()
                if not line:
                    return None
                try:
                    doc = json.loads(line)
                except ValueError:
                    continue
                if isinstance(doc, dict) and doc.get("event") == event:
                    return doc
        return None

    def stderr_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace").strip()[-1500:]

    def peak_rss_mb(self) -> float | None:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return None

    def stop(self) -> tuple[int | None, dict[str, Any] | None]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        stopped = self.wait_line("stopped", STOP_TIMEOUT_S)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        return code, stopped


def _serve_and_measure(python: Path, bundle: Opened, doc: dict[str, Any], ev: Evaluation, n: int, tmp: Path) -> None:
    server = _Server(python, bundle, tmp / "server.stderr", ev.module)
    try:
        ready = server.wait_line("ready", READY_TIMEOUT_S)
        if ready is None:
            code = server.proc.poll()
            why = f"exited with {code}" if code is not None else f"said nothing in {READY_TIMEOUT_S:g} s"
            ev.finding(Code.PACKAGE_START_FAILED, Severity.ERROR, f"the server {why}: {server.stderr_tail()}")
            return
        ev.measured["spawn_to_ready_ms"] = round((time.perf_counter() - server.started) * 1000, 3)
        host, port = str(ready["url"]).removeprefix("http://").rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            _metadata(conn, doc, bundle, ev)
            _golden(conn, bundle.folder, doc, ev)
            _latency(conn, bundle.folder, doc, ev, n)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            ev.finding(Code.PACKAGE_START_FAILED, Severity.ERROR, f"the server stopped answering: {exc}")
        finally:
            conn.close()
        rss = server.peak_rss_mb()
        if rss is not None:
            ev.measured["peak_rss_mb"] = round(rss, 1)
    finally:
        code, stopped = server.stop()
    if code != 0 or stopped is None or stopped.get("accepted") != stopped.get("answered"):
        ev.finding(
            Code.PACKAGE_STOP_FAILED,
            Severity.ERROR,
            f"on SIGTERM the server exited with {code} after {stopped or 'no stopped line'}: {server.stderr_tail()}",
        )


def _call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
    res = conn.getresponse()
    return res.status, json.loads(res.read() or b"null")


def _metadata(conn: http.client.HTTPConnection, doc: dict[str, Any], bundle: Opened, ev: Evaluation) -> None:
    status, meta = _call(conn, "GET", f"/v2/models/{doc['model']}")
    problems = []
    if status != 200 or not isinstance(meta, dict):
        problems.append(f"GET /v2/models/{doc['model']} answered {status}")
    else:
        if meta.get("name") != doc["model"]:
            problems.append(f"name {meta.get('name')!r}, the manifest says {doc['model']!r}")
        if doc["version"] not in (meta.get("versions") or []):
            problems.append(f"versions {meta.get('versions')}, the manifest says {doc['version']}")
        served = (meta.get("parameters") or {}).get("digest")
        if bundle.digest and served != f"sha256:{bundle.digest}":
            problems.append(f"digest {served}, the archive is sha256:{bundle.digest}")
    if problems:
        ev.finding(Code.PACKAGE_METADATA_MISMATCH, Severity.ERROR, "served metadata: " + "; ".join(problems))


def _golden(conn: http.client.HTTPConnection, folder: Path, doc: dict[str, Any], ev: Evaluation) -> None:
    body = (folder / "golden" / "input.json").read_bytes()
    want = json.loads((folder / "golden" / "output.json").read_text())["outputs"]
    started = time.perf_counter()
    status, got = _call(conn, "POST", f"/v2/models/{doc['model']}/infer", body)
    ev.measured["first_request_ms"] = round((time.perf_counter() - started) * 1000, 3)
    outputs = got.get("outputs") if isinstance(got, dict) else None
    why = f"answered {status}: {got}" if status != 200 else _differences(want, outputs)
    if why:
        ev.finding(Code.PACKAGE_GOLDEN_MISMATCH, Severity.ERROR, f"on golden/input.json the server {why}")
    else:
        ev.finding(Code.PACKAGE_GOLDEN_MATCH, Severity.INFO, "the server's outputs equal golden/output.json")


def _differences(want: list[dict[str, Any]], got: Any) -> str | None:
    if not isinstance(got, list) or len(got) != len(want):
        return f"returned {got!r} instead of {len(want)} output(s)"
    for w, g in zip(want, got, strict=True):
        if not isinstance(g, dict):
            return f"returned a malformed output {g!r}"
        if g.get("shape") != w["shape"] or g.get("datatype") != w["datatype"]:
            return (
                f"returned {g.get('datatype')} {g.get('shape')} for {w['name']}, recorded {w['datatype']} {w['shape']}"
            )
        bad = [i for i, (a, b) in enumerate(zip(w["data"], g.get("data") or [], strict=False)) if not _close(a, b)]
        if bad or len(g.get("data") or []) != len(w["data"]):
            i = bad[0] if bad else 0
            return f"returned {w['name']}[{i}] = {(g.get('data') or [None])[i]!r}, recorded {w['data'][i]!r}"
    return None


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-9)
    return bool(a == b)


def _latency(conn: http.client.HTTPConnection, folder: Path, doc: dict[str, Any], ev: Evaluation, n: int) -> None:
    request = json.loads((folder / "golden" / "input.json").read_text())
    for tensor in request["inputs"]:
        tensor["data"], tensor["shape"] = tensor["data"][:1], [1]
    body = json.dumps(request).encode()
    path = f"/v2/models/{doc['model']}/infer"
    times = []
    for _ in range(n):
        started = time.perf_counter()
        status, _doc = _call(conn, "POST", path, body)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise ValueError(f"a single-row request answered {status}")
    times.sort()
    for q in (50, 95, 99):
        ev.measured[f"p{q}_ms"] = round(percentile(times, q), 3)


_LIMITS = (
    ("spawn_to_ready_ms", Code.PACKAGE_START_OVER_BUDGET, "ms"),
    ("first_request_ms", Code.PACKAGE_START_OVER_BUDGET, "ms"),
    ("p50_ms", Code.PACKAGE_LATENCY_OVER_BUDGET, "ms"),
    ("p95_ms", Code.PACKAGE_LATENCY_OVER_BUDGET, "ms"),
    ("p99_ms", Code.PACKAGE_LATENCY_OVER_BUDGET, "ms"),
    ("peak_rss_mb", Code.PACKAGE_MEMORY_OVER_BUDGET, "MB"),
)


def _judge(ev: Evaluation, budgets: Budgets) -> None:
    if ev.measured:
        shown = ", ".join(f"{k.removesuffix('_ms').removesuffix('_mb')} {v:g}" for k, v in ev.measured.items())
        ev.finding(Code.PACKAGE_TIMINGS, Severity.INFO, f"measured: {shown}", **ev.measured)
    for key, code, unit in _LIMITS:
        limit = getattr(budgets, key)
        value = ev.measured.get(key)
        if limit is not None and value is not None and value > limit:
            ev.finding(
                code,
                Severity.ERROR,
                f"{key.removesuffix('_ms').removesuffix('_mb')} is {value:g} {unit}, over the budget of {limit:g} {unit}"
                f" (models.{ev.model}.package.budgets.{key})",
                measured=value,
                budget=limit,
            )


def write_record(root: Path | None, bundle: Opened, ev: Evaluation, budgets: Budgets) -> list[Path]:
    """Write the evaluation beside the archive and, inside a repository, into the local store."""
    doc = ev.record(budgets)
    written = []
    if bundle.archive is not None and not store.is_stored(bundle.archive):
        side = bundle.archive.with_name(bundle.archive.name.removesuffix(".tar.gz") + ".evaluation.json")
        store.write_json(side, doc)
        written.append(side)
    if root is not None and ev.digest is not None:
        path = store.folder(root) / f"{ev.digest}.evaluation.json"
        store.write_json(path, doc)
        written.append(path)
    return written


def require_manifest(bundle: Opened) -> dict[str, Any]:
    """The bundle's manifest; BadArchive (a refusal, not a usage error) when it is missing or invalid."""
    where = bundle.archive or bundle.folder
    if not (bundle.folder / manifest.NAME).is_file():
        raise BadArchive(where, bundle.digest, f"{bundle.folder.name} is not a bundle: it has no {manifest.NAME}")
    try:
        return manifest.read(bundle.folder)
    except MlgitError as exc:
        raise BadArchive(where, bundle.digest, f"the bundle's manifest was changed: {exc.message}") from None


def with_noted_digest(root: Path | None, bundle: Opened, doc: dict[str, Any]) -> Opened:
    """Without a digest recorded beside the archive, the one the git note on the release commit holds."""
    if root is None or bundle.recorded is not None:
        return bundle
    entry = store.digests(root).get(doc["commit"], {}).get(f"{doc['model']}@{doc['version']}")
    if isinstance(entry, dict) and isinstance(entry.get("sha256"), str):
        return replace(bundle, recorded=entry["sha256"])
    return bundle


def smoke(url: str, bundle: Opened, doc: dict[str, Any]) -> Evaluation:
    """What a deploy checks on a started server before it takes traffic: readiness, metadata, golden outputs."""
    ev = Evaluation(doc["model"], doc["version"], bundle.digest)
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        status, _ready = _call(conn, "GET", "/v2/health/ready")
        if status != 200:
            ev.finding(Code.PACKAGE_START_FAILED, Severity.ERROR, f"GET /v2/health/ready answered {status}")
            return ev
        _metadata(conn, doc, bundle, ev)
        _golden(conn, bundle.folder, doc, ev)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        ev.finding(Code.PACKAGE_START_FAILED, Severity.ERROR, f"the server stopped answering: {exc}")
    finally:
        conn.close()
    return ev
