"""Schema changes against the base revision, each classified as breaking or compatible (`mlgit check schema`).

Two sides are compared with the base: the schema files (read at the base through git) and the data's actual
columns (the work tree's data against the column list the base's committed profile recorded). Breaking
changes fail unless this change accepts them in the schema file it edits: an `accepted_breaking:` entry that
names the change and gives a reason, added by this change (an entry already present at the base accepts
nothing new), so the acceptance is always in the diff a reviewer reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mlgit.checks.check import Context, Family
from mlgit.config.settings import CONFIG_NAME, Config, Dataset
from mlgit.data import profile, table
from mlgit.data import schema as schemas
from mlgit.errors import MlgitError
from mlgit.registry import baseline
from mlgit.repo.state import RepoState
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.system import files, statedir

_WORDS = {
    "column-removed": "column removed",
    "column-added": "column added",
    "type-changed": "type changed",
    "type-widened": "type widened",
    "values-removed": "allowed values removed",
    "values-added": "allowed values added",
    "values-restricted": "allowed values now restricted",
    "values-unrestricted": "allowed values no longer restricted",
    "nulls-allowed": "a non-null column may now have nulls",
    "nulls-forbidden": "nulls no longer allowed",
    "null-fraction-changed": "max_null_fraction changed",
    "range-widened": "range widened",
    "range-narrowed": "range narrowed",
    "unique-dropped": "no longer unique",
    "unique-added": "now unique",
    "regex-changed": "regex changed",
    "finite-changed": "finite changed",
    "rows-changed": "row-count bounds changed",
}

# The finding code of each kind of change, spelled out: a code is never assembled from text.
_CODES = {
    "column-removed": Code.SCHEMA_COLUMN_REMOVED,
    "column-added": Code.SCHEMA_COLUMN_ADDED,
    "type-changed": Code.SCHEMA_TYPE_CHANGED,
    "type-widened": Code.SCHEMA_TYPE_WIDENED,
    "values-removed": Code.SCHEMA_VALUES_REMOVED,
    "values-added": Code.SCHEMA_VALUES_ADDED,
    "values-restricted": Code.SCHEMA_VALUES_RESTRICTED,
    "values-unrestricted": Code.SCHEMA_VALUES_UNRESTRICTED,
    "nulls-allowed": Code.SCHEMA_NULLS_ALLOWED,
    "nulls-forbidden": Code.SCHEMA_NULLS_FORBIDDEN,
    "null-fraction-changed": Code.SCHEMA_NULL_FRACTION_CHANGED,
    "range-widened": Code.SCHEMA_RANGE_WIDENED,
    "range-narrowed": Code.SCHEMA_RANGE_NARROWED,
    "unique-dropped": Code.SCHEMA_UNIQUE_DROPPED,
    "unique-added": Code.SCHEMA_UNIQUE_ADDED,
    "regex-changed": Code.SCHEMA_REGEX_CHANGED,
    "finite-changed": Code.SCHEMA_FINITE_CHANGED,
    "rows-changed": Code.SCHEMA_ROWS_CHANGED,
}


@dataclass(frozen=True)
class SchemaChange:
    """One difference between the base and the work tree."""

    kind: str
    column: str | None
    detail: str
    sources: frozenset[str] = field(default_factory=lambda: frozenset({"schema"}))

    @property
    def breaking(self) -> bool:
        """Whether consumers relying on the base schema can break."""
        return self.kind in schemas.BREAKING


def _range_text(c: schemas.Column) -> str:
    lo = "-inf" if c.min is None else schemas.scalar(c.min).strip('"')
    hi = "inf" if c.max is None else schemas.scalar(c.max).strip('"')
    return f"[{lo}, {hi}]"


def _widened(old: schemas.Column, new: schemas.Column) -> tuple[bool, bool]:
    """(widened somewhere, narrowed somewhere) of the [min, max] range."""
    wider = narrower = False
    for key, lower_is_wider in (("min", True), ("max", False)):
        a, b = getattr(old, key), getattr(new, key)
        if a == b:
            continue
        if b is None:
            wider = True
        elif a is None:
            narrower = True
        elif (b < a) == lower_is_wider:
            wider = True
        else:
            narrower = True
    return wider, narrower


def column_changes(old: schemas.Column, new: schemas.Column) -> list[SchemaChange]:
    """How one column's declaration changed."""
    return [
        *_type_changes(old, new),
        *_null_changes(old, new),
        *_values_changes(old, new),
        *_range_changes(old, new),
        *_flag_changes(old, new),
    ]


