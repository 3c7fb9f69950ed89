"""Serving the example model: `mlgit serve` (a bundle) vs MLServer vs `mlflow models serve`, side by side.

Run: python benchmarks/serving.py [--runs 3] [--requests 400] [--cache-dir ~/.cache/mlgit/bench-serving]

What runs: the example repository (example_repo/) is built, released and packaged by mlgit (`mlgit package`),
so every server gets the same fitted scikit-learn pipeline:

- mlgit: the bundle installed offline into a fresh venv from its own wheelhouse, served by
  `python -I BUNDLE serve` (the runtime `mlgit serve` runs), OIP v2 `POST /v2/models/{m}/infer`;
- MLServer (`mlserver` + `mlserver-sklearn`, in a venv of its own): the same pipeline saved with joblib,
  `mlserver start`, OIP v2, `outputs: [{"name": "predict_proba"}]`; `parallel_workers: 0` (see below),
  default settings otherwise;
- MLflow (`mlflow`, in a venv of its own): the same pipeline saved with `mlflow.sklearn.save_model(...,
  pyfunc_predict_fn="predict_proba")`, `mlflow models serve --env-manager local`, `POST /invocations`.

Each peer's venv is created under --cache-dir and filled from the package index with `pip install` the first
time (scikit-learn pinned to the version mlgit's environment has, so all three load the same model).

Measured per server, servers interleaved within each of --runs rounds (medians over rounds):
- spawn-to-ready: from starting the process to the first 200 of its readiness endpoint (polled every 5 ms,
  the same way for all three: the model's /v2/models/{m}/ready for the OIP servers, /ping for MLflow);
- single-row latency p50/p99 at concurrency 1 and 8, and requests/s at concurrency 8: one client process
  (this one), keep-alive HTTP/1.1 connections (one per concurrent client thread), the same 143 test rows
  cycled, --requests requests per concurrency level after 20 warm-up requests; every answer must be a 200
  holding two probabilities per row, or the run stops;
- peak RSS: the sum of VmHWM over the server's process tree (MLServer and MLflow start worker processes),
  read after the load, before stopping;
- installed size: what each needs on disk: the bundle folder (model, runtime, wheelhouse) and the venv
  installed from it, against each peer's venv.

Loopback only; a 2-core machine is shared with other jobs, so treat the figures as ±20 %.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
MODEL = "cancer-classifier"
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "NO_COLOR": "1",
    "DVC_NO_ANALYTICS": "1",
}
WARMUP = 20


def sh(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    res = subprocess.run([str(a) for a in args], cwd=cwd, env=env or ENV, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(
            f"failed ({res.returncode}): {' '.join(map(str, args))}\n{res.stdout[-2000:]}{res.stderr[-2000:]}"
        )
    return res.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# -- the model, packaged by mlgit, and the peers' copies of it ---------------------------------------------------


def build_bundle(work: Path) -> tuple[Path, list[list[float]], list[str]]:
    """The example released and packaged; the bundle folder, the test rows (features only) and their names."""
    repo = work / "repo"
    shutil.copytree(HERE / "example_repo", repo, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**ENV, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{ENV['PATH']}"}
    env.setdefault("MLGIT_WHEEL_CACHE", str(work.parent / "wheels"))
    mlgit = (sys.executable, "-m", "mlgit")
    sh("git", "init", "-q", "-b", "main", cwd=repo, env=env)
    sh(Path(sys.executable).parent / "dvc", "init", "-q", cwd=repo, env=env)
    sh(Path(sys.executable).parent / "dvc", "repro", "-q", cwd=repo, env=env)
    sh(*mlgit, "init", cwd=repo, env=env)
    lines = (repo / "data/prepared/test.csv").read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "target"]
    rows = [[float(line.split(",")[i]) for i in keep] for line in lines[1:]]
    (repo / "golden").mkdir()
    (repo / "golden/input.csv").write_text(
        "\n".join(",".join(line.split(",")[i] for i in keep) for line in lines[:6]) + "\n"
    )
    cfg = repo / "mlgit.yaml"
    golden = "    golden: {input: golden/input.csv, key: model, method: predict_proba}\n"
    cfg.write_text(
        cfg.read_text().replace("    path: models/model.skops\n", "    path: models/model.skops\n" + golden, 1)
    )
    sh("git", "add", "-A", cwd=repo, env=env)
    sh("git", "commit", "-q", "-m", "bench", cwd=repo, env=env)
    sh(*mlgit, "promote", cwd=repo, env=env)
    sh(*mlgit, "package", MODEL, "--output", work / "dist", cwd=repo, env=env)
    return work / "dist" / f"{MODEL}-v0.1.0", rows, [header[i] for i in keep]


def bundle_venv(bundle: Path, where: Path) -> Path:
    """A fresh venv with only the bundle's locked requirements, installed offline from its wheelhouse."""
    sh(sys.executable, "-m", "venv", "--without-pip", where)
    sh(
        sys.executable,
        "-m",
        "pip",
        "--isolated",
        "--python",
        where / "bin/python",
        "install",
        "-q",
        "--no-index",
        "--find-links",
        bundle / "wheelhouse",
        "--require-hashes",
        "-r",
        bundle / "requirements.txt",
    )
    return where / "bin/python"


