"""A content-addressed JSON cache under .git/mlgit: validated files and parsed values, read back fast."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def get(path: Path | None) -> Any:
    """The cached value, or None when absent or unreadable (a cache miss is never an error)."""
    if path is None:
        return None
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def put(path: Path | None, value: Any) -> None:
    """Store a value atomically; a read-only or missing .git only costs speed."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(value))
        os.replace(tmp, path)
    except OSError:
        pass
