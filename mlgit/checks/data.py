"""Data checks: each dataset against its schema file and the expectations in mlgit.yaml, plus drift of its
profile against the one committed at the base revision.

Every check of a dataset is one streaming pass (one polars query of aggregates), so a run reports every
finding at about the cost of reading the data once; results are cached by content (`checkcache`). Checking
never writes a file: when the profile beside the schema no longer describes the data, a finding says so, and
`mlgit check data --update-profile` (`mlgit.actions.profiles`) rewrites it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from mlgit.checks import judge, query, rules
from mlgit.checks.check import Context, Family
from mlgit.config.settings import CONFIG_NAME, Config, Dataset
from mlgit.data import profile, table
from mlgit.data import schema as schemas
from mlgit.errors import MlgitError
from mlgit.registry import baseline
from mlgit.repo import cache as checkcache
from mlgit.repo.state import RepoState
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.results.serialize import plain
from mlgit.system import files, statedir


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
            self._lines = schemas.line_map(self.raw_cfg, _cache_dir(self.root))
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
    return statedir.path(root)


def _read_text(root: Path, rel: str, limit: int = files.MAX_CONFIG_BYTES) -> bytes | None:
    try:
        return files.read_small(root, rel, limit=limit)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MlgitError(f"cannot read {rel}: {exc.strerror}") from None


def _profile_stale(ctx: _Context, ds: Dataset, prof: profile.Profile | None) -> list[Finding]:
    """Say so when the profile beside the schema no longer describes the data; writing it is an action's job."""
    if prof is None:
        return []
    rel = schemas.profile_path(ds.schema_path)
    old = _read_text(ctx.root, rel, files.MAX_PROFILE_BYTES)
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
    schema_raw = _read_text(ctx.root, ds.schema_path, files.MAX_SCHEMA_BYTES)
    try:
        source = table.locate(ctx.root, ds.path, ds.format, ctx.hashes.keys())
    except table.TableError as exc:
        return _failed(ctx, ds, exc, started)
    md5 = ctx.hashes.get(ds.path)
    digest = checkcache.key(_config_key(ctx, ds), schema_raw, md5, source.fingerprint, source.format)
    hit = _cached(ctx, ds, digest, started) if ctx.use_cache else None
    if hit is not None:
        return hit
    try:
        sch = schemas.parse(schema_raw, ds.schema_path, _cache_dir(ctx.root)) if schema_raw is not None else None
    except MlgitError as exc:
        return _invalid_schema(ds, exc, started)
    try:
        found, prof, rows = _scanned(ctx, ds, source, sch, md5)
    except table.TableError as exc:
        return _failed(ctx, ds, exc, started)
    if sch is None:
        found.insert(0, _no_schema(ctx, ds))
    found = judge.promote(found, ds)
    entry = {"findings": [plain(f) for f in found], "profile": profile.dumps(prof) if prof else None, "rows": rows}
    checkcache.store(ctx.root, ds.name, digest, entry)
    found += _profile_stale(ctx, ds, prof)
    return DatasetResult(ds.name, ds.path, tuple(found), prof, rows, time.perf_counter() - started, False)


def _cached(ctx: _Context, ds: Dataset, digest: str, started: float) -> DatasetResult | None:
    hit = checkcache.load(ctx.root, ds.name, digest)
    if hit is None:
        return None
    try:
        found = [Finding(**f) for f in hit["findings"]]
        prof = profile.loads(hit["profile"], "cache") if hit.get("profile") else None
    except (MlgitError, TypeError, KeyError):
        return None  # an entry from another mlgit version, or damaged: check again
    found += _profile_stale(ctx, ds, prof)
    return DatasetResult(ds.name, ds.path, tuple(found), prof, hit.get("rows"), time.perf_counter() - started, True)


def _invalid_schema(ds: Dataset, exc: MlgitError, started: float) -> DatasetResult:
    f = Finding(
        code=Code.DATA_INVALID_SCHEMA,
        severity=Severity.ERROR,
        subject=ds.name,
        message=exc.message,
        file=ds.schema_path,
        line=exc.line,
    )
    return DatasetResult(ds.name, ds.path, (f,), None, None, time.perf_counter() - started, False)


