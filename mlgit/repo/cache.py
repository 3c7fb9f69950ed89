"""Results of data checks cached by content under .git/mlgit/checks/, so unchanged data is not read again.

A key covers everything a result depends on: the data (DVC md5 plus the files' size, mtime and inode, which
catch edits not yet recorded by DVC), the schema file's bytes, the dataset's config, and the mlgit version.
Entries are small JSON files written atomically; a damaged or unreadable entry is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlgit import __version__
from mlgit.errors import MlgitError
from mlgit.system import atomic, statedir

_KEEP_PER_DATASET = 8


def key(*parts: str | bytes | None) -> str:
    """A digest of the parts (None and b'' kept distinct), with the mlgit version mixed in."""
    h = hashlib.sha256(__version__.encode())
    for p in parts:
        h.update(b"\1" if p is None else b"\2" + (p if isinstance(p, bytes) else p.encode()))
        h.update(b"\0")
    return h.hexdigest()[:40]


def _folder(root: Path) -> Path | None:
    state = statedir.path(root)
    return None if state is None else state / "checks"


def _prefix(dataset: str) -> str:
    return hashlib.sha256(dataset.encode()).hexdigest()[:12]


def load(root: Path, dataset: str, digest: str) -> dict[str, Any] | None:
    """The cached payload for a dataset at a key, or None."""
    folder = _folder(root)
    if folder is None:
        return None
    path = folder / f"{_prefix(dataset)}-{digest}.json"
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def store(root: Path, dataset: str, digest: str, payload: Mapping[str, Any]) -> None:
    """Save a payload; keep only the most recent entries per dataset. A read-only .git only costs speed."""
    folder = _folder(root)
    if folder is None:
        return
    prefix = _prefix(dataset)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{prefix}-{digest}.json"
        atomic.write_text(path, json.dumps(payload, separators=(",", ":")))
        entries = sorted(folder.glob(f"{prefix}-*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[_KEEP_PER_DATASET:]:
            old.unlink(missing_ok=True)
    except (OSError, MlgitError):
        pass
