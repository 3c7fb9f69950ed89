"""`mlgit registry`: models, latest versions, stages and key metrics, from the git tags alone (one git call)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from mlgit.config.settings import Config
from mlgit.registry import listing, stages
from mlgit.registry import tags as registry
from mlgit.registry.tags import Event
from mlgit.render import terminal
from mlgit.render.style import Style, table
from mlgit.repo import git
from mlgit.repo.state import RepoState
from mlgit.repo.values import ParamValue
from mlgit.results import serialize


def when(event: Event) -> str:
    """A tag date, compactly."""
    return event.date[:19].replace("T", " ") if event.date else "-"


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
    docs = [listing.ModelDoc.of(a, listing.gated_metrics(cfg, a), a.display in declared) for a in shown]
    if json and model is not None:
        docs = _with_bundles(root, docs)
    if json:
        sys.stdout.write(serialize.dumps(listing.RegistryListing(tuple(columns), tuple(docs))) + "\n")
        return 0
    style = Style.for_stdout()
    if model is None:
        lines = _overview(shown, columns, cfg, style)
    else:
        lines = _versions(shown[0], columns, cfg, style)
    sys.stdout.write("\n".join(lines) + "\n")
    # Also with releases shown: a shallow clone may hold only the tags of the commits it fetched.
    shallow_hint(root)
    return 0


def shallow_hint(root: Path) -> None:
    """On stderr, in a shallow clone: what is listed (or "no release yet") may lack the tags it did not fetch."""
    if git.is_shallow(root):
        sys.stderr.write(f"hint: {stages.SHALLOW_HINT}\n")


def _with_bundles(root: Path, docs: list[listing.ModelDoc]) -> list[listing.ModelDoc]:
    # Only for one model: the digest notes cost two git calls, and the listing of all models stays at one.
    from mlgit.package import store

    notes = store.digests(root)

    def bundled(doc: listing.ModelDoc, v: listing.ReleaseDoc) -> listing.BundledReleaseDoc:
        return listing.BundledReleaseDoc(**vars(v), bundle=notes.get(v.commit, {}).get(f"{doc.name}@{v.version}"))

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
            cells += [
                when(latest),
                latest.commit[:8],
                _metrics_text(listing.key_metrics(latest, listing.gated_metrics(cfg, art))),
            ]
        rows.append(cells)
    return [style("Model registry (git tags, GTO format)", "bold"), *("  " + line for line in table(header, rows))]


def _versions(art: stages.ModelState, columns: list[str], cfg: Config | None, style: Style) -> list[str]:
    title = f"{art.display}" + (" (deprecated)" if art.deprecated else "")
    held = [f"{stage} {occ.label}" for stage in columns if (occ := art.current(stage))]
    lines = [style(title, "bold") + (f": {', '.join(held)}" if held else ": no stage assigned")]
    if not art.releases:
        lines.append(f"  no release yet: mlgit promote {art.display}")
        return lines
    gated = listing.gated_metrics(cfg, art)
    per_version = [(e, listing.key_metrics(e, gated)) for e in reversed(art.releases)]
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
