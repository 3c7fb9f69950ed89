"""The local content-addressed store of bundles (`<git dir>/mlgit/bundles/`) and the digest notes git carries.

An archive is kept as `<sha256>.tar.gz`, its evaluation as `<sha256>.evaluation.json`; the digest of each
packaged release is also a git note on the release commit (`refs/notes/mlgit-bundles`, JSON keyed by
`model@version`), so it travels with `git push origin refs/notes/mlgit-bundles` and `mlgit registry` shows it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgit.repo import git
from mlgit.system import atomic, statedir

NOTES_REF = "mlgit-bundles"


def folder(root: Path) -> Path:
    """Where archives and evaluations are kept."""
    return statedir.inside(git.git_dir(root)) / "bundles"


def keep(root: Path, archive: Path, digest: str) -> Path:
    """Copy an archive into the store under its digest (atomically); return the stored path."""
    dest = folder(root) / f"{digest}.tar.gz"
    if not dest.is_file():
        atomic.write_bytes(dest, archive.read_bytes())
    return dest


def find(root: Path, digest: str) -> Path | None:
    """A stored archive by its digest (`sha256:` prefix allowed, or a unique prefix of 12+ characters)."""
    digest = digest.removeprefix("sha256:")
    exact = folder(root) / f"{digest}.tar.gz"
    if exact.is_file():
        return exact
    if len(digest) >= 12:
        matches = sorted(folder(root).glob(f"{digest}*.tar.gz"))
        if len(matches) == 1:
            return matches[0]
    return None


def write_json(path: Path, doc: dict[str, Any]) -> None:
    """Write a JSON document atomically."""
    atomic.write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


def record_digest(root: Path, commit: str, release: str, entry: dict[str, Any]) -> None:
    """Add `release` (model@version) -> entry to the digest note of the release commit."""
    current = digests(root).get(commit, {})
    current[release] = entry
    git.set_note(root, NOTES_REF, commit, json.dumps(current, indent=2, sort_keys=True) + "\n")


def digests(root: Path) -> dict[str, dict[str, Any]]:
    """commit -> {model@version: {sha256, python, platform}} from the digest notes (unreadable notes skipped)."""
    found: dict[str, dict[str, Any]] = {}
    for commit, text in git.notes(root, NOTES_REF).items():
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        if isinstance(doc, dict):
            found[commit] = doc
    return found


def is_stored(path: Path) -> bool:
    """Whether a path is an archive inside some repository's store (named by its digest)."""
    return path.parent.name == "bundles" and path.parent.parent.name == statedir.NAME
