"""The one action that writes the registry: annotated tags, created and optionally pushed, race-safe.

Every push of registry tags also moves one lease ref on the remote, `refs/mlgit/registry/<model>.head`, with
`--atomic --force-with-lease`: a write succeeds only if nobody else wrote that model's registry since this
process read it, so concurrent promotions and assignments are serialized (compare-and-swap) instead of
racing on tag names alone. The ref lives outside refs/tags and refs/heads: clones, GTO and CI ignore it.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from mlgit.errors import MlgitError
from mlgit.registry import tags as registry
from mlgit.registry.stages import NewTag
from mlgit.repo import git
from mlgit.repo.state import RepoState

MAX_ATTEMPTS = 10


def message(model: str, version: str, lineage: dict[str, Any]) -> str:
    """Tag message: a summary line, a blank line, then the lineage as JSON (GTO returns it verbatim)."""
    return f"Release {model} {version} (mlgit)\n\n{json.dumps(lineage, indent=2, sort_keys=True)}\n"


@dataclass(frozen=True)
class PushOutcome:
    """What the remote said to a tag push."""

    ok: bool
    taken: bool  # the remote already has a tag of that name, or its registry moved: retry on fresh tags
    detail: str  # the failed push's command line and git's output
    moved: bool = False  # the lease failed: another registry write reached the remote first
    unchanged: bool = False  # the remote already held these very tags (byte-identical: pushed by a twin run)


def push(root: Path, remote: str, tag: str) -> PushOutcome:
    """Push a tag; on any failure the local tag is deleted so nothing half-done is left behind."""
    res = git.push_tag(root, remote, tag)
    if res.returncode == 0:
        return PushOutcome(True, False, "")
    git.delete_tag(root, tag)
    text = f"{res.out}\n{res.err}"
    taken = "hook declined" not in text and ("already exists" in text or "[rejected]" in text)
    return PushOutcome(False, taken, res.failure().message)


def lease_ref(artifact: str) -> str:
    """The remote ref that serializes writes to one model's registry."""
    # `.head` keeps `a` and `a/b` from clashing as file and folder in the ref store.
    return f"refs/mlgit/registry/{artifact}.head"


def read_lease(root: Path, remote: str, artifact: str) -> str | None:
    """The object the remote's lease ref points at now (None: no mlgit write yet)."""
    ref = lease_ref(artifact)
    res = git.remote_refs(root, remote, ref)
    if res.returncode != 0:
        raise res.failure(f"cannot read the registry on remote '{remote}'")
    for line in res.out.splitlines():
        oid, _, name = line.partition("\t")
        if name == ref:
            return oid
    return None


def fetch_registry(root: Path, remote: str, artifact: str) -> None:
    """Fetch the remote's registry tags of one model (releases and stage tags), never overwriting local ones."""
    specs = [f"refs/tags/{artifact}{sep}*:refs/tags/{artifact}{sep}*" for sep in ("@", "#")]
    res = git.fetch_refspecs(root, remote, specs)
    if res.returncode != 0:
        hint = None
        if "would clobber existing tag" in res.err:
            hint = "a local tag differs from the remote's one of the same name: delete it with 'git tag -d NAME'"
        raise res.failure(f"cannot fetch {artifact}'s registry tags from '{remote}'", hint=hint)


def publish(
    root: Path, remote: str, tags: Sequence[str], lease: str | None, artifact: str, serialize: bool = True
) -> PushOutcome:
    """Push tags atomically, only if the remote's registry is still as read (`lease`); else delete them here.

    `serialize` False pushes the tags alone (for hosts that refuse refs outside refs/heads and refs/tags):
    then only a clash on a tag name is detected.
    """
    ref = lease_ref(artifact)
    leases = [f"{ref}:{lease or ''}"] if serialize else []
    refspecs = [f"refs/tags/{t}:refs/tags/{t}" for t in tags] + ([f"refs/tags/{tags[-1]}:{ref}"] if serialize else [])
    res = git.push_atomic(root, remote, refspecs, leases)
    if res.returncode == 0:
        # A twin run (same commit, same second, same lineage) makes the same tag object: git then pushes
        # nothing and checks no lease, so that run did not release anything itself.
        flags = {line.split("\t", 1)[0] for line in res.out.splitlines() if ":refs/tags/" in line}
        return PushOutcome(True, False, "", unchanged=flags == {"="})
    for tag in tags:
        git.delete_tag(root, tag)
    text = f"{res.out}\n{res.err}"
    # Lost races: the lease no longer matched when read ("stale info") or when the remote locked the refs
    # ("cannot lock ref ... is at X but expected Y"), or the tag name was taken. A declining hook is no race.
    moved = "stale info" in text or f"cannot lock ref '{ref}'" in text
    taken = "hook declined" not in text and (
        moved or "already exists" in text or "[rejected]" in text or "cannot lock ref" in text
    )
    return PushOutcome(False, taken, res.failure().message, moved and taken)


def backoff(attempt: int) -> None:
    """Wait a little before retrying a lost race, with jitter so the losers do not collide again."""
    time.sleep(random.uniform(0, min(1.0, 0.05 * 2**attempt)))  # noqa: S311 - jitter, not security


