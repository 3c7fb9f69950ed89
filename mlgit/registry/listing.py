"""The registry as `mlgit registry --json` shows it: models, their stages and releases, with key metrics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgit.config.settings import Config
from mlgit.registry import tags as registry
from mlgit.registry.stages import ModelState
from mlgit.registry.tags import Event
from mlgit.repo.values import ParamValue

_UNGATED_SHOWN = 3


def key_metrics(event: Event | None, gated: list[str]) -> dict[str, ParamValue]:
    """The gated metrics (else the first few) recorded in a release tag's lineage."""
    lineage = event.lineage if event is not None else None
    values = lineage.get("metrics") if lineage else None
    if not isinstance(values, dict):
        return {}
    if not gated:
        return {k.rpartition(":")[2]: v for k, v in sorted(values.items())[:_UNGATED_SHOWN]}
    found: dict[str, ParamValue] = {}
    for metric in gated:
        if metric in values:
            found[metric] = values[metric]
            continue
        holder = next((k for k in sorted(values) if k.rpartition(":")[2] == metric), None)
        if holder is not None:
            found[metric] = values[holder]
    return found


def gated_metrics(cfg: Config | None, art: ModelState) -> list[str]:
    """The metric names a model's promotion policy gates on."""
    if cfg is None:
        return []
    for model in cfg.models:
        if registry.tag_name(model.name) == art.name:
            return [g.metric for g in model.policy.gates]
    return []


@dataclass(frozen=True)
class ReleaseDoc:
    """One release in `registry --json`."""

    version: str
    tag: str
    commit: str
    date: str
    author: str
    stages: list[str]
    metrics: dict[str, ParamValue]

    @classmethod
    def of(cls, event: Event, art: ModelState, gated: list[str]) -> ReleaseDoc:
        """The document of release `event`."""
        metrics = key_metrics(event, gated)
        return cls(
            str(event.version), event.tag, event.commit, event.date, event.tagger, art.stages_of(event.commit), metrics
        )


@dataclass(frozen=True)
class BundledReleaseDoc(ReleaseDoc):
    """A release with the digest of its bundle (`registry MODEL --json`; None: not packaged here)."""

    bundle: dict[str, Any] | None = None


@dataclass(frozen=True)
class StageDoc:
    """The version a stage holds."""

    version: str | None
    commit: str
    tag: str
    assigned_at: str


@dataclass(frozen=True)
class ModelDoc:
    """One model in `registry --json`."""

    name: str
    declared: bool
    deprecated: bool
    latest: ReleaseDoc | None
    stages: dict[str, StageDoc]
    versions: tuple[ReleaseDoc, ...]

    @classmethod
    def of(cls, art: ModelState, gated: list[str], declared: bool) -> ModelDoc:
        """The document of one model's registry state."""
        held = {
            stage: StageDoc(
                str(h[-1].version) if h[-1].version else None, h[-1].commit, h[-1].event.tag, h[-1].event.date
            )
            for stage, h in art.stages.items()
        }
        latest = ReleaseDoc.of(art.latest, art, gated) if art.latest else None
        versions = tuple(ReleaseDoc.of(e, art, gated) for e in reversed(art.releases))
        return cls(art.display, declared, art.deprecated, latest, held, versions)


@dataclass(frozen=True)
class RegistryListing:
    """`registry --json`: the stage columns shown, then every model."""

    stages: tuple[str, ...]
    models: tuple[ModelDoc, ...]
