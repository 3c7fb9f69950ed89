"""The model registry as git tags, in GTO's grammar (register `name@vX.Y.Z`, assign `name#stage#N`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgit import git
from mlgit.semver import Version

_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_=]*[a-zA-Z0-9])?"
_REGISTER = re.compile(rf"^(?P<name>{_NAME})@(?P<version>v[^#!@]+?)(?:#(?P<counter>\d+))?(?P<dereg>!)?$")
_ASSIGN = re.compile(rf"^(?P<name>{_NAME})#(?P<stage>[a-zA-Z0-9\-_/]+)(?:#(?P<counter>\d+)|(?P<unassign>!))$")
_DEPRECATE = re.compile(rf"^(?P<name>{_NAME})@deprecated(?:#(?P<counter>\d+))?$")


@dataclass(frozen=True)
class Event:
    """One registry tag, parsed."""

    tag: str
    artifact: str
    kind: str  # registration | deregistration | assignment | unassignment | deprecation
    version: Version | None
    stage: str | None
    counter: int | None
    commit: str
    date: str
    annotated: bool
    message: str

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


def parse(record: git.TagRecord) -> Event | None:
    """Parse a tag; None when it is not a registry tag."""
    name = record.name
    if m := _REGISTER.match(name):
        version = Version.parse(m["version"])
        if version is None:
            return None
        kind = "deregistration" if m["dereg"] else "registration"
        counter = int(m["counter"]) if m["counter"] else None
        return Event(
            name, m["name"], kind, version, None, counter, record.commit, record.date, record.annotated, record.message
        )
    if m := _DEPRECATE.match(name):
        counter = int(m["counter"]) if m["counter"] else None
        return Event(
            name,
            m["name"],
            "deprecation",
            None,
            None,
            counter,
            record.commit,
            record.date,
            record.annotated,
            record.message,
        )
    if m := _ASSIGN.match(name):
        kind = "unassignment" if m["unassign"] else "assignment"
        counter = int(m["counter"]) if m["counter"] else None
        return Event(
            name,
            m["name"],
            kind,
            None,
            m["stage"],
            counter,
            record.commit,
            record.date,
            record.annotated,
            record.message,
        )
    return None


def events(root: Path, model: str | None = None) -> list[Event]:
    """Registry events (annotated tags only, as GTO counts them), oldest tag first by name order."""
    patterns = [f"{tag_name(model)}@*", f"{tag_name(model)}#*"] if model else []
    found = []
    for record in git.tags(root, patterns):
        event = parse(record)
        if event is not None and event.annotated and (model is None or event.artifact == tag_name(model)):
            found.append(event)
    return found


def used_versions(evts: list[Event]) -> set[Version]:
    """Every version ever registered or deregistered: a version name is never reused."""
    return {e.version for e in evts if e.version is not None}


def releases(evts: list[Event]) -> list[Event]:
    """Registrations still active (not deregistered), in semver order."""
    gone = {e.version for e in evts if e.kind == "deregistration"}
    regs = [e for e in evts if e.kind == "registration" and e.version not in gone]
    return sorted(regs, key=lambda e: e.version or Version(0, 0, 0))


def lightweight_blockers(root: Path, model: str, version: Version) -> bool:
    """Whether a lightweight tag already takes this version's name (GTO cannot see it, git refuses it)."""
    name = f"{tag_name(model)}@{version}"
    return any(r.name == name for r in git.tags(root, [name]))