def _now() -> datetime | None:
    # git dates the tag from GIT_COMMITTER_DATE when it is set (CI systems and tests pin it).
    pinned = os.environ.get("GIT_COMMITTER_DATE")
    if not pinned:
        return datetime.now(timezone.utc)
    text = pinned.strip()
    try:
        if text.startswith("@"):
            return datetime.fromtimestamp(int(text[1:].split()[0]), timezone.utc)
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def create(root: Path, name: str, commit: str, message: str, after: datetime | None = None) -> datetime | None:
    """Create an annotated tag dated strictly after `after`; returns the date forced on it, if any.

    GTO orders events by the tag's one-second timestamp: two registry events of one model in the same
    second would be ambiguous to it, so a tag that would tie with (or precede) the last one moves a second on.
    """
    forced = None
    if after is not None:
        floor = after.replace(microsecond=0) + timedelta(seconds=1)
        now = _now()
        if now is not None and (now.tzinfo is None or now < floor):
            forced = floor
    git.create_tag(root, name, commit, message, None if forced is None else f"@{int(forced.timestamp())} +0000")
    return forced


class Planned(Protocol):
    """What a registry write plans: the tags to create (none: nothing to do)."""

    @property
    def tags(self) -> Sequence[NewTag]: ...


P = TypeVar("P", bound=Planned)


@dataclass(frozen=True)
class Written(Generic[P]):
    """What a registry write did: the plan carried out, where it was pushed, and any lost races."""

    plan: P
    pushed_to: str | None
    warnings: tuple[str, ...]
    unchanged: bool = False  # the remote already held these very tags (a twin run pushed them)


def _race_warning(model: str, remote: str) -> Callable[[PushOutcome, Sequence[str]], str]:
    return lambda _pushed, _tags: (
        f"{model}'s registry on '{remote}' changed meanwhile; re-planning on the remote's tags"
    )


def unserialized_warning(model: str, remote: str) -> str:
    """Said on every push while `registry.serialize_pushes` is false: the race it leaves open."""
    return (
        f"registry.serialize_pushes is false: this push to '{remote}' takes no lock, so a concurrent promotion or "
        f"assignment of {model} can land between reading the registry and pushing, and only a clash of tag names "
        "is detected; set it to true unless your git host refuses refs outside refs/heads and refs/tags"
    )


def write(
    repo: RepoState,
    model: str,
    remote: str | None,
    make_plan: Callable[[registry.TagScan], P],
    serialize: bool = True,
    *,
    on_race: Callable[[PushOutcome, Sequence[str]], str] | None = None,
    gave_up: str | None = None,
) -> Written[P]:
    """Plan on the current tags (the remote's first, with `remote`), create the tags, push; retry lost races.

    Every tag is dated after the model's previous registry event (see `create`). `on_race` words the warning
    for a lost race, `gave_up` the error after the last attempt.
    """
    artifact = registry.tag_name(model)
    warnings = [unserialized_warning(model, remote)] if remote is not None and not serialize else []
    for attempt in range(MAX_ATTEMPTS):
        lease = None
        if remote is not None:
            # The lease is read BEFORE the tags: a write that lands in between fails the lease, never slips by.
            lease = read_lease(repo.root, remote, artifact) if serialize else None
            fetch_registry(repo.root, remote, artifact)
            repo.tags_changed()
        scan = registry.scan(repo, model)
        plan = make_plan(scan)
        if not plan.tags:
            return Written(plan, None, tuple(warnings))
        created = _create_all(repo, plan.tags, max((e.when for e in scan.events), default=None))
        if remote is None:
            return Written(plan, None, tuple(warnings))
        pushed = publish(repo.root, remote, created, lease, artifact, serialize)
        repo.tags_changed()  # a failed push deleted the tags again
        if pushed.ok:
            return Written(plan, remote, tuple(warnings), pushed.unchanged)
        if not pushed.taken:
            raise MlgitError(
                f"pushing {', '.join(created)} to '{remote}' failed; no tag was left behind: {pushed.detail}"
            )
        warnings.append((on_race or _race_warning(model, remote))(pushed, created))
        backoff(attempt)
    if gave_up is not None:
        raise MlgitError(gave_up)
    raise MlgitError(
        f"gave up after {MAX_ATTEMPTS} attempts: other writes to {model}'s registry on '{remote}' kept winning",
        hint="run the command again",
    )


def _create_all(repo: RepoState, tags: Sequence[NewTag], after: datetime | None) -> list[str]:
    # All or none: a tag that cannot be created takes the ones made before it away again.
    created: list[str] = []
    try:
        for tag in tags:
            forced = create(repo.root, tag.name, tag.commit, tag.message, after)
            created.append(tag.name)
            # One plan's tags are ordered too (a rollback's un-assign before its re-assign): GTO sorts by date.
            after = forced or _now() or after
    except MlgitError:
        for name in created:
            git.delete_tag(repo.root, name)
        raise
    finally:
        repo.tags_changed()
    return created
