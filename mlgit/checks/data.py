"""Data checks: each dataset against its schema file and the expectations in mlgit.yaml, plus drift of its
profile against the one committed at the base revision.

Every check of a dataset is one streaming pass (one polars query of aggregates), so a run reports every
finding at about the cost of reading the data once; results are cached by content (`checkcache`). Checking
never writes a file: when the profile beside the schema no longer describes the data, a finding says so, and
`mlgit check data --update-profile` (`mlgit.actions.profiles`) rewrites it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlgit.checks.check import Context, Family
from mlgit.config.settings import CONFIG_NAME, Config, Dataset, Expectation
from mlgit.data import profile, table
from mlgit.data import schema as schemas
from mlgit.errors import MlgitError
from mlgit.registry import baseline
from mlgit.repo import cache as checkcache
from mlgit.repo.state import RepoState
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.results.serialize import plain

if TYPE_CHECKING:
    import polars as pl

SAMPLES = 5
SAMPLE_CHARS = 80  # a sample value longer than this is cut (a 5 MB field stays out of reports)


class Progress(Protocol):
    """Told when a dataset's scan starts and ends (the command shows it on a terminal)."""

    def start(self, dataset: str, label: str, size: int) -> None:
        """A scan begins."""

    def done(self, dataset: str) -> None:
        """The scan ended."""


@dataclass(frozen=True)
class DatasetResult:
    """What checking one dataset found."""

    name: str
    path: str
    findings: tuple[Finding, ...]
    profile: profile.Profile | None
    rows: int | None
    seconds: float
    cached: bool


@dataclass(frozen=True)
class DataReport:
    """A whole `check data` run."""

    results: tuple[DatasetResult, ...]
    base: baseline.Baseline | None
    drift: tuple[Finding, ...] = ()

    @property
    def findings(self) -> list[Finding]:
        """Every finding: per dataset, then drift."""
        out = [f for r in self.results for f in r.findings]
        return out + list(self.drift)


# -- rules -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    code: Code
    kind: str  # mask | null_fraction | unique | rows | mean | std
    column: str | None
    severity: Severity
    file: str
    line: int | None
    what: str  # the constraint, as a person reads it
    low: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()
    pattern: str | None = None
    fraction: float | None = None
    test: str = ""  # mask rules: nulls | range | set | regex | finite | parse


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _bound_text(low: Any, high: Any) -> str:
    if low is None:
        return f"<= {_fmt(high)}"
    if high is None:
        return f">= {_fmt(low)}"
    return f"in [{_fmt(low)}, {_fmt(high)}]"


def _schema_rules(s: schemas.Schema, present: Mapping[str, str]) -> list[_Rule]:
    rules: list[_Rule] = []
    if s.rows_min is not None or s.rows_max is not None:
        what = f"rows {_bound_text(s.rows_min, s.rows_max)}"
        rules.append(
            _Rule(
                Code.DATA_ROW_COUNT, "rows", None, Severity.ERROR, s.path, s.line("rows"), what, s.rows_min, s.rows_max
            )
        )
    for c in s.columns:
        if c.name not in present:
            continue

        def add(code: Code, kind: str, key: str, what: str, c: schemas.Column = c, **kw: Any) -> None:
            rules.append(_Rule(code, kind, c.name, Severity.ERROR, s.path, s.line("columns", c.name, key), what, **kw))

        if not c.nullable:
            add(Code.DATA_NULLS, "mask", "nullable", "nulls where the schema says nullable: false", test="nulls")
        elif c.max_null_fraction is not None:
            what = f"max_null_fraction {c.max_null_fraction:g}"
            add(Code.DATA_NULL_FRACTION, "null_fraction", "max_null_fraction", what, fraction=c.max_null_fraction)
        if c.min is not None or c.max is not None:
            lo, hi = _fmt(c.min) if c.min is not None else "-inf", _fmt(c.max) if c.max is not None else "inf"
            what = f"outside the schema's range [{lo}, {hi}]"
            add(
                Code.DATA_OUT_OF_RANGE,
                "mask",
                "min" if c.min is not None else "max",
                what,
                low=c.min,
                high=c.max,
                test="range",
            )
        if c.values is not None:
            what = "not among the schema's allowed values"
            add(Code.DATA_UNEXPECTED_VALUE, "mask", "values", what, values=c.values, test="set")
        if c.regex is not None:
            add(Code.DATA_REGEX_MISMATCH, "mask", "regex", f"not matching {c.regex!r}", pattern=c.regex, test="regex")
        if c.unique:
            add(Code.DATA_NOT_UNIQUE, "unique", "unique", "unique: true")
        if c.type == "float" and c.finite:
            what = "NaN or infinite (set finite: false in the schema to allow them)"
            add(Code.DATA_NON_FINITE, "mask", "type", what, test="finite")
    return rules