def peer_venv(cache: Path, name: str, packages: list[str]) -> Path:
    venv = cache / name
    stamp = venv / ".bench-installed"
    if not stamp.is_file():
        shutil.rmtree(venv, ignore_errors=True)
        sh(sys.executable, "-m", "venv", venv)
        sh(venv / "bin/python", "-m", "pip", "install", "-q", *packages)
        stamp.write_text(" ".join(packages) + "\n")
    return venv


def export_for_peers(bundle: Path, work: Path, mlflow_venv: Path) -> tuple[Path, Path]:
    """The bundle's pipeline as model.joblib (MLServer) and as an MLflow model folder."""
    import joblib
    import skops.io as sio

    model_file = bundle / "model/model.skops"
    pipeline = sio.load(model_file, trusted=sio.get_untrusted_types(file=model_file) or None)["model"]
    mlserver_dir = work / "mlserver-model"
    mlserver_dir.mkdir()
    joblib.dump(pipeline, mlserver_dir / "model.joblib")
    mlflow_dir = work / "mlflow-model"
    script = (
        "import joblib, mlflow.sklearn, sys\n"
        "mlflow.sklearn.save_model(joblib.load(sys.argv[1]), sys.argv[2], pyfunc_predict_fn='predict_proba')\n"
    )
    sh(mlflow_venv / "bin/python", "-c", script, mlserver_dir / "model.joblib", mlflow_dir)
    return mlserver_dir, mlflow_dir


# -- servers ---------------------------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    start: Callable[[int, Path], list[str]]  # (port, scratch) -> argv
    ready_path: str
    infer_path: str
    body: Callable[[list[float]], bytes]
    probabilities: Callable[[object], list[float]]
    env: dict[str, str] = field(default_factory=dict)


def oip_body(row: list[float]) -> bytes:
    """One row as one [1, 30] FP64 tensor, asking for the probabilities: the same body for both OIP servers."""
    tensor = {"name": "input-0", "datatype": "FP64", "shape": [1, len(row)], "data": row}
    return json.dumps({"inputs": [tensor], "outputs": [{"name": "predict_proba"}]}).encode()


def oip_probabilities(doc: object) -> list[float]:
    assert isinstance(doc, dict)
    return [float(x) for x in doc["outputs"][0]["data"]]


def mlflow_body(row: list[float]) -> bytes:
    return json.dumps({"inputs": [row]}).encode()


def mlflow_probabilities(doc: object) -> list[float]:
    assert isinstance(doc, dict)
    preds = doc["predictions"]
    return [float(x) for x in (preds[0] if isinstance(preds[0], list) else preds)]


