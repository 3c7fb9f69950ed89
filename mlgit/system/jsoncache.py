"""A content-addressed JSON cache under .git/mlgit: validated files and parsed values, read back fast.

`MLGIT_NO_CACHE=1` turns it off (and every other mlgit cache, `mlgit.repo.cache`): nothing is read or written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlgit.errors import MlgitError
from mlgit.system import atomic

NO_CACHE_ENV = "MLGIT_NO_CACHE"


def enabled() -> bool:
    """False when `MLGIT_NO_CACHE=1`."""
    return os.environ.get(NO_CACHE_ENV, "") != "1"


def get(path: Path | None) -> Any:
    """The cached value, or None when absent or unreadable (a cache miss is never an error)."""
    if path is None or not enabled():
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def put(path: Path | None, value: Any) -> None:
    """Store a value atomically; a read-only or missing .git only costs speed."""
    if path is None or not enabled():
        return
    try:
        atomic.write_text(path, json.dumps(value))
    except (OSError, MlgitError):
        pass
