"""Deterministic `.tar.gz`: sorted entries, one fixed mtime, no owners, fixed modes, gzip without a timestamp."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from pathlib import Path

# Wheels are zip files already: a higher level would cost seconds and save little.
_LEVEL = 1


def write(folder: Path, dest: Path, mtime: int) -> str:
    """Archive `folder` (as its own top-level directory) into `dest`; return the archive's sha256."""
    # Streamed to a temp file and renamed, not through system.atomic: the archive can be gigabytes.
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=_LEVEL) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for rel, path in _entries(folder):
                    info, fh = _member(f"{folder.name}/{rel}" if rel else folder.name, path, mtime)
                    tar.addfile(info, fh)
                    if fh is not None:
                        fh.close()
    os.replace(tmp, dest)
    return sha256_of(dest)


def _entries(folder: Path) -> list[tuple[str, Path]]:
    found = [("", folder)]
    for path in folder.rglob("*"):
        found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


def _member(name: str, path: Path, mtime: int) -> tuple[tarfile.TarInfo, io.BufferedReader | None]:
    info = tarfile.TarInfo(name)
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if path.is_dir():
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        return info, None
    info.size = path.stat().st_size
    info.mode = 0o644
    return info, path.open("rb")


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract(archive: Path, dest: Path) -> Path:
    """Unpack a bundle archive into `dest`; return the bundle folder. Refuses links and paths that escape."""
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        tops = {m.name.split("/", 1)[0] for m in members}
        for m in members:
            if not (m.isfile() or m.isdir()) or m.name.startswith("/") or ".." in m.name.split("/"):
                raise ValueError(f"{archive.name}: unsafe entry {m.name!r}")
        if len(tops) != 1:
            raise ValueError(f"{archive.name}: expected one top-level folder, found {len(tops)}")
        tar.extractall(dest, members=members, filter="data")
    return dest / tops.pop()
