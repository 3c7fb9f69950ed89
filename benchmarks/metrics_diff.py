"""`mlgit metrics diff` vs `dvc metrics diff --json` on the same repository, whole-process wall time.

Run: make bench   (or: python benchmarks/metrics_diff.py [--runs N])
Prints medians side by side, plus `mlgit --help` start-up time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "DVC_NO_ANALYTICS": "1",
}


def sh(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, env=ENV, check=True, capture_output=True)


def build_repo(root: Path) -> Path:
    """A DVC repo with two metrics files and params, a committed baseline on main and a changed work tree."""
    repo = root / "repo"
    repo.mkdir()
    sh("git", "init", "-q", "-b", "main", cwd=repo)
    sh(str(BIN / "dvc"), "init", "-q", cwd=repo)
    (repo / "dvc.yaml").write_text(
        "stages:\n  evaluate:\n    cmd: 'true'\n    params: [train]\n"
        "    metrics:\n      - metrics.json:\n          cache: false\n      - eval/slices.json:\n          cache: false\n"
    )
    (repo / "eval").mkdir()
    metrics = {f"m{i}": 0.5 + i / 100 for i in range(20)}
    slices = {"slices": {f"segment={s}": {"accuracy": 0.8, "f1": 0.7} for s in "abcdefgh"}}
    (repo / "metrics.json").write_text(json.dumps(metrics))
    (repo / "eval" / "slices.json").write_text(json.dumps(slices))
    (repo / "params.yaml").write_text("train:\n  lr: 0.1\n  depth: 6\n  seed: 42\n")
    (repo / "mlgit.yaml").write_text(
        "version: 1\nmodels:\n  model:\n    path: model.pkl\n    metrics: [metrics.json, eval/slices.json]\n"
        "    params: [params.yaml]\nci:\n  default_branch: main\n"
    )
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", "baseline", cwd=repo)
    sh("git", "checkout", "-q", "-b", "feature", cwd=repo)
    (repo / "metrics.json").write_text(json.dumps({k: v + 0.01 for k, v in metrics.items()}))
    (repo / "params.yaml").write_text("train:\n  lr: 0.05\n  depth: 6\n  seed: 42\n")
    return repo


def timed(cmd: list[str], cwd: Path, runs: int) -> float:
    """Median wall time of a whole command, after one warm-up run."""
    subprocess.run(cmd, cwd=cwd, env=ENV, check=True, capture_output=True)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=ENV, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlgit-bench-") as tmp:
        repo = build_repo(Path(tmp))
        mlgit = timed([str(BIN / "mlgit"), "metrics", "diff", "--base", "main", "--json"], repo, args.runs)
        dvc = timed([str(BIN / "dvc"), "metrics", "diff", "main", "--json"], repo, args.runs)
        helptime = timed([str(BIN / "mlgit"), "--help"], repo, args.runs)
    print(f"metrics diff, work tree vs main (2 metrics files, 36 metrics, params), median of {args.runs} runs")
    print(f"  {'tool':<38}{'wall time':>10}")
    print(f"  {'mlgit metrics diff --json':<38}{mlgit:>9.3f}s")
    print(f"  {'dvc metrics diff --json':<38}{dvc:>9.3f}s")
    print(f"  {'speed-up':<38}{dvc / mlgit:>9.1f}x   (target: >= 5x)")
    print(f"  {'mlgit --help':<38}{helptime:>9.3f}s   (target: < 0.25 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
