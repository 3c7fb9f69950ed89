"""Where a deployment keeps its state (`<git dir>/mlgit/deploy/<model>/<stage>/`), and the lock per stage."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlgit.registry import tags
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.system import atomic

STATE = "state.json"
VENVS_ENV = "MLGIT_DEPLOY_VENVS"


def root_of(repo: RepoState) -> Path:
    """Every deployment's state folder lives under this one (in the git dir: also right in a worktree)."""
    return repo.state_dir / "deploy"


def folder(repo: RepoState, model: str, stage: str) -> Path:
    """The state folder of one model in one stage."""
    return root_of(repo) / tags.tag_name(model) / tags.safe_name(stage)


def venvs(repo: RepoState) -> Path:
    """Where bundle virtualenvs are kept, one per locked requirements (`$MLGIT_DEPLOY_VENVS` to share them)."""
    shared = os.environ.get(VENVS_ENV)
    return Path(shared) if shared else root_of(repo) / "venvs"


@dataclass(frozen=True)
class Deployed:
    """What a stage's target serves, as the last successful deploy recorded it (the folder's `state.json`)."""

    model: str
    stage: str
    target: str
    version: str
    digest: str  # `sha256:<hex>` of the bundle
    url: str | None = None  # a local target's front


def read(where: Path) -> Deployed | None:
    """The last applied deployment recorded in a state folder; None when there is none or it is unreadable
    (a half-understood record must not stop a deploy from converging: the next write replaces it)."""
    try:
        doc = json.loads((where / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    try:
        return Deployed(**{k: doc[k] for k in ("model", "stage", "target", "version", "digest")}, url=doc.get("url"))
    except (KeyError, TypeError):
        return None


def write(where: Path, deployed: Deployed) -> None:
    """Record what a state folder's target now serves."""
    atomic.write_text(where / STATE, serialize.dumps(deployed) + "\n")


@contextmanager
def locked(where: Path, on_wait: Callable[[str], None]) -> Iterator[None]:
    """Hold the stage's deploy lock; `on_wait(holder)` is called first when another deploy holds it."""
    where.mkdir(parents=True, exist_ok=True)
    fd = os.open(where / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
