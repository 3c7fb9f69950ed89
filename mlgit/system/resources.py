"""Files shipped with mlgit: workflow templates and the example repository."""

from __future__ import annotations

from pathlib import Path

from mlgit.errors import MlgitError

_PACKAGE = Path(__file__).parent.parent  # the mlgit package: wheels ship the folders inside it


def bundled(name: str) -> Path:
    """A folder shipped inside the wheel, or the top-level one of a source checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise MlgitError(f"the bundled '{name}' folder is missing from this installation", hint="reinstall mlgit")
