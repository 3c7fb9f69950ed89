"""Results cached by content under .git/mlgit/checks/, so what did not change is not computed again.

A key covers everything a result depends on: for data checks the data (DVC md5 plus the files' size, mtime
and inode, which catch edits not yet recorded by DVC), the schema file's bytes, the dataset's config; for the
model and pipeline checks the files they read (`fingerprint`) and the Python environment (`environment`);
always the mlgit version. Entries are small JSON files written atomically; a damaged or unreadable entry is a
miss, never an error. `MLGIT_NO_CACHE=1` turns every cache off (`enabled`): nothing is read or written.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import stat
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mlgit import __version__
from mlgit.errors import MlgitError
from mlgit.system import atomic, jsoncache, statedir

_KEEP_PER_DATASET = 8
# Files up to this size are keyed by their bytes; larger ones by size, mtime and inode (as DVC's own state
# does), and only when they were last written long enough ago for a same-size rewrite to show in the mtime.
_HASH_UP_TO = 16 * 1024 * 1024
_RACY_SECONDS = 2.0


def enabled() -> bool:
    """False when `MLGIT_NO_CACHE=1`: every result is computed afresh and nothing is stored."""
    return jsoncache.enabled()


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
    """The cached payload for a dataset (or any other named result) at a key, or None."""
    folder = _folder(root)
    if folder is None or not enabled():
        return None
    path = folder / f"{_prefix(dataset)}-{digest}.json"
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def store(root: Path, dataset: str, digest: str, payload: Mapping[str, Any]) -> None:
    """Save a payload; keep only the most recent entries per name. A read-only .git only costs speed."""
    folder = _folder(root)
    if folder is None or not enabled():
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


# -- what a key is made of ------------------------------------------------------------------------------------


class Uncacheable(Exception):
    """A file changed too recently (or cannot be read) to key a result by its metadata: compute, do not store."""


def _file_part(path: Path, rel: str, st: os.stat_result, now: float) -> str:
    if st.st_size <= _HASH_UP_TO:
        digest = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            raise Uncacheable(rel) from exc
        return f"{rel}\0f\0{digest.hexdigest()}"
    if now - st.st_mtime < _RACY_SECONDS:
        raise Uncacheable(rel)
    return f"{rel}\0s\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}"


def _entries(root: Path, rel: str) -> Iterable[tuple[str, Path]]:
    full = root / rel
    if not full.is_dir() or full.is_symlink():
        yield rel, full
        return
    for dirpath, dirnames, filenames in os.walk(full):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            yield os.path.relpath(path, root).replace(os.sep, "/"), path


def fingerprint(root: Path, paths: Iterable[str]) -> str:
    """A digest of the files (and folders, walked) at repository-relative `paths`, absent ones included.

    Raises `Uncacheable` when a large file was written in the last seconds (its mtime may not show a second
    same-size write yet) or cannot be read, or a path is a device, pipe or socket.
    """
    now = time.time()
    digest = hashlib.sha256()
    for rel in sorted(set(paths)):
        for name, path in _entries(root, rel):
            try:
                st = os.stat(path)
            except (OSError, ValueError):
                digest.update(f"{name}\0absent\n".encode())
                continue
            if stat.S_ISDIR(st.st_mode):
                digest.update(f"{name}\0dir\n".encode())
                continue
            if not stat.S_ISREG(st.st_mode):
                raise Uncacheable(name)
            digest.update(_file_part(path, name, st, now).encode() + b"\n")
    return digest.hexdigest()


def environment() -> str:
    """The Python environment a result was computed in: interpreter, platform and installed distributions.

    Every `*.dist-info` name on sys.path carries its version, so upgrading scikit-learn (or DVC, or numpy)
    changes this value without importing any of them.
    """
    parts = [sys.version, sys.platform, platform.machine(), sys.prefix]
    for entry in sys.path:
        try:
            names = sorted(n for n in os.listdir(entry or ".") if n.endswith((".dist-info", ".egg-info", ".egg-link")))
        except OSError:
            continue
        if names:  # the working directory (sys.path[0] under `python -m`) must not change the value
            parts.append(entry + "\0" + "\0".join(names))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
