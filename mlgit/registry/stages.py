"""Registry state per model from its tags, and the tags that assign, roll back or deprecate (GTO's rules).

What a stage holds follows `gto show` (and DVC's `name#stage`): the version whose latest assignment to the
stage is the most recent one still in effect. A rollback un-assigns the current version (`name#stage!#N`)
and re-assigns the one before it, so `gto show`, GTO's semver-ordered stage lookup (`find_versions_in_stage`)
and `gto history` all agree on the result.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgit import __version__
from mlgit.config import settings as config
from mlgit.config.settings import Config, Registry
from mlgit.errors import MlgitError
from mlgit.registry import tags as registry
from mlgit.registry.semver import Version
from mlgit.registry.tags import STAGE_RE, Event, EventKind, display_name
from mlgit.repo import git
from mlgit.results.status import Status

if TYPE_CHECKING:
    from mlgit.repo.state import RepoState


@dataclass(frozen=True)
class Occupant:
    """A commit holding a stage, through the assignment tag that put it there."""

    commit: str
    version: Version | None  # None: no release at that commit (GTO then names the version by its SHA)
    event: Event

    @property
    def label(self) -> str:
        """The version, or the short commit when the commit was never released."""
        return str(self.version) if self.version else self.commit[:7]


@dataclass(frozen=True)
class ModelState:
    """One model's registry: its timeline, active releases, stage occupants and deprecation."""

    name: str  # as written in tags (`dir=name`)
    timeline: tuple[Event, ...]  # oldest first, in GTO's order
    releases: tuple[Event, ...]  # active registrations, lowest semver first
    stages: Mapping[str, tuple[Occupant, ...]]  # occupants in effect per stage, oldest first; last = current
    deprecated: bool
    max_counter: int

    @property
    def display(self) -> str:
        """The model name as the CLI spells it."""
        return display_name(self.name)

    @property
    def latest(self) -> Event | None:
        """The release with the greatest version."""
        return self.releases[-1] if self.releases else None

    def current(self, stage: str) -> Occupant | None:
        """The version a stage holds now."""
        held = self.stages.get(stage, ())
        return held[-1] if held else None

    def release(self, version: Version) -> Event | None:
        """The active registration of a version."""
        return next((e for e in self.releases if e.version == version), None)

    def version_at(self, commit: str) -> Version | None:
        """The released version at a commit (the latest registration there wins)."""
        found = [e.version for e in self.releases if e.commit == commit and e.version is not None]
        return max(found) if found else None

    def stages_of(self, commit: str) -> list[str]:
        """The stages a commit currently holds."""
        return [stage for stage in self.stages if (cur := self.current(stage)) and cur.commit == commit]

    def in_effect(self, commit: str, stage: str) -> bool:
        """Whether a commit is still in effect in a stage (assigned and not un-assigned since)."""
        return any(o.commit == commit for o in self.stages.get(stage, ()))


def build(events: Iterable[Event], counters: Mapping[str, int] | None = None) -> dict[str, ModelState]:
    """Group annotated registry events by artifact and replay them in GTO's order."""
    grouped: dict[str, list[Event]] = {}
    for e in events:
        if e.annotated:
            grouped.setdefault(e.artifact, []).append(e)
    return {
        name: _replay(name, sorted(evts, key=lambda e: e.order), (counters or {}).get(name, 0))
        for name, evts in sorted(grouped.items())
    }


def _replay(name: str, timeline: list[Event], counter: int) -> ModelState:
    gone = {e.version for e in timeline if e.kind is EventKind.DEREGISTRATION}
    regs = [e for e in timeline if e.kind is EventKind.REGISTRATION and e.version not in gone]
    releases = tuple(sorted(regs, key=lambda e: e.version or Version(0, 0, 0)))
    by_commit: dict[str, Version] = {}
    for e in releases:
        assert e.version is not None
        by_commit[e.commit] = max(e.version, by_commit.get(e.commit, e.version))
    deregistered_commits = {e.commit for e in timeline if e.kind is EventKind.DEREGISTRATION} - set(by_commit)
    held: dict[str, list[Occupant]] = {}
    for e in timeline:
        if e.stage is None:
            continue
        stack = [o for o in held.setdefault(e.stage, []) if o.commit != e.commit]
        if e.kind is EventKind.ASSIGNMENT:
            stack.append(Occupant(e.commit, by_commit.get(e.commit), e))
        held[e.stage] = stack
    for stage, stack in held.items():
        # A deregistered version leaves every stage (GTO hides its stage assignments).
        held[stage] = [o for o in stack if o.commit not in deregistered_commits]
    last = timeline[-1] if timeline else None
    top = max([counter, *(e.counter or 0 for e in timeline)])
    return ModelState(
        name,
        tuple(timeline),
        releases,
        {stage: tuple(stack) for stage, stack in held.items() if stack},
        last is not None and last.kind is EventKind.DEPRECATION,
        top,
    )


