"""The one base of the pydantic models of files mlgit reads: mlgit.yaml, schema files, bundle manifests.

Imported only by the modules that parse such a file (pydantic is heavy; `mlgit --help` never loads it).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FileModel(BaseModel):
    """A key the format does not know is an error naming it (a typo is never ignored); a parsed file is a value."""

    model_config = ConfigDict(extra="forbid", frozen=True)
