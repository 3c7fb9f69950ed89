"""Writing schema files and the data profiles beside them: the one place either is changed.

Checks only read; `mlgit schema infer` and `mlgit check data --update-profile` call this with what the data
check measured, so CI (which runs neither) never changes a committed file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlgit.checks.data import DatasetResult
from mlgit.config.settings import Dataset
from mlgit.data import inference, profile
from mlgit.data import schema as schemas
from mlgit.errors import MlgitError
from mlgit.repo import git
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.system import atomic


def write_schema(root: Path, ds: Dataset, schema: schemas.Schema, rows: int) -> None:
    """Write an inferred schema file with the header that tells a reviewer what it is."""
    header = (
        f"Schema of dataset {ds.name!r} ({ds.path}), checked by 'mlgit check data' on every commit.",
        f"Inferred by 'mlgit schema infer' from {rows} rows: review it, tighten or loosen it, and commit it.",
        "Column keys: type, nullable, max_null_fraction, min, max, values, unique, regex, finite, description.",
    )
    atomic.write_text(root / ds.schema_path, schemas.render(schema, header))


def update(root: Path, datasets: Sequence[Dataset], results: Sequence[DatasetResult]) -> list[Finding]:
    """Write each checked dataset's profile where the file differs from it; one finding per file touched."""
    measured = {r.name: r.profile for r in results}
    out: list[Finding] = []
    for ds in datasets:
        prof = measured.get(ds.name)
        if prof is not None:
            out += _write(root, ds, prof)
    return out


def _current(path: Path, rel: str, prof: profile.Profile) -> tuple[bool, bool]:
    """Whether the file exists, and whether it already describes `prof` (a damaged one does not)."""
    try:
        old = path.read_bytes()
    except FileNotFoundError:
        return False, False
    try:
        return True, profile.same(profile.loads(old, rel), prof)
    except MlgitError:
        return True, False


def _write(root: Path, ds: Dataset, prof: profile.Profile) -> list[Finding]:
    rel = schemas.profile_path(ds.schema_path)
    existed, same = _current(root / rel, rel, prof)
    if same:
        return []
    text = profile.dumps(prof)
    try:
        atomic.write_text(root / rel, text)
    except OSError as exc:
        msg = f"cannot write {rel}: {exc.strerror}"
        return [
            Finding(
                code=Code.DATA_PROFILE_NOT_WRITTEN, severity=Severity.WARNING, subject=ds.name, message=msg, file=rel
            )
        ]
    if git.head(root) is not None and git.show_files(root, "HEAD", [rel]).get(rel) == text.encode():
        msg = f"profile {rel} restored to the committed one (the data is back to what was committed)"
    else:
        msg = f"profile {rel} {'updated to match the data' if existed else 'written'}; commit it with the data"
    return [
        Finding(
            code=Code.DATA_PROFILE_UPDATED,
            severity=Severity.INFO,
            subject=ds.name,
            message=msg,
            file=rel,
            data={"path": rel},
        )
    ]


@dataclass(frozen=True)
class WrittenSchema:
    """One dataset's schema and profile as `schema infer` wrote them (its `--json` entry)."""

    name: str
    schema: str
    profile: str
    rows: int
    columns: int
    notes: tuple[str, ...]
    findings: tuple[Finding, ...]  # warnings and errors of the first check against the new schema

    @classmethod
    def of(cls, ds: Dataset, inf: inference.Inferred, findings: Sequence[Finding]) -> WrittenSchema:
        """The entry of dataset `ds`, showing its own findings but the informational ones."""
        shown = tuple(f for f in findings if f.subject == ds.name and f.severity is not Severity.INFO)
        path = ds.schema_path
        notes = tuple(inf.notes)
        return cls(ds.name, path, schemas.profile_path(path), inf.rows, len(inf.schema.columns), notes, shown)


@dataclass(frozen=True)
class InferredSchemas:
    """`schema infer --json`: every schema written, and the datasets skipped (not pulled) with their finding."""

    datasets: tuple[WrittenSchema, ...]
    skipped: tuple[Finding, ...]
