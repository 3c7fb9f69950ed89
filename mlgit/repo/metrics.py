"""Metrics and params of a revision or of the work tree, and the difference between two of them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from mlgit.errors import InputError, MlgitError
from mlgit.repo import dvc, git
from mlgit.repo.values import ParamValue, ValueFile, number, parse
from mlgit.results.run import WORK_TREE, Revision
from mlgit.results.status import Status
from mlgit.system import files, jsoncache, statedir

if TYPE_CHECKING:
    from mlgit.repo.state import RepoState


@dataclass(frozen=True)
class Snapshot:
    """Value files as they are at one revision (`rev` None: the work tree)."""

    label: str
    rev: str | None
    files: tuple[ValueFile, ...]

    def lookup(self, metric: str) -> tuple[ParamValue, str | None]:
        """A metric by key, or `path:key` when several files hold that key; (None, None) when absent."""
        path, sep, key = metric.rpartition(":")
        if sep:
            for f in self.files:
                if f.path == path and f.values is not None and key in f.values:
                    return f.values[key], f.path
            return None, None
        holders = [f for f in self.files if f.values is not None and metric in f.values]
        if len(holders) > 1:
            names = ", ".join(f"{f.path}:{metric}" for f in holders)
            raise MlgitError(f"metric {metric!r} is in several files; name it as one of: {names}")
        if holders:
            values = holders[0].values
            assert values is not None
            return values[metric], holders[0].path
        return None, None

    def flat(self) -> dict[str, ParamValue]:
        """`path:key -> value` across all present files."""
        return {f"{f.path}:{k}": v for f in self.files if f.values is not None for k, v in f.values.items()}

    def subset(self, paths: Iterable[str]) -> Snapshot:
        """The same snapshot restricted to some files."""
        keep = set(paths)
        return Snapshot(self.label, self.rev, tuple(f for f in self.files if f.path in keep))

    @property
    def any_present(self) -> bool:
        """Whether at least one of the files exists."""
        return any(f.present for f in self.files)


def read(
    repo: RepoState, paths: Iterable[str], rev: str | None, label: str, *, worktree_fallback: bool = False
) -> Snapshot:
    """Read value files at a revision through git (no checkout), or from the work tree when `rev` is None.

    Blobs come from the repo state and each file's values are kept there, so a command that compares with
    one base several times (gate, metric rows, history) reads and parses each (revision, file) once.
    With `worktree_fallback`, a file that git does not hold at `rev` (a DVC-cached metrics output) is
    read from the work tree instead: only correct when the work tree is that revision.
    """
    wanted = list(dict.fromkeys(paths))
    blobs = repo.blobs(rev, wanted) if rev is not None else {}
    fallback = worktree_fallback and rev is not None  # the work tree itself has nothing to fall back to
    found = tuple(
        repo.remember(
            ("values", rev, path, fallback), partial(_value_file, repo.root, path, rev, label, blobs, fallback)
        )
        for path in wanted
    )
    return Snapshot(label, rev, found)


def _value_file(
    root: Path, path: str, rev: str | None, label: str, blobs: dict[str, bytes | None], worktree_fallback: bool
) -> ValueFile:
    """One file as `dvc metrics show -a` reads it: committed through git; else, for a DVC-cached output
    (`cache: true` metrics), through DVC from its cache or remote. With `worktree_fallback` a DVC-cached file
    DVC cannot get is read from the work tree. A file neither in git nor cached by DVC at `rev` is absent
    there, with the reason (a gitignored metrics file) and the fix in `why`."""
    raw: bytes | None = None
    where, why = f" (at {label})", None
    if rev is not None and blobs.get(path) is not None:
        raw = blobs[path]
    elif rev is not None:
        raw, why, tracked = _untracked_at(root, path, rev, label)
        if raw is None and worktree_fallback and tracked:
            raw, where = _worktree(root, path), ""
    else:
        raw, where = _worktree(root, path), ""
    values = _parse_at(root, path, raw, rev, where) if raw is not None else None
    return ValueFile(path, values, why if values is None else None)


def _worktree(root: Path, path: str) -> bytes | None:
    try:
        return files.read_small(root, path, limit=files.MAX_VALUES_BYTES, links_into=dvc.cache_dirs(root))
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise MlgitError(f"{path}: is a directory; list the metrics/params files inside it") from None


def _untracked_at(root: Path, path: str, rev: str, label: str) -> tuple[bytes | None, str | None, bool]:
    """A file git does not hold at `rev`: DVC's copy, or why there is none; and whether DVC tracks it there."""
    if dvc.tracked_at(root, rev, path) is not None:
        raw = dvc.read_tracked(root, path, rev, limit=files.MAX_VALUES_BYTES)
        why = (
            f"{path} is a DVC-cached output at {label} that DVC could not get (not in the cache, and no reachable "
            "remote holds it): run `dvc push` where it was built, or mark it `cache: false` in dvc.yaml and commit it"
        )
        return raw, None if raw is not None else why, True
    if path in git.ignored(root, [path]):
        return (
            None,
            (
                f"{path} is ignored by .gitignore and not tracked by DVC, so it is in no commit ({label}); "
                "commit it (remove it from .gitignore, and mark it `cache: false` in dvc.yaml) or let DVC track it"
            ),
            False,
        )
    return None, f"{path} is not committed at {label}", False