def load_config(root: Path) -> Config | None:
    """mlgit.yaml when the repository has one: the registry also works on tags alone."""
    return config.load(root) if (root / config.CONFIG_NAME).is_file() else None


def rules_of(cfg: Config | None) -> Registry:
    """The stage rules (none declared without mlgit.yaml)."""
    return cfg.registry if cfg is not None else Registry()


def require(repo: RepoState, scan: registry.TagScan, model: str, cfg: Config | None) -> ModelState:
    """The model's registry; a clear error when the model is unknown or has no tags yet."""
    art = build(scan.events, scan.counters).get(registry.tag_name(model))
    if art is not None:
        return art
    declared = [m.name for m in cfg.models] if cfg else []
    shallow = git.is_shallow(repo.root)
    if model in declared:
        raise MlgitError(
            f"{model} has no release yet (no registry tags)",
            hint=SHALLOW_HINT if shallow else f"release it first: mlgit promote {model}",
        )
    tagged = {display_name(e.artifact) for e in registry.scan(repo).events}
    known = ", ".join(sorted(tagged | set(declared))) or "(none)"
    raise MlgitError(
        f"unknown model {model!r}; models in mlgit.yaml and the tags: {known}", hint=SHALLOW_HINT if shallow else None
    )


# A `--depth 1` clone (CI's default) has the commit but usually not the registry tags: "no release yet" there is
# a question of fetching, not a fact about the model.
SHALLOW_HINT = (
    "this is a shallow clone, registry tags may be missing here: fetch them with 'git fetch --tags'"
    " (in GitHub Actions: actions/checkout with fetch-depth: 0)"
)


def stage_columns(rules: Registry, artifacts: Iterable[ModelState]) -> list[str]:
    """Declared stages in their order, then any other stage in use, in order of first use."""
    names = list(rules.stages)
    for art in artifacts:
        for e in art.timeline:
            if e.stage is not None and e.stage not in names:
                names.append(e.stage)
    return names


@dataclass(frozen=True)
class NewTag:
    """An annotated tag to create."""

    name: str
    commit: str
    message: str


class StageStatus(Status):
    """What a stage action (assign, rollback, deprecate) did or would do."""

    ASSIGNED = "assigned"
    ALREADY_ASSIGNED = "already-assigned"
    ROLLED_BACK = "rolled-back"
    DEPRECATED = "deprecated"
    ALREADY_DEPRECATED = "already-deprecated"


@dataclass(frozen=True)
class TagPlan:
    """The tags one registry action writes (none: nothing to do) and what it means."""

    status: Status  # a StageStatus; a release through the same writer passes its own status
    tags: tuple[NewTag, ...]
    version: Version | None = None
    commit: str | None = None
    previous: Occupant | None = None
    notes: tuple[str, ...] = ()  # warnings for the user


def check_stage(stage: str, rules: Registry) -> None:
    """Refuse a stage name GTO cannot write, or one mlgit.yaml does not declare."""
    if not STAGE_RE.match(stage):
        raise MlgitError(
            f"{stage!r} is not a valid stage name: letters, digits, '-', '_' and '/', "
            "starting and ending with a letter or digit (GTO's grammar)"
        )
    if rules.stages and stage not in rules.stages:
        raise MlgitError(
            f"unknown stage {stage!r}; mlgit.yaml declares: {', '.join(rules.stages)}",
            hint="add it to registry.stages in mlgit.yaml, or pick a declared stage",
        )


def _message(title: str, doc: dict[str, Any]) -> str:
    # Same shape as release tags: a summary line, a blank line, JSON that GTO returns verbatim.
    return f"{title} (mlgit)\n\n{json.dumps({**doc, 'mlgit': __version__}, indent=2, sort_keys=True)}\n"


