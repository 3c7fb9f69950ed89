"""`mlgit registry`: models, latest versions, stages and key metrics, from the git tags alone (one git call)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlgit.config.settings import Config
from mlgit.registry import stages
from mlgit.registry import tags as registry
from mlgit.registry.stages import ModelState
from mlgit.registry.tags import Event
from mlgit.render import terminal
from mlgit.render.style import Style, table
from mlgit.repo import git
from mlgit.repo.state import RepoState
from mlgit.repo.values import ParamValue
from mlgit.results import serialize

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


def gated_metrics(cfg: Config | None, art: stages.ModelState) -> list[str]:
    """The metric names a model's promotion policy gates on."""
    if cfg is None:
        return []
    for model in cfg.models:
        if registry.tag_name(model.name) == art.name:
            return [g.metric for g in model.policy.gates]
    return []


def when(event: Event) -> str:
    """A tag date, compactly."""
    return event.date[:19].replace("T", " ") if event.date else "-"


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


def _empty(name: str) -> stages.ModelState:
    return stages.ModelState(registry.tag_name(name), (), (), {}, False, 0)


def run(cwd: Path, model: str | None, json: bool) -> int:
    """List the registry: every model, or one model's versions."""
    repo = RepoState.open(cwd)
    root = repo.root
    cfg = stages.load_config(root)
    scan = registry.scan(repo, model)
    arts = stages.build(scan.events, scan.counters)
    declared = [m.name for m in cfg.models] if cfg else []
    for name in declared:
        if model is None or name == model:
            arts.setdefault(registry.tag_name(name), _empty(name))
    if model is not None and registry.tag_name(model) not in arts:
        stages.require(repo, scan, model, cfg)  # raises the unknown-model error
    shown = sorted(arts.values(), key=lambda a: a.display)
    columns = stages.stage_columns(stages.rules_of(cfg), shown)
    docs = [ModelDoc.of(a, gated_metrics(cfg, a), a.display in declared) for a in shown]
    if json and model is not None:
        docs = _with_bundles(root, docs)
    if json:
        sys.stdout.write(serialize.dumps({"stages": columns, "models": docs}) + "\n")
        return 0
    style = Style.for_stdout()
    if model is None:
        lines = _overview(shown, columns, cfg, style)
    else:
        lines = _versions(shown[0], columns, cfg, style)
    sys.stdout.write("\n".join(lines) + "\n")
    if any(not a.releases for a in shown) or not shown:
        shallow_hint(root)
    return 0


def shallow_hint(root: Path) -> None:
    """On stderr, in a shallow clone: "no release yet" there is a question of fetching the tags (see the hint)."""
    if git.is_shallow(root):
        sys.stderr.write(f"hint: {stages.SHALLOW_HINT}\n")


def _with_bundles(root: Path, docs: list[ModelDoc]) -> list[ModelDoc]:
    # Only for one model: the digest notes cost two git calls, and the listing of all models stays at one.
    from mlgit.package import store

    notes = store.digests(root)

    def bundled(doc: ModelDoc, v: ReleaseDoc) -> BundledReleaseDoc:
        return BundledReleaseDoc(**vars(v), bundle=notes.get(v.commit, {}).get(f"{doc.name}@{v.version}"))

    return [replace(doc, versions=tuple(bundled(doc, v) for v in doc.versions)) for doc in docs]


def _metrics_text(values: dict[str, ParamValue]) -> str:
    return " ".join(f"{k}={terminal.value(v)}" for k, v in values.items())


def _overview(arts: list[stages.ModelState], columns: list[str], cfg: Config | None, style: Style) -> list[str]:
    if not arts:
        return ["no models: no registry tags here and no models in mlgit.yaml (release one with 'mlgit promote')"]
    header = ["Model", "Latest", *columns, "Released", "Commit", "Key metrics"]
    rows = []
    for art in arts:
        latest = art.latest
        name = art.display + (" (deprecated)" if art.deprecated else "")
        cells = [name, str(latest.version) if latest else "-"]
        cells += [held.label if (held := art.current(stage)) else "-" for stage in columns]
        if latest is None:
            cells += ["-", "-", "no release yet"]
        else:
            cells += [when(latest), latest.commit[:8], _metrics_text(key_metrics(latest, gated_metrics(cfg, art)))]
        rows.append(cells)
    return [style("Model registry (git tags, GTO format)", "bold"), *("  " + line for line in table(header, rows))]


def _versions(art: stages.ModelState, columns: list[str], cfg: Config | None, style: Style) -> list[str]:
    title = f"{art.display}" + (" (deprecated)" if art.deprecated else "")
    held = [f"{stage} {occ.label}" for stage in columns if (occ := art.current(stage))]
    lines = [style(title, "bold") + (f": {', '.join(held)}" if held else ": no stage assigned")]
    if not art.releases:
        lines.append(f"  no release yet: mlgit promote {art.display}")
        return lines
    gated = gated_metrics(cfg, art)
    per_version = [(e, key_metrics(e, gated)) for e in reversed(art.releases)]
    metric_names = list(dict.fromkeys(k for _, values in per_version for k in values))
    header = ["Version", "Stages", "Released", "Commit", *metric_names]
    rows = []
    for e, values in per_version:
        cells = [str(e.version), ", ".join(art.stages_of(e.commit)) or "-", when(e), e.commit[:8]]
        cells += [terminal.value(values.get(k)) for k in metric_names]
        rows.append(cells)
    unreleased = [f"{s} {o.label}" for s in columns if (o := art.current(s)) and o.version is None]
    if unreleased:
        lines.append(style(f"  stages on commits without a release: {', '.join(unreleased)}", "yellow"))
    return [*lines, *("  " + line for line in table(header, rows))]
