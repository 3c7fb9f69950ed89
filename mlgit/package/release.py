"""One way to name a release everywhere: `MODEL` (latest), `MODEL@vX.Y.Z`, or `MODEL#STAGE`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgit.errors import MlgitError, UsageError
from mlgit.registry import baseline, stages
from mlgit.registry import tags as registry
from mlgit.registry.semver import Version
from mlgit.repo.state import RepoState


@dataclass(frozen=True)
class Release:
    """A registered version of a model: the tag, its commit and the lineage the tag carries."""

    model: str  # as the CLI spells it (`dir:name`)
    version: Version
    tag: str
    commit: str
    lineage: dict[str, Any] | None

    @property
    def slug(self) -> str:
        """`name-vX.Y.Z` from the tag form (`dir=name`), a `/` of the dir made `_`: the bundle's folder name."""
        return f"{registry.safe_name(registry.tag_name(self.model))}-{self.version}"


def spec(model: str, *, version: str | None = None, stage: str | None = None) -> str:
    """The spec naming a model's release: `MODEL`, `MODEL@vX.Y.Z` or `MODEL#STAGE` (what `split` reads back)."""
    if version is not None:
        return f"{model}@{version}"
    return f"{model}#{stage}" if stage is not None else model


def split(spec: str) -> tuple[str, str | None, str | None]:
    """(model, version, stage) from `MODEL`, `MODEL@vX.Y.Z` or `MODEL#STAGE`."""
    if "@" in spec:
        model, _, version = spec.partition("@")
        return model, version, None
    if "#" in spec:
        model, _, stage = spec.partition("#")
        return model, None, stage
    return spec, None, None


def resolve(repo: RepoState, spec: str) -> Release:
    """The release a spec names; MlgitError (exit 2) with the known versions when it names none."""
    model, version, stage = split(spec)
    if not model or version == "" or stage == "":
        raise UsageError(f"{spec!r} is not a release: expected MODEL, MODEL@vX.Y.Z or MODEL#STAGE")
    scan = registry.scan(repo, model)
    art = stages.require(repo, scan, model, stages.load_config(repo.root))
    if stage is not None:
        # The one baseline resolver reads `MODEL#STAGE` as `--base stage:NAME` does, shallow-clone hints included.
        held = baseline.stage(repo.root, art.display, stage, list(scan.events))
        if held.version is None:
            assert held.commit is not None
            raise MlgitError(f"{stage} holds commit {held.commit[:8]} of {art.display}, which has no release")
        version = str(held.version)
    event = stages.resolve_version(art, version)
    assert event.version is not None
    return Release(art.display, event.version, event.tag, event.commit, event.lineage)
