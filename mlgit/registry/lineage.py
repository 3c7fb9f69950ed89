"""The lineage a release tag carries: commit, data hashes, params, metrics, baseline and decision."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgit import __version__
from mlgit.config.settings import Config, Model
from mlgit.registry.baseline import Baseline
from mlgit.registry.policy import Decision
from mlgit.registry.semver import Version
from mlgit.repo import dvc as pipeline
from mlgit.repo.metrics import Snapshot
from mlgit.results.serialize import plain

if TYPE_CHECKING:
    from mlgit.repo.state import RepoState


def build(
    repo: RepoState,
    cfg: Config,
    model: Model,
    commit: str,
    version: Version,
    candidate: Snapshot,
    params: Snapshot,
    base: Baseline,
    decision: Decision,
) -> dict[str, Any]:
    """The lineage document for one release."""
    hashes = repo.dvc_hashes(commit)
    data = {
        d.name: {"path": d.path, **(pipeline.hash_for(d.path, hashes) or {"md5": None})} for d in cfg.datasets_of(model)
    }
    return {
        "schema": "mlgit.lineage/1",
        "model": model.name,
        "version": str(version),
        "commit": commit,
        "artifact": {"path": model.path, **(pipeline.hash_for(model.path, hashes) or {"md5": None})},
        "data": data,
        "params": params.flat(),
        "metrics": candidate.flat(),
        "baseline": plain(base),
        "decision": plain(decision.results),
        "mlgit": __version__,
    }
