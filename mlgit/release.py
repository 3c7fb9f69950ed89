"""The one action that writes the registry: an annotated release tag, created and optionally pushed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgit import git


def message(model: str, version: str, lineage: dict[str, Any]) -> str:
    """Tag message: a summary line, a blank line, then the lineage as JSON (GTO returns it verbatim)."""
    return f"Release {model} {version} (mlgit)\n\n{json.dumps(lineage, indent=2, sort_keys=True)}\n"


@dataclass(frozen=True)
class PushOutcome:
    """What the remote said to a tag push."""

    ok: bool
    taken: bool  # the remote already has a tag of that name: someone else took the version
    detail: str


def push(root: Path, remote: str, tag: str) -> PushOutcome:
    """Push a tag; on any failure the local tag is deleted so nothing half-done is left behind."""
    res = git.push_tag(root, remote, tag)
    if res.returncode == 0:
        return PushOutcome(True, False, "")
    git.delete_tag(root, tag)
    text = f"{res.out}\n{res.err}"
    taken = "already exists" in text or "[rejected]" in text
    return PushOutcome(False, taken, res.err.strip() or res.out.strip())