def servers(
    bundle: Path, python: Path, mlserver_venv: Path, mlserver_dir: Path, mlflow_venv: Path, mlflow_dir: Path
) -> list[Server]:
    def mlgit_args(port: int, _scratch: Path) -> list[str]:
        return [str(python), "-I", str(bundle), "serve", "--host", "127.0.0.1", "--port", str(port)]

    def mlserver_args(port: int, scratch: Path) -> list[str]:
        folder = scratch / "mlserver"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(mlserver_dir, folder)
        # parallel_workers 0: MLServer 1.7.1's inference worker processes die at start-up here ("There is no
        # current event loop in thread 'MainThread'"), so the model runs in the server process, as mlgit's does.
        settings = {
            "host": "127.0.0.1",
            "http_port": port,
            "grpc_port": free_port(),
            "metrics_port": free_port(),
            "parallel_workers": 0,
        }
        (folder / "settings.json").write_text(json.dumps(settings))
        model = {
            "name": MODEL,
            "implementation": "mlserver_sklearn.SKLearnModel",
            "parameters": {"uri": "./model.joblib", "version": "v0.1.0"},
        }
        (folder / "model-settings.json").write_text(json.dumps(model))
        return [str(mlserver_venv / "bin/mlserver"), "start", str(folder)]

    def mlflow_args(port: int, _scratch: Path) -> list[str]:
        return [
            str(mlflow_venv / "bin/mlflow"),
            "models",
            "serve",
            "-m",
            str(mlflow_dir),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ]

    path = f"/v2/models/{MODEL}/infer"
    mlflow_env = {
        "PATH": f"{mlflow_venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "MLFLOW_TRACKING_URI": "file:///dev/null",
    }
    return [
        Server("mlgit", mlgit_args, f"/v2/models/{MODEL}/ready", path, oip_body, oip_probabilities),
        Server(
            "MLServer",
            mlserver_args,
            f"/v2/models/{MODEL}/ready",
            path,
            oip_body,
            oip_probabilities,
            {"PATH": f"{mlserver_venv / 'bin'}{os.pathsep}{os.environ['PATH']}"},
        ),
        Server("MLflow", mlflow_args, "/ping", "/invocations", mlflow_body, mlflow_probabilities, mlflow_env),
    ]


