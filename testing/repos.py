"""Helpers that build and drive real git and DVC repositories for the tests (pre-commit's `testing/` idea).

Fixtures live in tests/conftest.py; what a test module imports lives here, so tests never import conftest.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # the checkout: testing/ sits at its top
EXAMPLE = REPO_ROOT / "example_repo"
BIN = Path(sys.executable).parent

FIXED_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "DVC_NO_ANALYTICS": "1",
    "NO_COLOR": "1",
}


def sh(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command (git, dvc, gto) in a test repository."""
    res = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}")
    return res


def git(*args: str, cwd: Path, check: bool = True) -> str:
    """Run git; return stdout."""
    return sh("git", *args, cwd=cwd, check=check).stdout


def commit_all(repo: Path, message: str) -> str:
    """Stage everything and commit; return the new HEAD."""
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo).strip()


def commit_policy(repo: Path, setting: str, message: str) -> str:
    """Add one YAML line (`base: best`) to the first model's policy in mlgit.yaml and commit it."""
    cfg = repo / "mlgit.yaml"
    text = cfg.read_text()
    assert "    policy:\n" in text, f"{cfg} has no model policy to add {setting!r} to"
    cfg.write_text(text.replace("    policy:\n", f"    policy:\n      {setting}\n", 1))
    return commit_all(repo, message)


def tree_digest(repo: Path) -> dict[str, str]:
    """A digest of every file of the work tree and .git but mlgit's own caches (a link as its target text).

    Compare one taken before a failing command with one taken after: a refusal must leave the repository as it was.
    """
    out: dict[str, str] = {}
    for p in sorted(repo.rglob("*")):
        if p.is_relative_to(repo / ".git" / "mlgit"):  # mlgit's own caches, not the repository's content
            continue
        if p.is_symlink():
            out[str(p.relative_to(repo))] = "-> " + os.readlink(p)
        elif p.is_file():
            out[str(p.relative_to(repo))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@dataclass
class Result:
    """What a user sees from one mlgit invocation."""

    code: int
    out: str
    err: str


METRICS_YAML = """\
version: 1
datasets:
  table:
    path: data/table.csv
    format: csv
models:
  clf:
    path: model.pkl
    metrics: [metrics.json]
    params: [params.yaml]
    policy:
      gates:
        accuracy:
          direction: higher
          min: 0.5
          max_regression: 0.01
        loss:
          direction: lower
ci:
  default_branch: main
"""


def set_param(repo: Path, key: str, value: str) -> None:
    """Change `  key: old` to `  key: value` in params.yaml (first match)."""
    import re

    path = repo / "params.yaml"
    text, n = re.subn(rf"(?m)^(\s+{re.escape(key)}:)\s*\S+", rf"\g<1> {value}", path.read_text(), count=1)
    assert n == 1, key
    path.write_text(text)


def dvc(*args: str, cwd: Path) -> str:
    """Run DVC from this environment."""
    return sh(str(BIN / "dvc"), *args, cwd=cwd).stdout


def only_on_a_remote(repo: Path, remote: Path) -> None:
    """As a fresh clone has it: every DVC output pushed to a local default remote, and no cache left here."""
    dvc("remote", "add", "--local", "-d", "store", str(remote), cwd=repo)
    dvc("push", "-q", cwd=repo)
    shutil.rmtree(repo / ".dvc/cache")


def golden_csv(repo: Path, rows: int = 5) -> str:
    """The first test rows without the target column: the features in the model's order."""
    lines = (repo / "data/prepared/test.csv").read_text().splitlines()
    header = lines[0].split(",")
    keep = [i for i, name in enumerate(header) if name != "target"]
    out = [",".join(header[i] for i in keep)]
    out += [",".join(line.split(",")[i] for i in keep) for line in lines[1 : rows + 1]]
    (repo / "golden").mkdir(exist_ok=True)
    (repo / "golden/input.csv").write_text("\n".join(out) + "\n")
    return "golden/input.csv"


# The example saves its model with skops; the tests of pickle trust need the same pipeline writing joblib.
_JOBLIB_EDITS = {
    "src/train.py": (
        ("import skops.io as sio\n", "import joblib\n"),
        ("sio.dump(", "joblib.dump("),
        ("models/model.skops", "models/model.joblib"),
    ),
    "src/evaluate.py": (
        ("import skops.io as sio\n", "import joblib\n"),
        ("sio.load(MODEL_PATH)", "joblib.load(MODEL_PATH)"),
        ("models/model.skops", "models/model.joblib"),
    ),
    "dvc.yaml": (("models/model.skops", "models/model.joblib"),),
}


def use_joblib(repo: Path) -> None:
    """Make a copy of example_repo save and load its model with joblib (a pickle) instead of skops."""
    for rel, edits in _JOBLIB_EDITS.items():
        path = repo / rel
        text = path.read_text()
        for old, new in edits:
            assert old in text, f"example_repo/{rel} no longer has {old!r}: update testing.repos.use_joblib"
            text = text.replace(old, new)
        path.write_text(text)


def build_small(repo: Path, git_config: Path, *, with_dvc: bool) -> Path:
    """small_repo's files in a new git repository at `repo`; `with_dvc` also runs `dvc init` and tracks the table."""
    repo.mkdir()
    env = {**os.environ, **FIXED_ENV, "GIT_CONFIG_GLOBAL": str(git_config)}

    def run(*args: str) -> None:
        subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)

    run("git", "init", "-q", "-b", "main")
    if with_dvc:
        run(str(BIN / "dvc"), "init", "-q")
    (repo / "data").mkdir()
    (repo / "data" / "table.csv").write_text("id,x,label\n1,0.5,0\n2,0.7,1\n")
    if with_dvc:
        run(str(BIN / "dvc"), "add", "-q", "data/table.csv")
    (repo / "mlgit.yaml").write_text(METRICS_YAML)
    (repo / "metrics.json").write_text('{"accuracy": 0.80, "loss": 0.40}\n')
    (repo / "params.yaml").write_text("train:\n  lr: 0.1\n  depth: 3\n")
    (repo / "model.pkl").write_text("not really a model\n")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "baseline")
    return repo


def build_example(repo: Path, git_config: Path, *, joblib: bool) -> Path:
    """example_repo copied to `repo`, its pipeline run, committed and `mlgit init`-ed (`joblib`: the joblib variant)."""
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("__pycache__"))
    if joblib:
        use_joblib(repo)
    env = {
        **os.environ,
        **FIXED_ENV,
        "GIT_CONFIG_GLOBAL": str(git_config),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }

    def run(*args: str) -> None:
        subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)

    run("git", "init", "-q", "-b", "main")
    run(str(BIN / "dvc"), "init", "-q")
    run(str(BIN / "dvc"), "repro", "-q")
    run("git", "add", "-A")
    run("git", "commit", "-q", "-m", "baseline pipeline")
    run(sys.executable, "-m", "mlgit", "init")
    run("git", "add", "mlgit.yaml")
    run("git", "commit", "-q", "-m", "mlgit init")
    return repo
