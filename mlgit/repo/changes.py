"""Whether a model's inputs changed between two commits: the test that keeps monorepo CI to what moved."""

from __future__ import annotations

from pathlib import Path

from mlgit.config.settings import Config, Model
from mlgit.repo import dvc as pipeline
from mlgit.repo import git
from mlgit.repo.state import RepoState


def inputs_changed(repo: RepoState, cfg: Config, model: Model, old: str, new: str | None) -> bool:
    """True when the artifact, a dataset (by DVC hash), a params file or a metrics file differs.

    `new` None means the work tree (as recorded by its dvc.lock and .dvc files). The state reads each
    revision's DVC files once, however many models of a monorepo ask.
    """
    old_hashes, new_hashes = repo.dvc_hashes(old), repo.dvc_hashes(new)
    for path in (model.path, *(d.path for d in cfg.datasets_of(model))):
        was, now = pipeline.hash_for(path, old_hashes), pipeline.hash_for(path, new_hashes)
        if was != now:
            return True
        if was is None and _git_object_changed(repo, path, old, new):
            # Not DVC-tracked: an artifact committed to git itself changes only in git's own objects.
            return True
    files = [*model.metrics, *model.params]
    return repo.blobs(old, files) != (
        repo.blobs(new, files) if new is not None else {f: _read(repo.root / f) for f in files}
    )


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _git_object_changed(repo: RepoState, path: str, old: str, new: str | None) -> bool:
    """Whether git's object at `path` (a file's blob, a folder's tree) differs between `old` and `new`.

    `new` None: the work tree, which differs from HEAD only where it has uncommitted changes.
    """
    before = git.blob_at(repo.root, old, path)
    if new is not None:
        return before != git.blob_at(repo.root, new, path)
    if before != git.blob_at(repo.root, "HEAD", path):
        return True
    inside = path.rstrip("/") + "/"
    return any(d == path or d.startswith(inside) for d in repo.dirty)