def resolve_version(art: ModelState, version: str | None) -> Event:
    """The active registration of `version` (vX.Y.Z or X.Y.Z), the latest when None; MlgitError otherwise."""
    if version is None:
        if art.latest is None:
            raise MlgitError(
                f"{art.display} has no release yet", hint=f"release one first: mlgit promote {art.display}"
            )
        return art.latest
    parsed = Version.parse(version if version.startswith("v") else f"v{version}")
    if parsed is None:
        raise MlgitError(f"{version!r} is not a version (expected vX.Y.Z)")
    found = art.release(parsed)
    if found is None:
        known = ", ".join(str(e.version) for e in reversed(art.releases[-10:])) or "(none)"
        raise MlgitError(f"{art.display} has no release {parsed}; releases: {known}")
    return found


def plan_assign(art: ModelState, stage: str, version: str | None, rules: Registry) -> TagPlan:
    """Assign a release (default: the latest) to a stage, enforcing the declared stage order."""
    check_stage(stage, rules)
    reg = resolve_version(art, version)
    assert reg.version is not None
    current = art.current(stage)
    if current is not None and current.commit == reg.commit:
        return TagPlan(StageStatus.ALREADY_ASSIGNED, (), reg.version, reg.commit, current)
    if rules.enforce_order and stage in rules.stages:
        index = rules.stages.index(stage)
        if index > 0:
            before = rules.stages[index - 1]
            if not art.in_effect(reg.commit, before):
                order = " -> ".join(rules.stages)
                raise MlgitError(
                    f"cannot assign {art.display} {reg.version} to {stage}: it is not in {before}, "
                    f"the stage before {stage} (registry.stages: {order})",
                    hint=f"assign it to {before} first: mlgit assign {art.display} {before} --version {reg.version}",
                )
    notes: tuple[str, ...] = ()
    if art.deprecated:
        notes = (f"{art.display} is deprecated; a new assignment makes it active again (as in GTO)",)
    doc = {
        "schema": "mlgit.assignment/1",
        "action": "assign",
        "model": art.display,
        "version": str(reg.version),
        "stage": stage,
        "commit": reg.commit,
        "previous": current.label if current else None,
    }
    tag = NewTag(
        f"{art.name}#{stage}#{art.max_counter + 1}",
        reg.commit,
        _message(f"Assign {art.display} {reg.version} to {stage}", doc),
    )
    return TagPlan(StageStatus.ASSIGNED, (tag,), reg.version, reg.commit, current, notes)


def plan_rollback(art: ModelState, stage: str, rules: Registry) -> TagPlan:
    """Un-assign the stage's current version and re-assign the one it replaced."""
    check_stage(stage, rules)
    held = art.stages.get(stage, ())
    if not held:
        raise MlgitError(f"no version of {art.display} is in {stage}; nothing to roll back")
    current = held[-1]
    if len(held) < 2:
        raise MlgitError(
            f"{art.display} {current.label} is the only version in effect in {stage}; nothing to roll back to",
            hint=f"assign an older release instead: mlgit assign {art.display} {stage} --version vX.Y.Z",
        )
    previous = held[-2]
    base = {"model": art.display, "stage": stage, "schema": "mlgit.assignment/1"}
    off = {**base, "action": "rollback-unassign", "version": current.label, "commit": current.commit}
    on = {
        **base,
        "action": "rollback",
        "version": previous.label,
        "commit": previous.commit,
        "previous": current.label,
    }
    n = art.max_counter
    tags = (
        NewTag(
            f"{art.name}#{stage}!#{n + 1}",
            current.commit,
            _message(f"Roll back {art.display} in {stage}: unassign {current.label}", off),
        ),
        NewTag(
            f"{art.name}#{stage}#{n + 2}",
            previous.commit,
            _message(f"Roll back {art.display} in {stage}: re-assign {previous.label}", on),
        ),
    )
    return TagPlan(StageStatus.ROLLED_BACK, tags, previous.version, previous.commit, current)


def plan_deprecate(art: ModelState, taken: Iterable[str]) -> TagPlan:
    """Deprecate a model: `name@deprecated` on its latest event's commit, as `gto deprecate` writes it."""
    if art.deprecated:
        return TagPlan(StageStatus.ALREADY_DEPRECATED, ())
    last = art.timeline[-1]
    name = f"{art.name}@deprecated"
    if name in set(taken):
        # Deprecated before and active again since: the simple name is used, GTO's counter form is not.
        name = f"{name}#{art.max_counter + 1}"
    doc = {"schema": "mlgit.deprecation/1", "action": "deprecate", "model": art.display, "commit": last.commit}
    return TagPlan(
        StageStatus.DEPRECATED,
        (NewTag(name, last.commit, _message(f"Deprecate {art.display}", doc)),),
        commit=last.commit,
    )
