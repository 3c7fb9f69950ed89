"""`mlgit history MODEL`: the timeline of a model's registrations, stage assignments and deprecation."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from mlgit.cli.commands.registry import shallow_hint, when
from mlgit.registry import stages
from mlgit.registry import tags as registry
from mlgit.registry.tags import Event
from mlgit.render.style import Style, table
from mlgit.repo.state import RepoState
from mlgit.results import serialize


def _version(art: stages.ModelState, e: Event) -> str | None:
    if e.version is not None:
        return str(e.version)
    if e.stage is not None:
        v = art.version_at(e.commit)
        return str(v) if v else None
    return None


@dataclass(frozen=True)
class HistoryEntry:
    """One registry event in `history --json` (GTO's field names where it has them)."""

    timestamp: str
    artifact: str
    event: str
    version: str | None
    stage: str | None
    commit: str
    tag: str
    counter: int | None
    author: str
    message: str

    @classmethod
    def of(cls, art: stages.ModelState, e: Event) -> HistoryEntry:
        """The entry of event `e` of the model `art`."""
        return cls(
            e.date, art.display, e.kind, _version(art, e), e.stage, e.commit, e.tag, e.counter, e.tagger, e.summary
        )


def run(cwd: Path, model: str, json: bool) -> int:
    """Print a model's registry events, newest first (as `gto history` and `git log` do)."""
    repo = RepoState.open(cwd)
    root = repo.root
    cfg = stages.load_config(root)
    scan = registry.scan(repo, model)
    declared = cfg is not None and any(m.name == model for m in cfg.models)
    if not scan.events and declared:
        art = stages.ModelState(registry.tag_name(model), (), (), {}, False, 0)
    else:
        art = stages.require(repo, scan, model, cfg)
    events = list(reversed(art.timeline))
    if json:
        sys.stdout.write(serialize.dumps([HistoryEntry.of(art, e) for e in events]) + "\n")
        return 0
    style = Style.for_stdout()
    if not events:
        sys.stdout.write(f"{model}: no registry events yet (release it with 'mlgit promote {model}')\n")
        shallow_hint(root)
        return 0
    rows = []
    for e in events:
        version = _version(art, e) or (e.commit[:7] if e.stage else "-")
        rows.append([when(e), e.kind, version, e.stage or "-", e.tag, e.tagger or "-"])
    title = style(f"History of {art.display}" + (" (deprecated)" if art.deprecated else ""), "bold")
    lines = table(["Date", "Event", "Version", "Stage", "Tag", "By"], rows)
    sys.stdout.write("\n".join([title, *("  " + line for line in lines)]) + "\n")
    shallow_hint(root)  # a shallow clone may lack older events' tags
    return 0