def _no_schema(ctx: _Context, ds: Dataset) -> Finding:
    return Finding(
        code=Code.DATA_NO_SCHEMA,
        severity=Severity.ERROR,
        subject=ds.name,
        message=f"no schema file {ds.schema_path}: only mlgit.yaml expectations ran",
        file=CONFIG_NAME,
        line=ctx.dataset_line(ds.name),
        column=None,
        data={"path": ds.schema_path, "hint": f"run 'mlgit schema infer {ds.name}', review the file, commit it"},
    )


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


def _scanned(
    ctx: _Context, ds: Dataset, source: table.Source, sch: schemas.Schema | None, md5: str | None
) -> tuple[list[Finding], profile.Profile | None, int]:
    if ctx.progress is not None:
        ctx.progress.start(ds.name, source.label, source.size)
    try:
        return _scan_and_judge(ctx, ds, source, sch, md5)
    finally:
        if ctx.progress is not None:
            ctx.progress.done(ds.name)


def _sniffed(ctx: _Context, ds: Dataset, source: table.Source) -> list[Finding]:
    return [
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
        for p in table.sniff(source)
    ]


def _scan_and_judge(
    ctx: _Context, ds: Dataset, source: table.Source, sch: schemas.Schema | None, md5: str | None
) -> tuple[list[Finding], profile.Profile | None, int]:
    """Rules from the schema and expectations, one query for all of them, the aggregates judged into findings."""
    found = _sniffed(ctx, ds, source)
    actual = table.column_types(source, thorough=False)
    if sch is not None:
        found += rules.column_findings(ds.name, sch, actual)
    types, mismatched = rules.checked_types(ds.name, sch, actual, source.format)
    found += mismatched
    asked = rules.schema_rules(sch, types) if sch is not None else []
    extra, problems = rules.expectation_rules(ds, _expectation_lines(ctx, ds), types)
    found += problems
    asked += extra
    declared = {c.name: c for c in sch.columns} if sch is not None else {}
    typed = {n: t for n, t in types.items() if n in declared}
    specs = [profile.Spec(n, t, declared[n].values, not declared[n].unique) for n, t in typed.items()]

    def where(column: str) -> tuple[str, int | None]:
        if sch is not None:
            return sch.path, sch.line("columns", column, "type")
        return CONFIG_NAME, ctx.dataset_line(ds.name)

    scan = query.run(source, asked, types, actual, typed, specs, where)
    found += judge.findings(scan, ds.name)
    return found, _profile(ds, source, sch, md5, scan, specs, actual), scan.rows


def _profile(
    ds: Dataset,
    source: table.Source,
    sch: schemas.Schema | None,
    md5: str | None,
    scan: query.AggregateScan,
    specs: list[profile.Spec],
    actual: Mapping[str, str],
) -> profile.Profile | None:
    if sch is None:
        return None  # without a schema there is no committed profile to keep or to measure drift against
    numeric = [s.name for s in specs if s.numeric]
    smp = table.sample(source, numeric) if numeric and scan.rows else None
    return profile.build(
        ds.name, ds.path, source.format, md5, scan.rows, specs, scan.values, smp, tuple(actual.items())
    )


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
    raw_cfg = _read_text(root, CONFIG_NAME) or b""
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
    from mlgit.checks import drift

    profiles = {r.name: r.profile for r in results}
    return DataReport(results, ref, tuple(drift.against_base(repo, datasets, profiles, ref)))


def data_findings(repo: RepoState, cfg: Config, names: Sequence[str] = (), base: str | None = None) -> list[Finding]:
    """All data findings (validation and drift against `base`), severity error/warning/info."""
    return check(repo, cfg, names, base).findings


class DataCheck:
    """Every dataset against its schema and expectations, and its drift against the data base, as a `Check`."""

    family = Family.DATA

    def findings(self, ctx: Context) -> Iterator[Finding]:
        """Validation and drift findings of every declared dataset."""
        yield from check(ctx.repo, ctx.cfg, (), ctx.data_base).findings


def data_base(repo: RepoState, cfg: Config, spec: str | None) -> tuple[str | None, list[Finding]]:
    """The revision data is compared with for a `--base` in model terms (`baseline.for_data`), and its note.

    `mlgit check`, `mlgit check data` and `mlgit report` all ask here, so they compare data with the same base.
    """
    rev, note = baseline.for_data(repo, spec, cfg.models)
    return rev, [] if note is None else [
        Finding(code=Code.CHECK_BASE, severity=Severity.INFO, subject="data", message=note)
    ]
