"""Whether a model's inputs changed between two commits: the test that keeps monorepo CI to what moved."""

from __future__ import annotations

from pathlib import Path

from mlgit.config.settings import Config, Model
from mlgit.repo import dvc as pipeline
from mlgit.repo.state import RepoState


def inputs_changed(repo: RepoState, cfg: Config, model: Model, old: str, new: str | None) -> bool:
    """True when the artifact, a dataset (by DVC hash), a params file or a metrics file differs.

    `new` None means the work tree (as recorded by its dvc.lock and .dvc files). The state reads each
    revision's DVC files once, however many models of a monorepo ask.
    """
    old_hashes, new_hashes = repo.dvc_hashes(old), repo.dvc_hashes(new)
    for path in (model.path, *(d.path for d in cfg.datasets_of(model))):
        if pipeline.hash_for(path, old_hashes) != pipeline.hash_for(path, new_hashes):
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