def _expectation_rules(
    ds: Dataset, lines: Sequence[int | None], present: Mapping[str, str]
) -> tuple[list[_Rule], list[Finding]]:
    rules: list[_Rule] = []
    problems: list[Finding] = []
    for e, line in zip(ds.expectations, lines, strict=True):
        if e.column is not None and e.column not in present:
            problems.append(
                Finding(
                    code=Code.DATA_MISSING_COLUMN,
                    severity=Severity.ERROR,
                    subject=ds.name,
                    message=f"expectation {e.index + 1} ({e.kind}) names column {e.column!r}, which the data does not have",
                    file=CONFIG_NAME,
                    line=line,
                    column=e.column,
                )
            )
            continue
        type_ = present.get(e.column or "", "other")
        needs = _NEEDS.get(e.kind)
        if needs is not None and type_ not in needs:
            problems.append(
                Finding(
                    code=Code.DATA_INVALID_EXPECTATION,
                    severity=Severity.ERROR,
                    subject=ds.name,
                    message=f"expectation {e.index + 1} ({e.kind}) needs a {' or '.join(sorted(needs))} column; "
                    f"{e.column} is {type_}",
                    file=CONFIG_NAME,
                    line=line,
                    column=e.column,
                )
            )
            continue
        rules.append(_expectation_rule(e, line))
    return rules, problems


_NEEDS = {
    "between": schemas.NUMERIC,
    "mean_between": schemas.NUMERIC,
    "std_between": schemas.NUMERIC,
}


def set_values(values: Sequence[Any], type_: str) -> list[Any]:
    """Allowed values in the column's own type (values that cannot be of that type cannot match)."""
    out: list[Any] = []
    for v in values:
        if type_ == "string":
            out.append(v if isinstance(v, str) else json.dumps(v))
        elif type_ == "bool":
            if isinstance(v, bool):
                out.append(v)
        elif isinstance(v, bool) or isinstance(v, str):
            continue
        elif type_ == "int":
            if float(v).is_integer():
                out.append(int(v))
        elif type_ == "float":
            out.append(float(v))
    return out


def _expectation_rule(e: Expectation, line: int | None) -> _Rule:
    def rule(code: Code, kind: str, what: str, **kw: Any) -> _Rule:
        return _Rule(code, kind, e.column, e.severity, CONFIG_NAME, line, what, **kw)

    bounds = _bound_text(e.low, e.high)
    if e.kind == "not_null":
        return rule(Code.DATA_NULLS, "mask", "nulls (expectation not_null)", test="nulls")
    if e.kind == "unique":
        return rule(Code.DATA_NOT_UNIQUE, "unique", "expectation unique")
    if e.kind == "between":
        return rule(
            Code.DATA_OUT_OF_RANGE, "mask", f"outside the expectation {bounds}", low=e.low, high=e.high, test="range"
        )
    if e.kind == "in_set":
        return rule(Code.DATA_UNEXPECTED_VALUE, "mask", "not in the expectation's in_set", values=e.values, test="set")
    if e.kind == "regex":
        return rule(Code.DATA_REGEX_MISMATCH, "mask", f"not matching {e.pattern!r}", pattern=e.pattern, test="regex")
    if e.kind == "max_null_fraction":
        return rule(Code.DATA_NULL_FRACTION, "null_fraction", f"max_null_fraction {e.fraction:g}", fraction=e.fraction)
    if e.kind == "rows_between":
        return rule(Code.DATA_ROW_COUNT, "rows", f"rows {bounds}", low=e.low, high=e.high)
    kind = "mean" if e.kind == "mean_between" else "std"
    return rule(Code(f"data.{kind}-out-of-band"), kind, f"{kind} {bounds}", low=e.low, high=e.high)


