"""Small text files read from the repository (mlgit.yaml, schemas, metrics, params), within bounds.

A pull request controls every byte of the tree, links included: a committed `metrics.json -> /dev/zero`
or `-> ~/.ssh/id_rsa` must not make mlgit hang or print a file from outside the repository. Data files
are streamed by their readers and are not capped here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from mlgit.errors import InputError

MAX_CONFIG_BYTES = 1024 * 1024  # mlgit.yaml
MAX_SCHEMA_BYTES = 16 * 1024 * 1024  # a schema file (about 100 bytes a column)
MAX_PIPELINE_BYTES = 8 * 1024 * 1024  # one dvc.yaml, dvc.lock or .dvc file
MAX_VALUES_BYTES = 8 * 1024 * 1024  # one metrics or params file
MAX_PROFILE_BYTES = 64 * 1024 * 1024  # a committed data profile (it grows with the column count)


def looks_utf16(head: bytes) -> bool:
    """Whether bytes look like UTF-16 text: a byte-order mark, or NUL bytes between (mostly ASCII) characters."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    pairs = len(head) // 2
    if pairs < 2:
        return False
    odd, even = head[1::2].count(0), head[0::2].count(0)
    return (odd >= pairs // 2 and even == 0) or (even >= pairs // 2 and odd == 0)


def read_small(root: Path, rel: str, *, limit: int, links_into: Sequence[Path] = ()) -> bytes:
    """The bytes of `root/rel`: a regular file inside `root` or reached by a link into `links_into`.

    Absent (or a dangling link): FileNotFoundError. A directory: IsADirectoryError. A device, pipe or
    socket, a link elsewhere, or more than `limit` bytes: InputError naming the file.
    """
    real, st = regular_file(root, rel, links_into=links_into)
    if st.st_size > limit:
        raise InputError(f"{st.st_size:,} bytes; a file of this kind may hold at most {limit:,} bytes", file=rel)
    with open(real, "rb") as fh:
        raw = fh.read(limit + 1)
    if len(raw) > limit:  # it grew between stat and read
        raise InputError(f"more than {limit:,} bytes; a file of this kind may hold at most {limit:,} bytes", file=rel)
    return raw


def regular_file(root: Path, rel: str, *, links_into: Sequence[Path] = ()) -> tuple[Path, os.stat_result]:
    """`root/rel` resolved, and its stat, when it is a regular file inside `root` or reached by a link into
    `links_into` (data files are then streamed by their readers, uncapped).

    Absent (or a dangling link): FileNotFoundError. A directory: IsADirectoryError. A device, pipe or
    socket, or a link elsewhere: InputError naming the file.
    """
    path = root / rel
    try:
        st = os.stat(path)
    except NotADirectoryError:
        raise FileNotFoundError(path) from None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise InputError(f"cannot read it: {exc.strerror}", file=rel) from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(st.st_mode):
        raise InputError("not a regular file (a device, pipe or socket); mlgit reads only regular files", file=rel)
    real = path.resolve()
    allowed = [Path(root).resolve(), *(Path(p).resolve() for p in links_into)]
    if not any(real.is_relative_to(a) for a in allowed):
        raise InputError(
            f"a link out of the repository (to {real}); mlgit follows links only inside the repository"
            " or into the DVC cache",
            file=rel,
        )
    return real, st
