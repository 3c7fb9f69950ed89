"""The one temporary worktree: a detached checkout of a revision in a temporary folder, removed afterwards.

Retraining and the reproducibility check run DVC in it so the user's work tree is never touched. Its DVC
cache is either the repository's own (`shared`: unchanged stages are not re-run and `dvc push` finds the new
outputs) or a new empty one beside it (`own`: the user's cache is only read, never written).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from mlgit.repo import dvc, git

Cache = Literal["shared", "own"]


@contextmanager
def temporary(root: Path, rev: str, *, cache: Cache, prefix: str = "mlgit-") -> Iterator[Path]:
    """A detached worktree of `rev` at `<tmp>/work`; `<tmp>` is scratch space for the caller too."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        wt = Path(tmp) / "work"
        git.worktree_add(root, wt, rev)
        try:
            if cache == "own":
                dvc.use_cache(wt, Path(tmp) / "cache")
            else:
                caches = [c for c in dvc.cache_dirs(root) if c.is_dir()]
                if (root / ".dvc").is_dir() and caches:
                    dvc.use_cache(wt, caches[-1].resolve())
            yield wt
        finally:
            git.worktree_remove(root, wt)
