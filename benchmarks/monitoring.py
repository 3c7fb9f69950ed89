"""Drift of 1M logged rows x 30 columns: `mlgit monitor` against the release's committed profile, side by side
with Evidently's data-drift report on the same data, in one run.

Run: python benchmarks/monitoring.py [--rows 1000000] [--reference-rows 100000] [--runs 1]
     [--evidently PYTHON]   (a Python with `evidently` installed; default: ~/.cache/mlgit/bench-monitoring/evidently)

Data (deterministic, seed 7): a training table of --reference-rows rows and 30 float columns (normal, each
with its own mean and spread), released as v0.1.0 of a small repository (git, DVC, `mlgit schema infer`,
`mlgit promote`), and a Parquet log of --rows rows of the same columns, 5 of them shifted by half a standard
deviation. mlgit reads the log and the profile committed in the release (the training CSV is deleted from the
work tree before it runs: no raw reference data is read); Evidently reads the log and the raw training CSV.

Each measurement is one whole process (interpreter start, imports, reading, computing, verdict): wall time and
peak RSS from wait4, medians over --runs. Both must flag exactly the 5 shifted columns.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

COLUMNS = [f"f{i:02d}" for i in range(30)]
SHIFTED = COLUMNS[:5]
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "NO_COLOR": "1",
    "DVC_NO_ANALYTICS": "1",
}
CONFIG = """\
version: 1
datasets:
  train:
    path: data/train.csv
    format: csv
models:
  bench:
    path: model.txt
    metrics: [metrics.json]
    datasets: [train]
ci:
  default_branch: main
  forge: none
"""
EVIDENTLY = """
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

reference = pd.read_csv(sys.argv[1])
current = pd.read_parquet(sys.argv[2])[list(reference.columns)]
snapshot = Report([DataDriftPreset()]).run(reference_data=reference, current_data=current)
drifted = []
for metric in snapshot.dict()["metrics"]:
    name = str(metric.get("metric_name", ""))
    if name.startswith("ValueDrift(column="):
        column = name.split("column=", 1)[1].split(",", 1)[0].rstrip(")")
        method, threshold = str(metric["config"].get("method", "")), float(metric["config"]["threshold"])
        value = float(metric["value"])
        if (value < threshold) if "p_value" in method else (value >= threshold):
            drifted.append(column)