# -- one pass of aggregates ------------------------------------------------------------------------------------


def _literal(v: Any, type_: str) -> Any:
    if isinstance(v, str) and type_ == "date":
        return dt.date.fromisoformat(v[:10])
    if isinstance(v, str) and type_ == "datetime":
        return dt.datetime.fromisoformat(v)
    return v


def _mask(rule: _Rule, c: pl.Expr, type_: str) -> pl.Expr:
    import polars as pl

    if rule.test == "nulls":
        return c.is_null()
    if rule.test == "finite":
        return c.is_nan() | c.is_infinite()
    if rule.test == "range":
        parts: list[pl.Expr] = []
        if rule.low is not None:
            parts.append(c < _literal(rule.low, type_))
        if rule.high is not None:
            parts.append(c > _literal(rule.high, type_))
        out = parts[0] if len(parts) == 1 else parts[0] | parts[1]
        # NaN and inf have their own finding; polars orders NaN above every number.
        return c.is_finite() & out if type_ == "float" else out
    if rule.test == "set":
        if type_ not in ("string", "bool", "int", "float"):
            text = c.cast(pl.String)
            return text.is_not_null() & ~text.is_in([str(v) for v in rule.values])
        return c.is_not_null() & ~c.is_in(set_values(rule.values, type_))
    if rule.test == "regex":
        text = c if type_ == "string" else c.cast(pl.String)
        return text.is_not_null() & ~text.str.contains(rule.pattern or "")
    raise AssertionError(rule.test)


def _aggregates(rule: _Rule, i: int, c: pl.Expr | None, type_: str) -> list[pl.Expr]:
    import polars as pl

    a = f"\x1fr{i}"
    if rule.kind == "rows":
        return []
    assert c is not None
    if rule.kind == "mask":
        # Counting nulls from the validity mask is cheaper, and the same aggregate as the profile's.
        count = c.null_count() if rule.test == "nulls" else _mask(rule, c, type_).sum()
        return [count.alias(f"{a}n")]
    if rule.kind == "null_fraction":
        return [c.null_count().alias(f"{a}n")]
    if rule.kind == "unique":
        return [c.n_unique().alias(f"{a}u"), c.null_count().alias(f"{a}z")]
    finite = pl.when(c.is_finite()).then(c) if type_ == "float" else c.cast(pl.Float64)
    return [(finite.mean() if rule.kind == "mean" else finite.std()).alias(f"{a}v")]


