"""DVC repositories of the shapes found in the wild, recreated here (never copied): built with real git and DVC.

- `cached`: a git-tracked input table, an encoder beside the model, metrics under DVC's default `cache: true`
  in a folder the project's .gitignore hides (`reports/*`);
- `templated`: `vars:` from params.yaml, `${}` interpolation and a `foreach` stage;
- `monorepo`: two DVC projects in sub-folders of one git repository (`dvc init --subdir`).

Every stage is a small standard-library script; `threshold` in params.yaml decides the metrics, so a test
improves or degrades the model by moving it towards or away from 0.5.
"""

from __future__ import annotations

from pathlib import Path

from testing.repos import commit_all, dvc, git

PREP = """\
import os, sys
os.makedirs(os.path.dirname(sys.argv[2]) or ".", exist_ok=True)
src, dst = sys.argv[1], sys.argv[2]
open(dst, "w").write(open(src).read())
"""
TRAIN = """\
import os, pickle, sys, yaml
os.makedirs(os.path.dirname(sys.argv[2]) or ".", exist_ok=True)
params = yaml.safe_load(open(sys.argv[1]))
pickle.dump({"threshold": params["train"]["threshold"]}, open(sys.argv[2], "wb"))
"""
ENCODE = """\
import os, pickle, sys
os.makedirs(os.path.dirname(sys.argv[1]), exist_ok=True)
pickle.dump({"categories": ["a", "b"]}, open(sys.argv[1], "wb"))
"""
EVAL = """\
import json, os, pickle, sys
t = pickle.load(open(sys.argv[1], "rb"))["threshold"]
os.makedirs(os.path.dirname(sys.argv[2]) or ".", exist_ok=True)
json.dump({"accuracy": round(1 - abs(t - 0.5), 4), "loss": round(abs(t - 0.5), 4)}, open(sys.argv[2], "w"))
"""
RAW = "id,x,cat\n" + "".join(f"{i},{(i * 37) % 100 / 10},{'ab'[i % 2]}\n" for i in range(60))

CACHED = """\
stages:
  prepare:
    cmd: python src/prep.py data/raw.csv data/prepared.csv
    deps: [src/prep.py, data/raw.csv]
    outs: [data/prepared.csv]
  encode:
    cmd: python src/encode.py models/encoder.pkl
    deps: [src/encode.py]
    outs: [models/encoder.pkl]
  train:
    cmd: python src/train.py params.yaml models/model.pkl
    deps: [src/train.py, data/prepared.csv, models/encoder.pkl]
    params: [train.threshold]
    outs: [models/model.pkl]
  evaluate:
    cmd: python src/eval.py models/model.pkl reports/metrics.json
    deps: [src/eval.py, models/model.pkl]
    metrics: [reports/metrics.json]
"""

TEMPLATED = """\
vars:
  - params.yaml
  - out: build
stages:
  split:
    foreach: ${splits}
    do:
      cmd: python src/prep.py data/raw.csv ${out}/${item}.csv
      deps: [src/prep.py, data/raw.csv]
      outs:
        - ${out}/${item}.csv
  train:
    cmd: python src/train.py params.yaml ${out}/${train.name}.pkl
    deps:
      - src/train.py
      - ${out}/train.csv
    params: [train.threshold]
    outs:
      - ${out}/${train.name}.pkl
  evaluate:
    cmd: python src/eval.py ${out}/${train.name}.pkl ${out}/metrics.json
    deps:
      - src/eval.py
      - ${out}/${train.name}.pkl
    metrics:
      - ${out}/metrics.json:
          cache: false
"""

SUB = """\
stages:
  train:
    cmd: python ../src/train.py params.yaml model.pkl
    deps: [../src/train.py, data.csv]
    params: [train.threshold]
    outs: [model.pkl]
  evaluate:
    cmd: python ../src/eval.py model.pkl metrics.json
    deps: [../src/eval.py, model.pkl]
    metrics:
      - metrics.json:
          cache: false
"""


def _scripts(repo: Path) -> None:
    (repo / "src").mkdir()
    for name, text in (("prep.py", PREP), ("train.py", TRAIN), ("encode.py", ENCODE), ("eval.py", EVAL)):
        (repo / "src" / name).write_text(text)


def build(repo: Path, shape: str, remote: Path) -> Path:
    """Create a repository of `shape` in `repo` (a new folder), run its pipelines, push to `remote`, commit."""
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    _scripts(repo)
    projects = ["proj_a", "proj_b"] if shape == "monorepo" else [""]
    for base in projects:
        folder = repo / base if base else repo
        folder.mkdir(exist_ok=True)
        dvc("init", "-q", *(["--subdir"] if base else []), cwd=folder)
        dvc("remote", "add", "-d", "local", str(remote / (base or "root")), cwd=folder)
        if shape == "cached":
            (folder / "data").mkdir()
            (folder / "data/raw.csv").write_text(RAW)
            (folder / ".gitignore").write_text("reports/*\n")
            (folder / "dvc.yaml").write_text(CACHED)
            (folder / "params.yaml").write_text("train:\n  threshold: 0.8\n")
        elif shape == "templated":
            (folder / "data").mkdir()
            (folder / "data/raw.csv").write_text(RAW)
            (folder / "dvc.yaml").write_text(TEMPLATED)
            (folder / "params.yaml").write_text("splits: [train, test]\ntrain:\n  name: clf\n  threshold: 0.8\n")
        else:
            (folder / "data.csv").write_text(RAW)
            (folder / "dvc.yaml").write_text(SUB)
            (folder / "params.yaml").write_text("train:\n  threshold: 0.8\n")
        dvc("repro", "-q", cwd=folder)
        dvc("push", "-q", cwd=folder)
    commit_all(repo, f"a {shape} DVC repository")
    return repo


def set_threshold(repo: Path, value: float, base: str = "") -> None:
    """Change train.threshold (1 - |t - 0.5| is the accuracy) and re-run that project's pipeline."""
    folder = repo / base if base else repo
    path = folder / "params.yaml"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(f"  threshold: {value}" if ln.startswith("  threshold:") else ln for ln in lines) + "\n")
    dvc("repro", "-q", cwd=folder)
    dvc("push", "-q", cwd=folder)
