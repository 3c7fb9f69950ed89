"""The one file writer: a file is replaced whole or not at all, never half-written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mlgit.errors import InputError


def write_bytes(path: Path, data: bytes, *, mode: int | None = None) -> None:
    """Write `data` to `path` through a temp file in the same folder, fsynced, then renamed over it.

    `mode`: the file's permission bits (e.g. 0o600 for a secret); by default an existing file's are kept.
    The temp file is private (0600) from its creation, so a secret is never readable by others on the way.

    A symlink at `path` is refused: renaming over it would replace the link, and following it would let a
    committed link make mlgit write outside the repository.
    """
    if path.is_symlink():
        raise InputError(
            f"{path} is a symbolic link; not writing through it", hint="remove the link or choose another path"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder: os.replace is atomic only within one file system.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _mode(path) if mode is None else mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, *, mode: int | None = None) -> None:
    """Write UTF-8 text (newlines as given) atomically; see `write_bytes`."""
    write_bytes(path, text.encode("utf-8"), mode=mode)


def _mode(path: Path) -> int:
    # mkstemp makes the file 0600; keep an existing file's mode, else what a plain open() would have made.
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