def _type_changes(old: schemas.Column, new: schemas.Column) -> list[SchemaChange]:
    if old.type == new.type:
        return []
    kind = "type-widened" if (old.type, new.type) == ("int", "float") else "type-changed"
    return [SchemaChange(kind, new.name, f"{old.type} -> {new.type}")]


def _null_changes(old: schemas.Column, new: schemas.Column) -> list[SchemaChange]:
    n = new.name
    if not old.nullable and new.nullable:
        return [SchemaChange("nulls-allowed", n, "nullable: false -> true")]
    if old.nullable and not new.nullable:
        return [SchemaChange("nulls-forbidden", n, "nullable: true -> false")]
    if old.nullable and new.nullable and old.max_null_fraction != new.max_null_fraction:
        return [SchemaChange("null-fraction-changed", n, f"{old.max_null_fraction} -> {new.max_null_fraction}")]
    return []


def _values_changes(old: schemas.Column, new: schemas.Column) -> list[SchemaChange]:
    n = new.name
    if old.values == new.values:
        return []
    if new.values is None:
        return [SchemaChange("values-unrestricted", n, "any value allowed now")]
    if old.values is None:
        return [SchemaChange("values-restricted", n, f"only {_list(new.values)} now")]
    out = []
    gone = [v for v in old.values if v not in new.values]
    added = [v for v in new.values if v not in old.values]
    if gone:
        out.append(SchemaChange("values-removed", n, f"no longer allowed: {_list(gone)}"))
    if added:
        out.append(SchemaChange("values-added", n, f"newly allowed: {_list(added)}"))
    return out


def _range_changes(old: schemas.Column, new: schemas.Column) -> list[SchemaChange]:
    if (old.min, old.max) == (new.min, new.max) or old.type != new.type:
        return []
    wider, narrower = _widened(old, new)
    detail = f"{_range_text(old)} -> {_range_text(new)}"
    return [
        SchemaChange(kind, new.name, detail) for kind, on in (("range-widened", wider), ("range-narrowed", narrower)) if on
    ]


def _flag_changes(old: schemas.Column, new: schemas.Column) -> list[SchemaChange]:
    n, out = new.name, []
    if old.unique and not new.unique:
        out.append(SchemaChange("unique-dropped", n, "unique: true -> false"))
    elif new.unique and not old.unique:
        out.append(SchemaChange("unique-added", n, "unique: false -> true"))
    if old.regex != new.regex:
        out.append(SchemaChange("regex-changed", n, f"{old.regex!r} -> {new.regex!r}"))
    if old.finite != new.finite:
        out.append(SchemaChange("finite-changed", n, f"finite: {str(old.finite).lower()} -> {str(new.finite).lower()}"))
    return out


def _list(values: Sequence[schemas.Scalar]) -> str:
    shown = ", ".join(schemas.scalar(v) for v in values[:8])
    return shown + (f" (+{len(values) - 8} more)" if len(values) > 8 else "")


def diff(old: schemas.Schema, new: schemas.Schema) -> list[SchemaChange]:
    """Every change between two schema files."""
    out: list[SchemaChange] = []
    new_names = set(new.names)
    for c in old.columns:
        if c.name not in new_names:
            out.append(SchemaChange("column-removed", c.name, f"{c.type} column"))
    for c in new.columns:
        before = old.column(c.name)
        if before is None:
            out.append(SchemaChange("column-added", c.name, f"{c.type} column"))
        else:
            out += column_changes(before, c)
    if (old.rows_min, old.rows_max) != (new.rows_min, new.rows_max):
        out.append(
            SchemaChange("rows-changed", None, f"[{old.rows_min}, {old.rows_max}] -> [{new.rows_min}, {new.rows_max}]")
        )
    return out


def data_changes(base_columns: Sequence[str], current: Sequence[str]) -> list[SchemaChange]:
    """Columns the data gained or lost since the base."""
    data = frozenset({"data"})
    now = set(current)
    before = set(base_columns)
    out = [SchemaChange("column-removed", c, "the data no longer has it", data) for c in base_columns if c not in now]
    out += [SchemaChange("column-added", c, "new in the data", data) for c in current if c not in before]
    return out


def merge(schema_side: Sequence[SchemaChange], data_side: Sequence[SchemaChange]) -> list[SchemaChange]:
    """One change per (kind, column), remembering which sides saw it."""
    merged: dict[tuple[str, str | None], SchemaChange] = {}
    for ch in [*schema_side, *data_side]:
        key = (ch.kind, ch.column)
        if key in merged:
            prev = merged[key]
            merged[key] = SchemaChange(prev.kind, prev.column, prev.detail, prev.sources | ch.sources)
        else:
            merged[key] = ch
    return list(merged.values())