print(json.dumps({"drifted": sorted(drifted)}))
"""


def _params(seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(rng.uniform(-50, 50), rng.uniform(0.5, 20)) for _ in COLUMNS]


def make_data(folder: Path, rows: int, reference_rows: int) -> tuple[Path, Path]:
    """The training CSV and the shifted Parquet log (cached by size)."""
    import numpy as np
    import polars as pl

    train, log = folder / f"train-{reference_rows}.csv", folder / f"log-{rows}.parquet"
    if train.exists() and log.exists():
        return train, log
    rng = np.random.default_rng(7)
    params = _params(7)
    ref = {c: rng.normal(m, s, reference_rows) for c, (m, s) in zip(COLUMNS, params, strict=True)}
    pl.DataFrame(ref).write_csv(train)
    cur = {
        c: rng.normal(m + (0.5 * s if c in SHIFTED else 0.0), s, rows)
        for c, (m, s) in zip(COLUMNS, params, strict=True)
    }
    frame = pl.DataFrame(cur).with_columns(
        pl.lit("v0.1.0").alias("version"),
        pl.lit(1.0).alias("latency_ms"),
        pl.lit(200).alias("status"),
    )
    frame.write_parquet(log)
    return train, log


def make_repo(folder: Path, train: Path) -> Path:
    """A repository whose release v0.1.0 carries the training profile; the training CSV then deleted."""
    repo = folder / "repo"
    if repo.exists():
        shutil.rmtree(repo)
    (repo / "data").mkdir(parents=True)
    shutil.copyfile(train, repo / "data/train.csv")
    (repo / "mlgit.yaml").write_text(CONFIG)
    (repo / "metrics.json").write_text('{"accuracy": 0.9}\n')
    (repo / "model.txt").write_text("a model\n")
    bin_dir = Path(sys.executable).parent
    for args in (
        ["git", "init", "-q", "-b", "main"],
        [str(bin_dir / "dvc"), "init", "-q"],
        [str(bin_dir / "dvc"), "add", "-q", "data/train.csv"],
        [sys.executable, "-m", "mlgit", "schema", "infer"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "release"],
        [sys.executable, "-m", "mlgit", "promote", "--allow-dirty"],
    ):
        subprocess.run(args, cwd=repo, env=ENV, check=True, capture_output=True)
    (repo / "data/train.csv").unlink()  # mlgit must not need the raw training data
    return repo


def _rusage_run(args: list[str], cwd: Path) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read().decode()
    err = proc.stderr.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(args[:4])} failed ({code}):\n{err[-3000:]}")
    return wall, usage.ru_maxrss / 1024, out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--reference-rows", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--data-dir", type=Path, default=Path.home() / ".cache" / "mlgit-bench-monitoring")
    p.add_argument("--only-mlgit", action="store_true", help="skip Evidently (it takes minutes at 1M rows)")
    p.add_argument("--evidently", default=str(Path.home() / ".cache/mlgit/bench-monitoring/evidently/bin/python"))
    a = p.parse_args()
    a.data_dir.mkdir(parents=True, exist_ok=True)
    train, log = make_data(a.data_dir, a.rows, a.reference_rows)
    repo = make_repo(a.data_dir, train)
    script = a.data_dir / "evidently_drift.py"
    script.write_text(textwrap.dedent(EVIDENTLY))
    has_evidently = (
        not a.only_mlgit
        and Path(a.evidently).exists()
        and subprocess.run([a.evidently, "-c", "import evidently"], capture_output=True, check=False).returncode == 0
    )
    results: dict[str, list[tuple[float, float]]] = {"mlgit": [], "evidently": []}
    verdicts: dict[str, list[str]] = {}
    for _ in range(a.runs):
        with tempfile.TemporaryDirectory() as store:
            cmd = [sys.executable, "-m", "mlgit", "monitor", "--logs", str(log), "--store", store, "--json"]
            wall, rss, out = _rusage_run(cmd, repo)
        results["mlgit"].append((wall, rss))
        doc = json.loads(out)
        verdicts["mlgit"] = sorted(f["column"] for f in doc["findings"] if f["code"] == "monitor.input-drift")
        if has_evidently:
            wall, rss, out = _rusage_run([a.evidently, str(script), str(train), str(log)], a.data_dir)
            results["evidently"].append((wall, rss))
            verdicts["evidently"] = json.loads(out.strip().splitlines()[-1])["drifted"]
    print(
        f"{a.rows:,} logged rows x {len(COLUMNS)} columns against {a.reference_rows:,} training rows "
        f"({len(SHIFTED)} columns shifted by 0.5 sd); medians of {a.runs} whole processes"
    )
    print(f"{'tool':<12} {'wall s':>8} {'peak RSS MB':>12}  drifted columns found")
    for tool, runs in results.items():
        if not runs:
            print(f"{tool:<12} {'skipped (not installed: see --evidently)':>8}")
            continue
        wall = statistics.median(r[0] for r in runs)
        rss = statistics.median(r[1] for r in runs)
        found = verdicts.get(tool, [])
        ok = "exactly the shifted ones" if found == SHIFTED else f"{found}"
        print(f"{tool:<12} {wall:>8.2f} {rss:>12.0f}  {ok}")
    if results["mlgit"] and results["evidently"]:
        ratio = statistics.median(r[0] for r in results["evidently"]) / statistics.median(
            r[0] for r in results["mlgit"]
        )
        print(f"mlgit is {ratio:.1f}x faster; it read no raw training data (the CSV was deleted after the release)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