def _parse_at(root: Path, path: str, raw: bytes, rev: str | None, where: str) -> dict[str, ParamValue]:
    try:
        return _parse_cached(root, path, raw, where)
    except MlgitError:
        # git stores a committed link as its target's name: say so instead of "invalid JSON: /dev/zero".
        if rev is not None and git.mode_at(root, rev, path) == "120000":
            raise InputError(
                f"a symbolic link in git (to {raw[:200].decode('utf-8', 'replace')!r}); "
                "metrics and params files must be committed as regular files",
                file=f"{path}{where}",
            ) from None
        raise


def _parse_cached(root: Path, path: str, raw: bytes, where: str) -> dict[str, ParamValue]:
    # Parsed values are cached by content under .git/mlgit: a warm run never imports a YAML/TOML parser,
    # which is most of what separates `metrics diff` from a bare `git cat-file`.
    state = statedir.path(root)
    key = hashlib.sha1(path.rsplit(".", 1)[-1].encode() + b"\0" + raw, usedforsecurity=False).hexdigest()
    entry = None if state is None else state / "values" / f"{key}.json"
    cached = jsoncache.get(entry)
    if isinstance(cached, dict):
        return cached
    values = parse(path, raw, where=where)
    jsoncache.put(entry, values)
    return values


class KeyChange(Status):
    """How a key (a metric, a parameter) differs between two snapshots."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    SAME = "same"


def _decimals(v: float) -> int | None:
    """Digits after the point in the shortest text of `v` (None in exponent form: no rounding then)."""
    text = repr(v)
    return None if "e" in text or "n" in text else len(text.partition(".")[2])


@dataclass(frozen=True)
class DiffRow:
    """One key compared between two snapshots."""

    path: str
    key: str
    old: ParamValue
    new: ParamValue
    old_present: bool
    new_present: bool

    @property
    def change(self) -> float | None:
        """new - old when both are numbers, rounded to the decimals the inputs were written with."""
        a, b = number(self.old), number(self.new)
        if a is None or b is None:
            return None
        # 0.85 - 0.8 is 0.04999999999999993 in binary floating point; the metrics file said 0.05.
        places = [_decimals(v) for v in (a, b)]
        return b - a if None in places else round(b - a, max(p for p in places if p is not None))

    @property
    def status(self) -> KeyChange:
        """Whether the key was added, removed, changed or kept."""
        if not self.old_present:
            return KeyChange.ADDED
        if not self.new_present:
            return KeyChange.REMOVED
        return KeyChange.SAME if self.old == self.new else KeyChange.CHANGED


@dataclass(frozen=True)
class FileDiff:
    """The comparison of one file; `base_missing` means there is no baseline, which is not zero."""

    path: str
    base_missing: bool
    new_missing: bool
    rows: tuple[DiffRow, ...]
    base_why: str | None = None  # why the base has no copy (gitignored, DVC-cached and not pushed), with the fix


def diff(old: Snapshot, new: Snapshot) -> list[FileDiff]:
    """Compare two snapshots of the same files, key by key."""
    olds = {f.path: f for f in old.files}
    out = []
    for nf in new.files:
        of = olds.get(nf.path, ValueFile(nf.path, None))
        ov, nv = of.values or {}, nf.values or {}
        keys = list(dict.fromkeys([*nv, *ov]))
        rows = tuple(DiffRow(nf.path, k, ov.get(k), nv.get(k), k in ov, k in nv) for k in keys)
        out.append(FileDiff(nf.path, of.values is None, nf.values is None, rows, of.why))
    return out


@dataclass(frozen=True)
class KeyDiff:
    """One key in `metrics diff --json`: old and new values (None where absent) and new - old."""

    old: ParamValue
    new: ParamValue
    diff: float | None


def _by_file(diffs: Iterable[FileDiff]) -> dict[str, dict[str, KeyDiff]]:
    return {
        fd.path: {
            r.key: KeyDiff(r.old if r.old_present else None, r.new if r.new_present else None, r.change)
            for r in fd.rows
        }
        for fd in diffs
    }


@dataclass(frozen=True)
class MetricsDiff:
    """`metrics diff --json`: both sides, every key per file, and the files the base has no copy of."""

    base: Revision
    new: Revision
    metrics: dict[str, dict[str, KeyDiff]]
    params: dict[str, dict[str, KeyDiff]]
    no_baseline: tuple[str, ...]

    @classmethod
    def of(cls, base: Revision, mdiff: list[FileDiff], pdiff: list[FileDiff]) -> MetricsDiff:
        """The document of the work tree against `base`: metrics files' and params files' diffs."""
        missing = tuple(fd.path for fd in [*mdiff, *pdiff] if fd.base_missing)
        return cls(base, WORK_TREE, _by_file(mdiff), _by_file(pdiff), missing)
