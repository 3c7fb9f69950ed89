"""The model registry as git tags, in GTO's grammar (register `name@vX.Y.Z`, assign `name#stage#N`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from mlgit.registry.semver import Bump, Version
from mlgit.repo import git
from mlgit.results.status import Status

if TYPE_CHECKING:
    from mlgit.repo.state import RepoState

# GTO's grammar (gto/constants.py `tag_re`): `dir=name` is the monorepo form of `dir:name` inside tags.
NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
_ARTIFACT = rf"(?:[a-zA-Z0-9\-_./]+=)?{NAME}"
_TAG = re.compile(
    rf"^(?P<name>{_ARTIFACT})"
    rf"(?:(?:#(?P<stage>{NAME})|@(?P<version>v[^#!@]+?))(?P<cancel>!?)|@(?P<deprecated>deprecated)|@created)"
    r"(?:#(?P<counter>\d+))?$"
)
STAGE_RE = re.compile(rf"^{NAME}$")

class EventKind(Status):
    """What a registry tag records (GTO's event types)."""

    REGISTRATION = "registration"
    DEREGISTRATION = "deregistration"
    ASSIGNMENT = "assignment"
    UNASSIGNMENT = "unassignment"
    DEPRECATION = "deprecation"


# GTO's event priorities (gto/base.py), used to order events that share a timestamp.
PRIORITY = {
    EventKind.DEPRECATION: 2,
    EventKind.REGISTRATION: 3,
    EventKind.DEREGISTRATION: 4,
    EventKind.ASSIGNMENT: 5,
    EventKind.UNASSIGNMENT: 6,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Event:
    """One registry tag, parsed."""

    tag: str
    artifact: str
    kind: EventKind
    version: Version | None
    stage: str | None
    counter: int | None
    commit: str
    date: str
    annotated: bool
    message: str
    tagger: str = ""

    @property
    def when(self) -> datetime:
        """The tag's date (the tagger date GTO orders events by); the epoch when it has none."""
        return parse_date(self.date) or _EPOCH

    @property
    def summary(self) -> str:
        """The first line of the tag message."""
        return self.message.split("\n", 1)[0].strip()

    @property
    def order(self) -> tuple[datetime, int, int, int, str]:
        """Sort key: GTO's (timestamp, priority), with registrations first and GTO's counter breaking ties."""
        registering = 0 if self.kind in (EventKind.REGISTRATION, EventKind.DEREGISTRATION) else 1
        return (self.when, registering, self.counter or 0, PRIORITY[self.kind], self.tag)

    @property
    def lineage(self) -> dict[str, Any] | None:
        """The JSON lineage mlgit writes after the tag message's first paragraph, if any."""
        _, _, body = self.message.partition("\n\n")
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def tag_name(model: str) -> str:
    """The model name as it appears inside tags (`dir:name` becomes `dir=name`)."""
    return model.replace(":", "=")


def safe_name(text: str, *, keep: str = "._=-", fill: str = "_") -> str:
    """`text` as one word a file name, a job id or a branch segment can hold: ASCII letters, digits and the
    characters of `keep` stay, each run of any other becomes `fill`.

    The one name sanitiser (bundle and deploy-state folders, generated job names, `init`'s artifact names). For
    names the config accepts the only character it replaces is a dir's `/`, never two in a row (a ref cannot hold
    `//`), so folder names are what they were when each caller filtered per character.
    """
    return re.sub(f"[^A-Za-z0-9{re.escape(keep)}]+", fill, text)


def version_tag(model: str, version: Version) -> str:
    """The registration tag of one version (`dir:name`, v1.0.0 -> `dir=name@v1.0.0`)."""
    return f"{tag_name(model)}@{version}"


def parse_date(text: str) -> datetime | None:
    """An ISO-8601 date as git prints it (`%(taggerdate:iso-strict)`), or None."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse(record: git.TagRecord) -> Event | None:
    """Parse a tag; None when it is not a registry tag."""
    m = _TAG.match(record.name)
    if m is None:
        return None
    counter = int(m["counter"]) if m["counter"] else None
    version = None
    stage = None
    if m["version"]:
        version = Version.parse(m["version"])
        if version is None:
            return None
        kind = EventKind.DEREGISTRATION if m["cancel"] else EventKind.REGISTRATION
    elif m["stage"]:
        stage = m["stage"]
        kind = EventKind.UNASSIGNMENT if m["cancel"] else EventKind.ASSIGNMENT
    elif m["deprecated"]:
        kind = EventKind.DEPRECATION
    else:
        return None  # `name@created` has no meaning in GTO's registry state
    return Event(
        record.name,
        m["name"],
        kind,
        version,
        stage,
        counter,
        record.commit,
        record.date,
        record.annotated,
        record.message,
        record.tagger,
    )


def counters(records: Iterable[git.TagRecord]) -> dict[str, int]:
    """The highest GTO counter per artifact over ALL its tags (lightweight ones too, as GTO counts them)."""
    top: dict[str, int] = {}
    for record in records:
        m = _TAG.match(record.name)
        if m is not None and m["counter"]:
            top[m["name"]] = max(top.get(m["name"], 0), int(m["counter"]))
    return top


def display_name(artifact: str) -> str:
    """An artifact name as GTO's CLI writes it (`dir=name` in tags is `dir:name`)."""
    return artifact.replace("=", ":")


def _of_model(records: Iterable[git.TagRecord], model: str | None) -> list[git.TagRecord]:
    # The tags `name@*` and `name#*` of one model; all tags without one.
    if model is None:
        return list(records)
    prefixes = (f"{tag_name(model)}@", f"{tag_name(model)}#")
    return [r for r in records if r.name.startswith(prefixes)]


def events(repo: RepoState, model: str | None = None) -> list[Event]:
    """Registry events (annotated tags only, as GTO counts them), oldest tag first by name order."""
    return list(scan(repo, model).events)


@dataclass(frozen=True)
class TagScan:
    """Every registry tag of one `git for-each-ref`: annotated events, and GTO counters over all tags."""

    events: tuple[Event, ...]
    counters: dict[str, int]
    names: frozenset[str]  # every tag name seen, lightweight ones included


def scan(repo: RepoState, model: str | None = None) -> TagScan:
    """The registry (one model's tags, or all), parsed once per command from the state's tag records."""
    return repo.derive(("registry.scan", model), lambda: _scan(repo.tag_records(), model))


def _scan(all_records: Iterable[git.TagRecord], model: str | None) -> TagScan:
    records = _of_model(all_records, model)
    found = []
    for record in records:
        event = parse(record)
        if event is not None and event.annotated and (model is None or event.artifact == tag_name(model)):
            found.append(event)
    return TagScan(tuple(found), counters(records), frozenset(r.name for r in records))


def used_versions(evts: list[Event]) -> set[Version]:
    """Every version ever registered or deregistered: a version name is never reused."""
    return {e.version for e in evts if e.version is not None}


def releases(evts: list[Event]) -> list[Event]:
    """Registrations still active (not deregistered), in semver order."""
    gone = {e.version for e in evts if e.kind is EventKind.DEREGISTRATION}
    regs = [e for e in evts if e.kind is EventKind.REGISTRATION and e.version not in gone]
    return sorted(regs, key=lambda e: e.version or Version(0, 0, 0))


def taken_versions(repo: RepoState, model: str) -> set[Version]:
    """Versions whose tag names exist, lightweight tags included: git would refuse the name even if GTO ignores it."""
    name = tag_name(model)
    taken = set()
    for record in _of_model(repo.tag_records(), model):
        event = parse(record)
        if event is not None and event.artifact == name and event.version is not None:
            taken.add(event.version)
    return taken


def next_version(taken: set[Version], first: str, improved: bool) -> tuple[Version, Bump]:
    """Minor bump when a gated metric improved, patch otherwise (first release: `first`); never a taken one."""
    if not taken:
        v = Version.parse(f"v{first}")
        assert v is not None
        return v, Bump.FIRST
    part = Bump.MINOR if improved else Bump.PATCH
    return max(taken).bump(part), part