def rss_tree_mb(pid: int) -> float:
    """The sum of VmHWM (peak RSS) over a process and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def wait_ready(port: int, path: str, proc: subprocess.Popen[bytes], started: float) -> float:
    while time.perf_counter() - started < 300:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode} before it was ready")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.005)
    raise SystemExit("the server was not ready within 300 s")


def load(server: Server, port: int, rows: list[list[float]], concurrency: int, n: int) -> tuple[list[float], float]:
    """n single-row requests over `concurrency` keep-alive connections; latencies (s) and the wall time."""
    bodies = [server.body(r) for r in rows]
    latencies: list[float] = []
    lock = threading.Lock()
    counter = iter(range(n))
    failures: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for i in counter:
            t0 = time.perf_counter()
            conn.request(
                "POST", server.infer_path, body=bodies[i % len(bodies)], headers={"Content-Type": "application/json"}
            )
            res = conn.getresponse()
            raw = res.read()
            mine.append(time.perf_counter() - t0)
            probs = server.probabilities(json.loads(raw)) if res.status == 200 else []
            if len(probs) != 2 or abs(sum(probs) - 1) > 1e-6:
                failures.append(f"HTTP {res.status}: {raw[:300]!r}")
                break
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if failures:
        raise SystemExit(f"{server.name}: a request failed: {failures[0]}")
    return latencies, wall


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(server: Server, rows: list[list[float]], requests: int, scratch: Path) -> dict[str, float]:
    port = free_port()
    args = server.start(port, scratch)
    started = time.perf_counter()
    with (scratch / f"{server.name}.log").open("ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=log, env={**os.environ, **server.env}, start_new_session=True)
    try:
        ready = wait_ready(port, server.ready_path, proc, started)
        load(server, port, rows, 1, WARMUP)
        one, _ = load(server, port, rows, 1, requests)
        eight, wall = load(server, port, rows, 8, requests)
        rss = rss_tree_mb(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return {
        "ready_s": ready,
        "p50_c1_ms": pct(one, 0.5) * 1000,
        "p99_c1_ms": pct(one, 0.99) * 1000,
        "p50_c8_ms": pct(eight, 0.5) * 1000,
        "p99_c8_ms": pct(eight, 0.99) * 1000,
        "rps_c8": requests / wall,
        "rss_mb": rss,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=400, help="requests per concurrency level and run")
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache/mlgit/bench-serving")
    args = parser.parse_args()
    import sklearn

    cache = args.cache_dir.expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    pin = f"scikit-learn=={sklearn.__version__}"
    mlserver_venv = peer_venv(cache, "mlserver", ["mlserver", "mlserver-sklearn", pin])
    mlflow_venv = peer_venv(cache, "mlflow", ["mlflow", pin])
    with tempfile.TemporaryDirectory(prefix="mlgit-bench-serving-") as tmp:
        work = Path(tmp)
        bundle, rows, _names = build_bundle(work)
        python = bundle_venv(bundle, work / "bundle-venv")
        mlserver_dir, mlflow_dir = export_for_peers(bundle, work, mlflow_venv)
        chosen = servers(bundle, python, mlserver_venv, mlserver_dir, mlflow_venv, mlflow_dir)
        results: dict[str, list[dict[str, float]]] = {s.name: [] for s in chosen}
        for run in range(args.runs):
            for server in chosen:  # interleaved: every round measures all three
                results[server.name].append(measure(server, rows, args.requests, work))
                print(f"run {run + 1}/{args.runs} {server.name}: {results[server.name][-1]}", file=sys.stderr)
        sizes = {
            "mlgit": (tree_size(bundle), tree_size(work / "bundle-venv")),
            "MLServer": (0, tree_size(mlserver_venv)),
            "MLflow": (0, tree_size(mlflow_venv)),
        }
        report(results, sizes, args)
    return 0


def report(
    results: dict[str, list[dict[str, float]]], sizes: dict[str, tuple[int, int]], args: argparse.Namespace
) -> None:
    import platform

    med = {name: {k: statistics.median(r[k] for r in runs) for k in runs[0]} for name, runs in results.items()}
    versions = {
        "MLServer": sh(
            Path(args.cache_dir).expanduser() / "mlserver/bin/python",
            "-c",
            "import importlib.metadata as m; print(m.version('mlserver'))",
        ).strip(),
        "MLflow": sh(
            Path(args.cache_dir).expanduser() / "mlflow/bin/python",
            "-c",
            "import importlib.metadata as m; print(m.version('mlflow'))",
        ).strip(),
    }
    print(
        f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"MLServer {versions['MLServer']}, MLflow {versions['MLflow']}; medians of {args.runs} interleaved runs, "
        f"{args.requests} requests per concurrency level\n"
    )
    print("| server | spawn-to-ready | p50 / p99 c=1 | p50 / p99 c=8 | req/s c=8 | peak RSS | installed |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, m in med.items():
        bundle, venv = sizes[name]
        installed = (
            f"{bundle / 1e6:.0f} MB bundle + {venv / 1e6:.0f} MB venv" if bundle else f"{venv / 1e6:.0f} MB venv"
        )
        print(
            f"| {name} | {m['ready_s']:.2f} s | {m['p50_c1_ms']:.2f} / {m['p99_c1_ms']:.2f} ms | "
            f"{m['p50_c8_ms']:.2f} / {m['p99_c8_ms']:.2f} ms | {m['rps_c8']:.0f} | {m['rss_mb']:.0f} MB | {installed} |"
        )
    peers = [n for n in med if n != "mlgit"]
    best_ready = min(med[n]["ready_s"] for n in peers)
    best_rps = max(med[n]["rps_c8"] for n in peers)
    smallest = min(sizes[n][1] for n in peers)
    mine = med["mlgit"]
    print(
        f"\ntargets: cold start {mine['ready_s'] / best_ready:.2f}x the better peer (target <= 0.5x); "
        f"throughput {mine['rps_c8'] / best_rps:.2f}x (target >= 2x); p50 c=1 {mine['p50_c1_ms']:.2f} ms "
        f"(target <= 2 ms); bundle {sizes['mlgit'][0] / smallest:.2f}x the smaller peer venv (target <= 0.3x)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
