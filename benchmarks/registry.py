"""`mlgit registry` / `mlgit history` vs `gto show` / `gto history` on a registry of 1,500 annotated tags.

Run: python benchmarks/registry.py [--runs N] [--gto-runs N] [--tags N]
Builds the repository with `git fast-import` (5 models, releases with lineage JSON in the tag messages,
stage assignments and rollbacks with GTO counters), checks that both tools agree on every model's latest
version and stages, and prints whole-process wall-time medians side by side.
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
REPO_ROOT = Path(__file__).resolve().parent.parent
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    "NO_COLOR": "1",
}
MODELS = ("churn", "fraud", "ranker", "forecast", "detector")
STAGES = ("dev", "staging", "prod")
START = 1_767_225_600  # 2026-01-01T00:00:00Z


def mlgit_cmd() -> list[str]:
    """The installed console script, else this interpreter with the source tree on the path."""
    script = BIN / "mlgit"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "mlgit"]


def _data(text: str) -> str:
    return f"data {len(text.encode())}\n{text}\n"


def build_repo(repo: Path, tags: int = 1500) -> dict[str, int]:
    """A git repo whose registry holds `tags` annotated tags in GTO's grammar; returns tags per kind."""
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], env=ENV, check=True)
    config = ["version: 1", "models:"]
    for m in MODELS:
        config += [
            f"  {m}:",
            f"    path: models/{m}.pkl",
            f"    metrics: [metrics/{m}.json]",
            "    policy:",
            "      gates:",
            "        auc: {direction: higher, min: 0.5}",
            "        latency_ms: {direction: lower}",
        ]
    config += ["registry:", f"  stages: [{', '.join(STAGES)}]"]
    per_model = tags // len(MODELS)
    releases = per_model * 2 // 3
    stream: list[str] = []
    clock = START
    mark = 0
    kinds = {"registration": 0, "assignment": 0, "unassignment": 0}
    # One commit with the config, then one commit per release of each model.
    mark += 1
    stream.append(f"commit refs/heads/main\nmark :{mark}\ncommitter bench <bench@example.com> {clock} +0000\n")
    stream.append(_data("registry benchmark"))
    stream.append("M 644 inline mlgit.yaml\n" + _data("\n".join(config) + "\n"))
    for m in MODELS:
        counter = 0
        released: list[tuple[int, str]] = []
        in_stage: dict[str, list[int]] = {s: [] for s in STAGES}
        for i in range(releases):
            clock += 1
            mark += 1
            version = f"v{i // 100}.{i % 100}.0"
            metrics = {"auc": round(0.7 + i / (releases * 4), 6), "latency_ms": round(40 - i / releases * 10, 3)}
            stream.append(f"commit refs/heads/main\nmark :{mark}\ncommitter bench <bench@example.com> {clock} +0000\n")
            stream.append(_data(f"train {m} {version}") + f"from :{mark - 1}\n")
            stream.append(f"M 644 inline metrics/{m}.json\n" + _data(json.dumps(metrics)))
            lineage = {
                "schema": "mlgit.lineage/1",
                "model": m,
                "version": version,
                "metrics": {f"metrics/{m}.json:{k}": v for k, v in metrics.items()},
                "params": {"params.yaml:train.lr": 0.1, "params.yaml:train.depth": 6},
                "data": {"table": {"path": "data/table.csv", "md5": f"{i:032x}"}},
                "decision": [{"metric": "auc", "rule": "min", "passed": True, "threshold": 0.5}],
            }
            message = f"Release {m} {version} (mlgit)\n\n{json.dumps(lineage, indent=2, sort_keys=True)}\n"
            stream.append(f"tag {m}@{version}\nfrom :{mark}\ntagger bench <bench@example.com> {clock} +0000\n")
            stream.append(_data(message))
            kinds["registration"] += 1
            released.append((mark, version))
        # The rest of the model's tags: assignments walking each release up the stages, and some rollbacks.
        for j in range(per_model - releases):
            clock += 1
            counter += 1
            stage = STAGES[j % len(STAGES)]
            held = in_stage[stage]
            if j % 10 == 9 and len(held) >= 2:
                target, name, kind = held.pop(), f"{m}#{stage}!#{counter}", "unassignment"
            else:
                target = released[min(len(released) - 1, j // len(STAGES) * 2)][0]
                held[:] = [t for t in held if t != target] + [target]
                name, kind = f"{m}#{stage}#{counter}", "assignment"
            stream.append(f"tag {name}\nfrom :{target}\ntagger bench <bench@example.com> {clock} +0000\n")
            stream.append(_data(f"{kind} {stage} (benchmark)\n"))
            kinds[kind] += 1
    subprocess.run(["git", "fast-import", "--quiet"], cwd=repo, input="".join(stream).encode(), env=ENV, check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=repo, env=ENV, check=True)
    return kinds


def timed(cmd: list[str], cwd: Path, runs: int) -> tuple[float, str]:
    """Median wall time of a whole command after one warm-up run, and the warm-up's output."""
    first = subprocess.run(cmd, cwd=cwd, env=ENV, check=True, capture_output=True, text=True).stdout
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=ENV, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), first


def agree(mlgit_json: str, gto_json: str) -> bool:
    """Whether mlgit and GTO report the same latest version and stage holders for every model."""
    ours = {m["name"]: m for m in json.loads(mlgit_json)["models"]}
    theirs = json.loads(gto_json)
    for name, state in theirs.items():
        mine = ours[name]
        stages = {s: v["version"] for s, v in mine["stages"].items()}
        if state["version"] != mine["latest"]["version"] or {k: v for k, v in state["stage"].items() if v} != stages:
            return False
    return set(theirs) == set(ours)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="mlgit runs per command (median)")
    parser.add_argument("--gto-runs", type=int, default=3, help="GTO runs per command (median; each takes seconds)")
    parser.add_argument("--tags", type=int, default=1500)
    args = parser.parse_args()
    gto = str(BIN / "gto")
    with tempfile.TemporaryDirectory(prefix="mlgit-bench-registry-") as tmp:
        repo = Path(tmp) / "repo"
        kinds = build_repo(repo, args.tags)
        total = int(subprocess.run(["git", "tag"], cwd=repo, capture_output=True, check=True).stdout.count(b"\n"))
        rows = []
        reg_json_t, reg_json = timed([*mlgit_cmd(), "registry", "--json"], repo, args.runs)
        gto_json_t, gto_json = timed([gto, "show", "--json"], repo, args.gto_runs)
        rows.append(("mlgit registry --json", reg_json_t, "gto show --json", gto_json_t))
        reg_t, _ = timed([*mlgit_cmd(), "registry"], repo, args.runs)
        gto_t, _ = timed([gto, "show"], repo, args.gto_runs)
        rows.append(("mlgit registry", reg_t, "gto show", gto_t))
        hist_t, _ = timed([*mlgit_cmd(), "history", MODELS[0], "--json"], repo, args.runs)
        ghist_t, _ = timed([gto, "history", MODELS[0], "--json"], repo, args.gto_runs)
        rows.append((f"mlgit history {MODELS[0]} --json", hist_t, f"gto history {MODELS[0]} --json", ghist_t))
        same = agree(reg_json, gto_json)
    detail = ", ".join(f"{n} {k}s" for k, n in kinds.items())
    print(f"registry listing, {total} annotated tags ({detail}), {len(MODELS)} models")
    print(f"whole-process wall time, medians (mlgit: {args.runs} runs, GTO: {args.gto_runs} runs)")
    print(f"  {'mlgit':<30}{'time':>8}   {'GTO':<30}{'time':>8}   {'speed-up':>8}")
    for ours, t_ours, theirs, t_theirs in rows:
        print(f"  {ours:<30}{t_ours:>7.3f}s   {theirs:<30}{t_theirs:>7.3f}s   {t_theirs / t_ours:>7.1f}x")
    print(f"  target: mlgit registry <= 0.5 s; latest versions and stages agree with GTO: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