def _sample_values(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values or []:
        if isinstance(v, float) and not math.isfinite(v):
            out.append(str(v))
        elif isinstance(v, str) and len(v) > SAMPLE_CHARS:
            out.append(v[: SAMPLE_CHARS - 3] + "...")
        elif isinstance(v, dt.date | dt.datetime):
            out.append(v.isoformat())
        else:
            out.append(v)
    return out


def _judge(rule: _Rule, i: int, res: Mapping[str, Any], rows: int, dataset: str) -> Finding | None:
    a = f"\x1fr{i}"
    col = rule.column
    where = f"{col}: " if col else ""
    data: dict[str, Any] = {"rule": rule.what, "rows": rows}
    if rule.kind == "rows":
        ok = (rule.low is None or rows >= rule.low) and (rule.high is None or rows <= rule.high)
        if ok:
            return None
        data["value"] = rows
        return Finding(
            code=rule.code,
            severity=rule.severity,
            subject=dataset,
            message=f"{rows} rows, expected {rule.what}",
            file=rule.file,
            line=rule.line,
            column=None,
            data=data,
        )
    if rule.kind == "mask":
        n = int(res[f"{a}n"] or 0)
        if n == 0:
            return None
        samples = _sample_values(res.get(f"{a}s"))
        frac = n / rows if rows else 0.0
        data.update(count=n, fraction=frac, samples=samples)
        eg = f"; e.g. {', '.join(_fmt(s) if not isinstance(s, str) else repr(s) for s in samples)}" if samples else ""
        msg = f"{where}{n} of {rows} rows ({frac:.2%}) {rule.what}{eg}"
        return Finding(
            code=rule.code,
            severity=rule.severity,
            subject=dataset,
            message=msg,
            file=rule.file,
            line=rule.line,
            column=col,
            data=data,
        )
    if rule.kind == "null_fraction":
        n = int(res[f"{a}n"] or 0)
        frac = n / rows if rows else 0.0
        if rule.fraction is None or frac <= rule.fraction:
            return None
        data.update(count=n, fraction=frac, limit=rule.fraction)
        msg = f"{where}{n} of {rows} rows ({frac:.2%}) are null, above {rule.what} ({rule.fraction:.2%})"
        return Finding(
            code=rule.code,
            severity=rule.severity,
            subject=dataset,
            message=msg,
            file=rule.file,
            line=rule.line,
            column=col,
            data=data,
        )
    if rule.kind == "unique":
        nulls = int(res[f"{a}z"] or 0)
        distinct = int(res[f"{a}u"] or 0) - (1 if nulls else 0)
        dupes = rows - nulls - distinct
        if dupes <= 0:
            return None
        data.update(count=dupes, fraction=dupes / rows if rows else 0.0, samples=[])
        msg = f"{where}{dupes} of {rows} rows ({dupes / rows:.2%}) repeat a value, but the column must be unique"
        return Finding(
            code=rule.code,
            severity=rule.severity,
            subject=dataset,
            message=msg,
            file=rule.file,
            line=rule.line,
            column=col,
            data=data,
        )
    value = res[f"{a}v"]
    if value is not None and (rule.low is None or value >= rule.low) and (rule.high is None or value <= rule.high):
        return None
    data["value"] = value
    shown = "undefined (no values)" if value is None else f"{value:.6g}"
    msg = f"{where}{rule.kind} is {shown}, expected {rule.what}"
    return Finding(
        code=rule.code,
        severity=rule.severity,
        subject=dataset,
        message=msg,
        file=rule.file,
        line=rule.line,
        column=col,
        data=data,
    )


def _dedupe(aggs: Sequence[pl.Expr]) -> tuple[list[pl.Expr], dict[str, str]]:
    """Identical aggregates computed once (checks and the profile both count nulls, for instance)."""
    seen: dict[str, str] = {}
    kept: list[pl.Expr] = []
    same_as: dict[str, str] = {}
    for e in aggs:
        alias = e.meta.output_name()
        key = str(e.meta.undo_aliases())
        if key in seen:
            same_as[alias] = seen[key]
        else:
            seen[key] = alias
            kept.append(e)
    return kept, same_as


def _duplicates(lf: pl.LazyFrame, column: str, source: table.Source) -> list[Any]:
    import polars as pl

    q = (
        lf.group_by(column)
        .agg(pl.len().alias("\x1fn"))
        .filter((pl.col("\x1fn") > 1) & pl.col(column).is_not_null())
        .sort(["\x1fn", column], descending=[True, False])
        .head(SAMPLES)
    )
    df = table.collect(q, source)
    return [f"{_sample_values([v])[0]} ({n}x)" for v, n in df.iter_rows()]


# -- one dataset -----------------------------------------------------------------------------------------------


@dataclass
class _Context:
    root: Path
    raw_cfg: bytes
    hashes: Mapping[str, str]
    use_cache: bool
    progress: Progress | None
    _lines: dict[str, int] | None = field(default=None)

    def config_line(self, *keys: str | int) -> int | None:
        """The line of a key path in mlgit.yaml (the file is parsed for lines once per run)."""
        if self._lines is None:
            self._lines = schemas.line_map(self.raw_cfg)
        return self._lines.get(".".join(str(k) for k in keys))

    def dataset_line(self, name: str) -> int | None:
        return self.config_line("datasets", name)


def _expectation_lines(ctx: _Context, ds: Dataset) -> list[int | None]:
    return [ctx.config_line("datasets", ds.name, "expectations", e.index) for e in ds.expectations]


def _config_key(ctx: _Context, ds: Dataset) -> str:
    d: dict[str, Any] = asdict(ds)
    d.pop("drift")  # drift is measured after the cache, against whatever base is asked for
    # Cached findings point at mlgit.yaml lines: an edit that only moves them must not serve stale lines.
    d["lines"] = [ctx.dataset_line(ds.name), *_expectation_lines(ctx, ds)]
    return json.dumps(d, sort_keys=True, default=str)


def _cache_dir(root: Path) -> Path | None:
    return root / ".git" / "mlgit" if (root / ".git").is_dir() else None


def _read_text(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise MlgitError(f"cannot read {path}: {exc.strerror}") from None


def _promote(found: list[Finding], ds: Dataset) -> list[Finding]:
    if not ds.fail_on_warning:
        return found
    out = []
    for f in found:
        if f.severity == Severity.WARNING:
            f = Finding(
                code=f.code,
                severity=Severity.ERROR,
                subject=f.subject,
                message=f"{f.message} (fail_on_warning)",
                file=f.file,
                line=f.line,
                column=f.column,
                data={**f.data, "promoted_from": Severity.WARNING},
            )
        out.append(f)
    return out


def _profile_stale(ctx: _Context, ds: Dataset, prof: profile.Profile | None) -> list[Finding]:
    """Say so when the profile beside the schema no longer describes the data; writing it is an action's job."""
    if prof is None:
        return []
    rel = schemas.profile_path(ds.schema_path)
    old = _read_text(ctx.root / rel)
    if old is not None:
        try:
            if profile.same(profile.loads(old, rel), prof):
                return []
        except MlgitError:
            pass
    how = "run 'mlgit check data --update-profile' (or 'mlgit schema infer --force') and commit it with the data"
    what = "does not exist" if old is None else "does not describe the data any more"
    return [
        Finding(
            code=Code.DATA_PROFILE_STALE,
            severity=Severity.INFO,
            subject=ds.name,
            message=f"profile {rel} {what}: {how}",
            file=rel,
            data={"path": rel, "hint": how},
        )
    ]


def check_dataset(ctx: _Context, ds: Dataset) -> DatasetResult:
    """Validate one dataset (from the cache when nothing it depends on changed)."""
    started = time.perf_counter()
    schema_rel = ds.schema_path
    schema_raw = _read_text(ctx.root / schema_rel)
    try:
        source = table.locate(ctx.root, ds.path, ds.format, ctx.hashes.keys())
    except table.TableError as exc:
        return _failed(ctx, ds, exc, started)
    md5 = ctx.hashes.get(ds.path)
    digest = checkcache.key(_config_key(ctx, ds), schema_raw, md5, source.fingerprint, source.format)
    if ctx.use_cache:
        hit = checkcache.load(ctx.root, ds.name, digest)
        if hit is not None:
            try:
                found = [Finding(**f) for f in hit["findings"]]
                prof = profile.loads(hit["profile"], "cache") if hit.get("profile") else None
            except (MlgitError, TypeError, KeyError):
                hit = None
            else:
                found += _profile_stale(ctx, ds, prof)
                return DatasetResult(
                    ds.name, ds.path, tuple(found), prof, hit.get("rows"), time.perf_counter() - started, True
                )
    try:
        sch = schemas.parse(schema_raw, schema_rel, _cache_dir(ctx.root)) if schema_raw is not None else None
    except MlgitError as exc:
        f = Finding(
            code=Code.DATA_INVALID_SCHEMA,
            severity=Severity.ERROR,
            subject=ds.name,
            message=exc.message,
            file=schema_rel,
            line=exc.line,
        )
        return DatasetResult(ds.name, ds.path, (f,), None, None, time.perf_counter() - started, False)
    if ctx.progress is not None:
        ctx.progress.start(ds.name, source.label, source.size)
    try:
        found, prof, rows = _scan_and_judge(ctx, ds, source, sch, md5)
    except table.TableError as exc:
        return _failed(ctx, ds, exc, started)
    finally:
        if ctx.progress is not None:
            ctx.progress.done(ds.name)
    if sch is None:
        found.insert(
            0,
            Finding(
                code=Code.DATA_NO_SCHEMA,
                severity=Severity.ERROR,
                subject=ds.name,
                message=f"no schema file {schema_rel}: only mlgit.yaml expectations ran",
                file=CONFIG_NAME,
                line=ctx.dataset_line(ds.name),
                column=None,
                data={"path": schema_rel, "hint": f"run 'mlgit schema infer {ds.name}', review the file, commit it"},
            ),
        )
    found = _promote(found, ds)
    checkcache.store(
        ctx.root,
        ds.name,
        digest,
        {
            "findings": [plain(f) for f in found],
            "profile": profile.dumps(prof) if prof is not None else None,
            "rows": rows,
        },
    )
    found += _profile_stale(ctx, ds, prof)
    return DatasetResult(ds.name, ds.path, tuple(found), prof, rows, time.perf_counter() - started, False)


def _failed(ctx: _Context, ds: Dataset, exc: table.TableError, started: float) -> DatasetResult:
    data: dict[str, Any] = {"path": exc.file or ds.path}
    if exc.hint:
        data["hint"] = exc.hint
    msg = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
    f = Finding(
        code=exc.code,
        severity=Severity.ERROR,
        subject=ds.name,
        message=msg,
        file=CONFIG_NAME,
        line=ctx.dataset_line(ds.name),
        column=None,
        data=data,
    )
    return DatasetResult(ds.name, ds.path, (f,), None, None, time.perf_counter() - started, False)


def _scan_and_judge(
    ctx: _Context, ds: Dataset, source: table.Source, sch: schemas.Schema | None, md5: str | None
) -> tuple[list[Finding], profile.Profile | None, int]:
    import polars as pl

    found: list[Finding] = []
    problems = table.sniff(source)
    found += [
        Finding(
            code=p.code,
            severity=Severity.ERROR,
            subject=ds.name,
            message=p.message,
            file=CONFIG_NAME,
            line=ctx.dataset_line(ds.name),
            column=None,
            data={"path": p.file},
        )
        for p in problems
    ]
    actual = table.column_types(source, thorough=False)
    declared = {col.name: col for col in sch.columns} if sch is not None else {}
    if sch is not None:
        for col in sch.columns:
            if col.name not in actual:
                found.append(
                    Finding(
                        code=Code.DATA_MISSING_COLUMN,
                        severity=Severity.ERROR,
                        subject=ds.name,
                        message=f"{col.name}: the schema declares this column; the data does not have it",
                        file=sch.path,
                        line=sch.line("columns", col.name),
                        column=col.name,
                        data={"type": col.type},
                    )
                )
        for name in actual:
            if name not in declared:
                found.append(
                    Finding(
                        code=Code.DATA_UNEXPECTED_COLUMN,
                        severity=Severity.WARNING,
                        subject=ds.name,
                        message=f"{name}: the data has this column; the schema does not declare it",
                        file=sch.path,
                        line=sch.line("columns"),
                        column=name,
                        data={"type": actual[name]},
                    )
                )
    # Which type each present column is checked as; parquet's stored types are compared with the schema.
    types: dict[str, str] = {}
    for name, t in actual.items():
        decl = declared.get(name)
        if decl is None or decl.type == "other":
            types[name] = t
        elif source.format == "parquet" and t != decl.type and not (decl.type == "float" and t == "int"):
            assert sch is not None
            found.append(
                Finding(
                    code=Code.DATA_TYPE_MISMATCH,
                    severity=Severity.ERROR,
                    subject=ds.name,
                    message=f"{name}: stored as {t}, the schema says {decl.type}",
                    file=sch.path,
                    line=sch.line("columns", name, "type"),
                    column=name,
                    data={"actual": t, "declared": decl.type},
                )
            )
        else:
            types[name] = decl.type
    rules = _schema_rules(sch, types) if sch is not None else []
    extra, missing = _expectation_rules(ds, _expectation_lines(ctx, ds), types)
    found += missing
    rules += extra
    typed = {n: t for n, t in types.items() if n in declared}
    # Text formats: dates are read as text and converted in the query (polars' own CSV date parsing is slower),
    # unparseable values counted like any other type mismatch.
    as_text = [n for n, t in typed.items() if t in ("date", "datetime")] if source.format != "parquet" else []
    for attempt in (0, 1):
        lf = table.scan(source, {**typed, **{n: types[n] for n in as_text}}, as_text=as_text)
        # Convert once, before the aggregates (the streaming engine would repeat a conversion per use).
        converted: list[pl.Expr] = []
        for name, t in types.items():
            if name in as_text:
                converted += [pl.col(name).alias(f"\x1fraw:{name}"), table.coerce(pl.col(name), t).alias(name)]
            elif t == "float" and actual[name] == "int":
                converted.append(pl.col(name).cast(pl.Float64))
        if converted:
            lf = lf.with_columns(converted)
        exprs: dict[str, pl.Expr] = {name: pl.col(name) for name in types}
        raws: dict[str, pl.Expr] = {name: pl.col(f"\x1fraw:{name}") for name in as_text}
        run_rules = list(rules)
        for n in as_text:
            file, line = (sch.path, sch.line("columns", n, "type")) if sch else (CONFIG_NAME, ctx.dataset_line(ds.name))
            what = f"not readable as {types[n]}"
            run_rules.append(_Rule(Code.DATA_TYPE_MISMATCH, "mask", n, Severity.ERROR, file, line, what, test="parse"))
        aggs: list[pl.Expr] = [pl.len().alias("\x1frows")]
        # Masks of row-level rules, kept to fetch a few failing values afterwards (only for rules that fail).
        masks: dict[int, tuple[pl.Expr, pl.Expr]] = {}
        for i, r in enumerate(run_rules):
            name = r.column or ""
            if r.test == "parse":
                masks[i] = (raws[name].is_not_null() & exprs[name].is_null(), raws[name])
                aggs.append(masks[i][0].sum().alias(f"\x1fr{i}n"))
                continue
            if r.kind == "mask":
                masks[i] = (_mask(r, exprs[name], types[name]), raws.get(name, exprs[name]))
            aggs += _aggregates(r, i, exprs.get(name) if r.column else None, types.get(name, "other"))
        specs = [profile.Spec(n, types[n], declared[n].values, not declared[n].unique) for n in types if n in declared]
        aggs += profile.expressions(specs, exprs)
        unique_aggs, same_as = _dedupe(aggs)
        try:
            res = table.collect(lf.select(unique_aggs), source).row(0, named=True)
            res.update({alias: res[first] for alias, first in same_as.items()})
            break
        except table.TableError as exc:
            # A value the declared type cannot parse: read those columns as text and count what fails.
            if attempt or exc.code != Code.DATA_TYPE_MISMATCH or source.format == "parquet":
                raise
            as_text = [n for n, t in types.items() if t != "string"]
            if not as_text:
                raise
    rows = int(res["\x1frows"])
    res = dict(res)
    for i, (mask, shown) in masks.items():
        if res[f"\x1fr{i}n"]:
            df = table.collect(lf.filter(mask).select(shown.alias("v")).head(SAMPLES), source)
            res[f"\x1fr{i}s"] = df["v"].to_list()
    for i, r in enumerate(run_rules):
        f = _judge(r, i, res, rows, ds.name)
        if f is not None and r.kind == "unique":
            samples = _duplicates(lf.select(exprs[r.column or ""].alias(r.column or "")), r.column or "", source)
            f = Finding(
                code=f.code,
                severity=f.severity,
                subject=f.subject,
                message=f"{f.message}; e.g. {', '.join(samples)}" if samples else f.message,
                file=f.file,
                line=f.line,
                column=f.column,
                data={**f.data, "samples": samples},
            )
        if f is not None:
            found.append(f)
    prof = None
    if sch is not None:
        numeric = [s.name for s in specs if s.numeric]
        smp = table.sample(source, numeric) if numeric and rows else None
        prof = profile.build(ds.name, ds.path, source.format, md5, rows, specs, res, smp, tuple(actual.items()))
    return found, prof, rows


# -- the run -----------------------------------------------------------------------------------------------------


def select(cfg: Config, names: Sequence[str]) -> list[Dataset]:
    """The named datasets (all when none are named); unknown names are a usage error."""
    if not names:
        return list(cfg.datasets)
    known = {d.name: d for d in cfg.datasets}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise MlgitError(
            f"unknown dataset{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"{CONFIG_NAME} declares: {', '.join(known) or '(none)'}"
        )
    return [known[n] for n in dict.fromkeys(names)]


def _drift(
    repo: RepoState, datasets: Sequence[Dataset], results: Sequence[DatasetResult], base: baseline.Baseline
) -> list[Finding]:
    from mlgit.checks import drift

    assert base.commit is not None
    wanted = {ds.name: schemas.profile_path(ds.schema_path) for ds in datasets}
    root = repo.root
    blobs = repo.blobs(base.commit, wanted.values())
    out: list[Finding] = []
    base_hashes: dict[str, str] | None = None
    by_name = {r.name: r for r in results}
    for ds in datasets:
        if not ds.drift.enabled:
            continue
        current = by_name[ds.name].profile
        rel = wanted[ds.name]
        raw = blobs.get(rel)
        if current is None:
            continue
        if raw is None:
            out.append(
                Finding(
                    code=Code.DATA_DRIFT_NO_BASELINE,
                    severity=Severity.INFO,
                    subject=ds.name,
                    message=f"no profile {rel} committed at {base.label}: drift not measured",
                    file=rel,
                )
            )
            continue
        try:
            old = profile.loads(raw, f"{rel} at {base.label}")
        except MlgitError as exc:
            out.append(
                Finding(
                    code=Code.DATA_DRIFT_NO_BASELINE,
                    severity=Severity.WARNING,
                    subject=ds.name,
                    message=f"{exc.message}: drift not measured",
                    file=rel,
                )
            )
            continue
        if old.md5 is not None:
            if base_hashes is None:
                base_hashes = repo.dvc_hashes(base.commit)
            actual_md5 = base_hashes.get(ds.path)
            if actual_md5 is not None and actual_md5 != old.md5:
                out.append(
                    Finding(
                        code=Code.DATA_BASE_PROFILE_STALE,
                        severity=Severity.WARNING,
                        subject=ds.name,
                        message=f"the profile committed at {base.label} describes other data than that revision's "
                        f"{ds.path} (md5 {old.md5[:8]}, data {actual_md5[:8]}): drift is measured against "
                        "older statistics",
                        file=rel,
                    )
                )
        sch_raw = _read_text(root / ds.schema_path)
        raw_lines = schemas.line_map(sch_raw) if sch_raw is not None else {}
        sch_lines = {
            k.split(".", 1)[1]: v for k, v in raw_lines.items() if k.count(".") == 1 and k.startswith("columns.")
        }
        measures = drift.measure(old, current, ds.drift)
        out += _promote(drift.findings(ds.name, measures, ds.drift, base.label, ds.schema_path, sch_lines), ds)
    return out


def check(
    repo: RepoState,
    cfg: Config,
    names: Sequence[str] = (),
    base: str | None = None,
    *,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> DataReport:
    """Check the named datasets (all by default) and measure drift against `base` (default: the merge-base)."""
    root = repo.root
    datasets = select(cfg, names)
    raw_cfg = _read_text(root / CONFIG_NAME) or b""
    ctx = _Context(root, raw_cfg, table.dvc_hashes(root) if datasets else {}, use_cache, progress)
    results = tuple(check_dataset(ctx, ds) for ds in datasets)
    if not any(r.profile is not None for r in results):
        return DataReport(results, None)
    ref, why = baseline.or_reason(repo, base)
    if ref is None or ref.commit is None:
        note = Finding(
            code=Code.DATA_DRIFT_SKIPPED,
            severity=Severity.INFO,
            subject="data",
            message=f"drift not measured: {why or 'no base revision'}",
        )
        return DataReport(results, None, (note,))
    return DataReport(results, ref, tuple(_drift(repo, datasets, results, ref)))


def data_findings(repo: RepoState, cfg: Config, names: Sequence[str] = (), base: str | None = None) -> list[Finding]:
    """All data findings (validation and drift against `base`), severity error/warning/info."""
    return check(repo, cfg, names, base).findings


class DataCheck:
    """Every dataset against its schema and expectations, and its drift against the data base, as a `Check`."""

    family = Family.DATA

    def findings(self, ctx: Context) -> Iterator[Finding]:
        """Validation and drift findings of every declared dataset."""
        yield from check(ctx.repo, ctx.cfg, (), ctx.data_base).findings
