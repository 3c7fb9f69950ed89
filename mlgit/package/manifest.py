"""The bundle manifest (`manifest.json`, schema `mlgit.bundle/1`): validated with pydantic where it is read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgit.errors import MlgitError

SCHEMA = "mlgit.bundle/1"
NAME = "manifest.json"


def validate(doc: Any, source: str) -> dict[str, Any]:
    """The manifest as a plain dict once it matches `mlgit.bundle/1`; MlgitError naming each bad key."""
    from typing import Literal

    from pydantic import Field, ValidationError

    from mlgit.system.filemodel import FileModel

    class PythonSpec(FileModel):
        implementation: str
        version: str
        tag: str

    class Manifest(FileModel):
        schema_: Literal["mlgit.bundle/1"] = Field(alias="schema")
        model: str
        version: str
        tag: str
        commit: str = Field(pattern=r"^[0-9a-f]{40,64}$")
        created: int
        loader: str
        artifact: dict[str, Any]
        lineage: dict[str, Any] | None
        python: PythonSpec
        platform: str
        entry: str
        requirements: list[str]
        files: dict[str, str]
        mlgit: str

    try:
        return Manifest.model_validate(doc).model_dump(by_alias=True)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise MlgitError(f"{source}: not a valid {SCHEMA} manifest: {problems}") from None


def read(bundle: Path) -> dict[str, Any]:
    """Read and validate a bundle folder's manifest."""
    path = bundle / NAME
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MlgitError(f"{path}: cannot read the bundle manifest: {exc}") from None
    return validate(doc, str(path))
