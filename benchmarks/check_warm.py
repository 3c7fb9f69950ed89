"""`mlgit check` and `mlgit report --format md` on the demo repository: cold, warm and with caches off.

Run: make bench   (or: python benchmarks/check_warm.py [--runs N])

The repository is the demo's first state (example_repo after `dvc repro`, `mlgit init`, `mlgit schema infer`,
a golden input, `trust_pickle: true`, the first release), so the model is loaded and predicts. Per round,
interleaved: each command cold (`.git/mlgit` removed first: every cache empty), warm (run again, nothing
changed) and with `MLGIT_NO_CACHE=1`. Prints medians of wall time and of CPU time (user + system of the
process and its children, which a loaded machine inflates less than wall time), and the load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parent.parent / "example_repo"
MODEL = "cancer-classifier"
ENV = {
    **os.environ,
    "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "DVC_NO_ANALYTICS": "1",
    "NO_COLOR": "1",
}
COMMANDS = {"mlgit check": ["check"], "mlgit report --format md": ["report", "--format", "md"]}


def sh(*args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(args, cwd=cwd, env=env or ENV, check=True, capture_output=True)


def build_repo(root: Path) -> Path:
    """The demo repository after its first release."""
    repo = root / "repo"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    sh("git", "init", "-q", "-b", "main", cwd=repo)
    sh(str(BIN / "dvc"), "init", "-q", cwd=repo)
    sh(str(BIN / "dvc"), "repro", "-q", cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", "pipeline", cwd=repo)
    sh(str(BIN / "mlgit"), "init", cwd=repo)
    sh(str(BIN / "mlgit"), "schema", "infer", cwd=repo)
    lines = (repo / "data/prepared/test.csv").read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "target"]
    (repo / "golden").mkdir()
    rows = [",".join(header[i] for i in keep)] + [",".join(r.split(",")[i] for i in keep) for r in lines[1:6]]
    (repo / "golden/input.csv").write_text("\n".join(rows) + "\n")
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][MODEL].update(
        trust_pickle=True, golden={"input": "golden/input.csv", "key": "model", "method": "predict_proba"}
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", "mlgit", cwd=repo)
    sh(str(BIN / "mlgit"), "promote", cwd=repo)
    return repo


def run(args: list[str], repo: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one whole command (CPU: user + system, children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run([str(BIN / "mlgit"), *args], cwd=repo, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"mlgit {' '.join(args)} exited {res.returncode}:\n{res.stdout.decode()}{res.stderr.decode()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(repo: Path, runs: int) -> dict[tuple[str, str], list[tuple[float, float]]]:
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    off = {**ENV, "MLGIT_NO_CACHE": "1"}
    for _ in range(runs):
        for name, args in COMMANDS.items():
            shutil.rmtree(repo / ".git" / "mlgit", ignore_errors=True)
            samples.setdefault((name, "cold"), []).append(run(args, repo, ENV))
            samples.setdefault((name, "warm"), []).append(run(args, repo, ENV))
            samples.setdefault((name, "MLGIT_NO_CACHE=1"), []).append(run(args, repo, off))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlgit-bench-") as tmp:
        repo = build_repo(Path(tmp))
        run(["check"], repo, ENV)  # the first run imports everything once: the page cache is warm for all
        samples = measure(repo, args.runs)
    load = os.getloadavg()
    print(f"demo repository, model loaded and predicting; medians of {args.runs} interleaved rounds")
    print(f"  {'command':<28}{'state':<20}{'wall':>8}{'cpu':>8}")
    for (name, state), got in samples.items():
        wall = statistics.median(w for w, _ in got)
        cpu = statistics.median(c for _, c in got)
        target = "   (target: <= 1.0 s)" if state == "warm" else ""
        print(f"  {name:<28}{state:<20}{wall:>7.2f}s{cpu:>7.2f}s{target}")
    print(f"  load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