# -- findings --------------------------------------------------------------------------------------------------


def _parse(raw: bytes, source: str, root: Path) -> schemas.Schema:
    return schemas.parse(raw, source, statedir.path(root))


@dataclass(frozen=True)
class _Side:
    schema: schemas.Schema | None
    columns: tuple[str, ...] | None  # the data's actual columns, when known


def _base_side(raw_schema: bytes | None, raw_profile: bytes | None, label: str, rel: str, root: Path) -> _Side:
    sch = None
    if raw_schema is not None:
        try:
            sch = _parse(raw_schema, f"{rel} at {label}", root)
        except MlgitError:
            sch = None
    cols: tuple[str, ...] | None = None
    if raw_profile is not None:
        try:
            prof = profile.loads(raw_profile, f"{schemas.profile_path(rel)} at {label}")
            cols = tuple(name for name, _ in prof.actual) or None
        except MlgitError:
            cols = None
    return _Side(sch, cols)


def _dataset_findings(
    root: Path, ds: Dataset, base: baseline.Baseline, blobs: Mapping[str, bytes | None], hashes: Mapping[str, str]
) -> list[Finding]:
    rel = ds.schema_path
    try:
        new_raw: bytes | None = files.read_small(root, rel, limit=files.MAX_SCHEMA_BYTES)
    except FileNotFoundError:
        new_raw = None
    old_raw = blobs.get(rel)
    if new_raw is None:
        return [_no_schema_file(ds, old_raw is not None, base.label)]
    try:
        new = _parse(new_raw, rel, root)
    except MlgitError as exc:
        return [
            Finding(
                code=Code.SCHEMA_INVALID,
                severity=Severity.ERROR,
                subject=ds.name,
                message=exc.message,
                file=rel,
                line=exc.line,
            )
        ]
    old = _base_side(old_raw, blobs.get(schemas.profile_path(rel)), base.label, rel, root)
    current_cols, out = _current_columns(root, ds, hashes)
    if old.schema is None and old_raw is None:
        msg = f"{rel} is new (there is none at {base.label})"
        new_file = Finding(
            code=Code.SCHEMA_NEW,
            severity=Severity.INFO,
            subject=ds.name,
            message=msg,
            file=rel,
            line=1,
            data={"base": base.label},
        )
        return [*out, new_file]
    return out + _compared(ds, new, old, current_cols, base.label)


def _no_schema_file(ds: Dataset, at_base: bool, label: str) -> Finding:
    if at_base:
        return Finding(
            code=Code.SCHEMA_MISSING,
            severity=Severity.ERROR,
            subject=ds.name,
            message=f"{ds.schema_path} exists at {label} but not in the work tree: every constraint on {ds.name} is gone",
            file=CONFIG_NAME,
            data={"hint": f"restore it, or run 'mlgit schema infer {ds.name}'"},
        )
    return Finding(
        code=Code.SCHEMA_NONE,
        severity=Severity.WARNING,
        subject=ds.name,
        message=f"{ds.name} has no schema file {ds.schema_path}",
        file=CONFIG_NAME,
        data={"hint": f"run 'mlgit schema infer {ds.name}' and commit it"},
    )


def _current_columns(
    root: Path, ds: Dataset, hashes: Mapping[str, str]
) -> tuple[tuple[str, ...] | None, list[Finding]]:
    """The work tree data's columns (None when it cannot be read: then only the schema files are compared)."""
    try:
        source = table.locate(root, ds.path, ds.format, hashes.keys())
        return tuple(table.column_types(source, thorough=False)), []
    except table.TableError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        msg = f"the data's columns were not compared: {exc.message}{hint}"
        code = Code.SCHEMA_DATA_NOT_COMPARED
        return None, [Finding(code=code, severity=Severity.INFO, subject=ds.name, message=msg, file=ds.schema_path)]


def _compared(
    ds: Dataset, new: schemas.Schema, old: _Side, current_cols: tuple[str, ...] | None, label: str
) -> list[Finding]:
    """The changes from the base's schema (and data columns) to the work tree's, and unused acceptances."""
    rel = ds.schema_path
    out: list[Finding] = []
    if old.schema is None:
        msg = f"{rel} at {label} is not a valid schema: only the data's columns are compared"
        code = Code.SCHEMA_BASE_INVALID
        out.append(Finding(code=code, severity=Severity.WARNING, subject=ds.name, message=msg, file=rel))
    schema_side = diff(old.schema, new) if old.schema is not None else []
    base_cols = old.columns if old.columns is not None else (old.schema.names if old.schema is not None else None)
    data_side = data_changes(base_cols, current_cols) if base_cols is not None and current_cols is not None else []
    old_accepts = {a.key for a in old.schema.accepted} if old.schema is not None else set()
    fresh = [a for a in new.accepted if a.key not in old_accepts]
    used: set[tuple[str, str | None]] = set()
    for ch in merge(schema_side, data_side):
        out.append(_finding(ds, new, ch, fresh, old_accepts, used, label))
    for a in fresh:
        if a.key not in used:
            out.append(
                Finding(
                    code=Code.SCHEMA_ACCEPTANCE_UNUSED,
                    severity=Severity.WARNING,
                    subject=ds.name,
                    message=f"accepted_breaking entry {a.change}{' ' + a.column if a.column else ''} matches no "
                    f"breaking change against {label}: remove it",
                    file=rel,
                    line=a.line,
                )
            )
    return out


def _finding(
    ds: Dataset,
    new: schemas.Schema,
    ch: SchemaChange,
    fresh: Sequence[schemas.Acceptance],
    old_accepts: set[tuple[str, str | None]],
    used: set[tuple[str, str | None]],
    label: str,
) -> Finding:
    rel = new.path
    line = new.line("columns", ch.column) if ch.column and new.column(ch.column) is not None else new.line("columns")
    if ch.column is None:
        line = new.line("rows") or line
    what = _WORDS.get(ch.kind, ch.kind)
    subject = f"{ch.column}: " if ch.column else ""
    data: dict[str, object] = {
        "breaking": ch.breaking,
        "sources": sorted(ch.sources),
        "detail": ch.detail,
        "base": label,
    }

    def finding(severity: Severity, message: str, at: int | None, **extra: object) -> Finding:
        return Finding(
            code=_CODES[ch.kind],
            severity=severity,
            subject=ds.name,
            message=f"{subject}{what} ({ch.detail}); {message}",
            file=rel,
            line=at,
            column=ch.column,
            data={**data, **extra},
        )

    if not ch.breaking:
        return finding(Severity.INFO, "compatible", line, accepted=None)
    match = next((a for a in fresh if a.change == ch.kind and a.column in (ch.column, None)), None)
    if match is not None:
        used.add(match.key)
    if match is not None and "schema" in ch.sources:
        msg = f"breaking, accepted in {rel}: {match.reason}"
        return finding(Severity.INFO, msg, match.line or line, accepted=True, reason=match.reason)
    why = _why_breaking(ch, rel, match is not None, old_accepts, label)
    return finding(Severity.ERROR, f"breaking vs {label}. {why}", line, accepted=False)


def _why_breaking(ch: SchemaChange, rel: str, matched: bool, old_accepts: set[tuple[str, str | None]], label: str) -> str:
    """What to do about a breaking change that is not (or not fully) accepted."""
    if matched:
        # Accepted, but only the data changed: the schema file must say the same as the data.
        if ch.kind == "column-removed":
            return f"the schema file still declares {ch.column}: remove it there too, so the schema and the data agree"
        return "update the schema file to match the data"
    if (ch.kind, ch.column) in old_accepts or (ch.kind, None) in old_accepts:
        return (
            f"an accepted_breaking entry for it already exists at {label}: an acceptance only counts in the "
            "change that adds it; add a new entry (or re-word the existing one) in this change"
        )
    col = f", column: {ch.column}" if ch.column else ""
    accept = f"accepted_breaking: [{{change: {ch.kind}{col}, reason: ...}}]"
    if "schema" not in ch.sources and ch.kind == "column-removed":
        return f"{rel} still declares it: restore the column, or remove it from {rel} and add {accept}"
    return f"to accept it, add to {rel}: {accept}"


def schema_findings(repo: RepoState, cfg: Config, base: str | None = None) -> list[Finding]:
    """Each schema change against `base` (default: merge-base with the default branch), breaking or compatible."""
    if not cfg.datasets:
        return []
    root = repo.root
    ref = baseline.resolve(repo, base or "main")
    assert ref.commit is not None
    paths = [p for ds in cfg.datasets for p in (ds.schema_path, schemas.profile_path(ds.schema_path))]
    blobs = repo.blobs(ref.commit, paths)
    hashes = table.dvc_hashes(root)
    out: list[Finding] = []
    for ds in cfg.datasets:
        out += _dataset_findings(root, ds, ref, blobs, hashes)
    return out


class SchemaCheck:
    """Schema changes against the data base revision, as a `Check`."""

    family = Family.SCHEMA

    def findings(self, ctx: Context) -> Iterator[Finding]:
        """Each schema change of each dataset against `ctx.data_base`."""
        yield from schema_findings(ctx.repo, ctx.cfg, ctx.data_base)
