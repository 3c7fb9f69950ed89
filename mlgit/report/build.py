"""The pull-request report as typed data: gate verdict, metric/param/data changes, findings and history.

The core gathers; `mlgit.render.{markdown,html,text}` and `mlgit.results.serialize` (JSON, schema
`mlgit.report/1`, see docs/report-schema.md) only present. Checks written by other modules (data, schema,
model) are included through their findings, so a new check shows up in every format without touching the
renderers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mlgit import __version__
from mlgit.checks import data as datacheck
from mlgit.checks import model as model_check
from mlgit.checks import pipeline as pipeline_check
from mlgit.checks.check import Check, Context, Family, Stale
from mlgit.checks.suite import CHECKS
from mlgit.config.settings import CONFIG_NAME, Config, Model
from mlgit.errors import MissingRevision, MlgitError
from mlgit.registry import baseline, policy
from mlgit.registry import plan as release_plan
from mlgit.registry import tags as registry
from mlgit.registry.semver import Bump
from mlgit.repo import dvc as pipeline
from mlgit.repo import git, metrics
from mlgit.repo.state import RepoState
from mlgit.repo.values import ParamValue, ValueFile, number
from mlgit.report.policy import PolicyChange, change_of
from mlgit.results import serialize
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.results.status import Status

SCHEMA = "mlgit.report/1"
_GATE_CODES = ("model.metric", "model.gate")  # findings the gate verdict already states
HISTORY_LIMIT = 20  # releases shown in the metric history, newest kept
COMMITS_SHOWN = 50


class GateStatus(Status):
    """The gate verdict of one model: a release plan's status, or `error` when it could not be evaluated."""

    WOULD_RELEASE = "would-release"
    REJECTED = "rejected"
    ALREADY_RELEASED = "already-released"
    ERROR = "error"


class DataStatus(Status):
    """How a declared dataset's DVC hash differs from the base."""

    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    SAME = "same"
    UNTRACKED = "untracked"
    NO_BASELINE = "no-baseline"


class SectionStatus(Status):
    """What a family of checks found: nothing, findings, nothing it could run, or an error that stopped it."""

    OK = "ok"
    FINDINGS = "findings"
    UNAVAILABLE = "unavailable"
    NOT_RUN = "not-run"


class ReportVerdict(Status):
    """The report's answer: a gate or an error fails it, warnings (or a pipeline DVC could not judge) warn."""

    PASSED = "pass"
    WARNED = "warn"
    FAILED = "fail"


class Trend(Status):
    """Which way a metric moved: better or worse by its gate's direction, else up or down."""

    BETTER = "better"
    WORSE = "worse"
    SAME = "same"
    UP = "up"
    DOWN = "down"
    ADDED = "added"
    REMOVED = "removed"
    NA = "n/a"  # no baseline to compare with


class RuleMark(Status):
    """Whether the gate's rules on one metric hold."""

    PASSED = "pass"
    FAILED = "fail"


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a revision, a release, or nothing (no baseline)."""

    kind: baseline.BaselineKind
    label: str
    commit: str | None
    version: str | None = None
    tag: str | None = None

    @classmethod
    def of(cls, base: baseline.Baseline) -> Side:
        """The side a resolved baseline describes."""
        return cls(base.kind, base.label, base.commit, str(base.version) if base.version else None, base.tag)


@dataclass(frozen=True)
class MetricRow:
    """One metric compared with the base, marked by its declared direction and the gate's rules."""

    file: str
    key: str
    old: ParamValue
    new: ParamValue
    change: float | None
    status: metrics.KeyChange
    direction: str | None  # higher | lower when a gate declares it
    trend: Trend
    gate: RuleMark | None  # None when no rule covers the metric


@dataclass(frozen=True)
class ParamRow:
    """One changed parameter."""

    file: str
    key: str
    old: ParamValue
    new: ParamValue
    status: metrics.KeyChange  # never `same`: unchanged params are only counted


@dataclass(frozen=True)
class GateVerdict:
    """What `mlgit promote` would decide for this model, and why."""

    JSON_COMPUTED: ClassVar[Mapping[str, str]] = {"passed": "passed"}

    baseline: Side
    status: GateStatus
    rules: tuple[policy.RuleResult, ...] = ()
    first_release: bool = False
    improved: tuple[str, ...] = ()
    version: str | None = None
    tag: str | None = None
    bump: Bump | None = None
    error: str | None = None

    @property
    def passed(self) -> bool:
        """Whether promote would tag (or already has)."""
        return self.status in {GateStatus.WOULD_RELEASE, GateStatus.ALREADY_RELEASED}

    @property
    def failures(self) -> tuple[policy.RuleResult, ...]:
        """The failing rules."""
        return tuple(r for r in self.rules if not r.passed)


@dataclass(frozen=True)
class HistoryPoint:
    """A model's metrics at one release, or for this change (`current`)."""

    label: str
    tag: str | None
    commit: str | None
    date: str | None
    values: Mapping[str, float | None]
    current: bool = False


@dataclass(frozen=True)
class History:
    """The charted metrics of a model, their directions, and their values per release and for this change."""

    metrics: tuple[str, ...]
    directions: Mapping[str, str]
    points: tuple[HistoryPoint, ...]


@dataclass(frozen=True)
class ModelReport:
    """Everything the report says about one model."""

    JSON_COMPUTED: ClassVar[Mapping[str, str]] = {"history": "history_section"}

    name: str
    path: str
    gate: GateVerdict
    metrics: tuple[MetricRow, ...]
    # metrics files absent at the base: "no baseline", never zero
    no_baseline: tuple[str, ...] = field(metadata=serialize.key("metrics_without_baseline"))
    params: tuple[ParamRow, ...]
    params_unchanged: int
    history_metrics: tuple[str, ...] = field(metadata=serialize.OMIT)  # in JSON under `history` (History)
    directions: Mapping[str, str] = field(metadata=serialize.OMIT)  # charted metric -> higher | lower
    history: tuple[HistoryPoint, ...] = field(metadata=serialize.OMIT)
    policy_change: PolicyChange | None = None  # the change sets its policy differently (applies once merged)

    @property
    def history_section(self) -> History:
        """The release history as the JSON document nests it."""
        return History(self.history_metrics, self.directions, self.history)


@dataclass(frozen=True)
class DatasetChange:
    """A declared dataset's DVC hash at the base and now."""

    JSON_COMPUTED: ClassVar[Mapping[str, str]] = {"status": "status"}

    name: str
    path: str
    old_md5: str | None
    new_md5: str | None
    compared: bool = field(default=True, metadata=serialize.OMIT)  # False: no base revision to compare with (status)
    old_rows: int | None = None  # from the data profile committed at the base (None: no profile there)
    new_rows: int | None = None  # from the data profile in the work tree

    @property
    def rows(self) -> str:
        """`569`, `569 -> 600`, or `-`: the row counts the data profiles record."""
        if self.old_rows is None or self.old_rows == self.new_rows:
            return "-" if self.new_rows is None else str(self.new_rows)
        return f"{self.old_rows} -> {'-' if self.new_rows is None else self.new_rows}"

    @property
    def status(self) -> DataStatus:
        """How the dataset changed (`no-baseline`: nothing to compare with; `untracked`: DVC tracks it nowhere)."""
        if not self.compared:
            return DataStatus.NO_BASELINE
        if self.old_md5 is None and self.new_md5 is None:
            return DataStatus.UNTRACKED
        if self.old_md5 is None:
            return DataStatus.ADDED
        if self.new_md5 is None:
            return DataStatus.REMOVED
        return DataStatus.SAME if self.old_md5 == self.new_md5 else DataStatus.CHANGED


@dataclass(frozen=True)
class Section:
    """The findings of one family of checks (data, schema, model)."""

    key: str
    title: str
    status: SectionStatus
    findings: tuple[Finding, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Commit:
    """A commit between the base and HEAD."""

    sha: str
    author: str
    date: str
    subject: str


@dataclass(frozen=True)
class StaleStage:
    """A pipeline stage whose dvc.lock does not match the work tree."""

    stage: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class WorkTree:
    """The head side of the JSON document: the work tree's commit and its uncommitted paths."""

    kind: baseline.BaselineKind
    label: str
    commit: str | None
    version: str | None
    tag: str | None
    dirty: tuple[str, ...]


@dataclass(frozen=True)
class CommitSpan:
    """The commits between the base and HEAD: how many, and the newest shown."""

    total: int
    shown: tuple[Commit, ...]


@dataclass(frozen=True)
class Report:
    """The whole report of a change against its baseline; its JSON form (`serialize.plain`) is `mlgit.report/1`."""

    # `schema` comes first: `mlgit report --output` recognises a previous report by its first bytes.
    JSON_COMPUTED: ClassVar[Mapping[str, str]] = {
        "schema": "schema",
        "mlgit_version": "mlgit_version",
        "verdict": "verdict",
        "headline": "headline",
        "head": "worktree",
        "commits": "commit_span",
    }

    head: Side = field(metadata=serialize.OMIT)  # in JSON with `dirty` (WorkTree)
    base: Side
    dirty: tuple[str, ...] = field(metadata=serialize.OMIT)
    commits: tuple[Commit, ...] = field(metadata=serialize.OMIT)  # in JSON with the total (CommitSpan)
    commits_total: int = field(metadata=serialize.OMIT)
    models: tuple[ModelReport, ...]
    datasets: tuple[DatasetChange, ...]
    stale: tuple[StaleStage, ...] | None = field(metadata=serialize.key("stale_stages"))  # None: DVC could not tell
    sections: tuple[Section, ...]
    findings: tuple[Finding, ...]  # every finding: gate failures, stale pipeline, then the sections'
    links: Mapping[str, str] = field(default_factory=dict)  # run | full_report

    @property
    def verdict(self) -> ReportVerdict:
        """fail (a gate or an error finding fails) | warn (warnings, stale pipeline) | pass."""
        if any(not m.gate.passed for m in self.models) or any(f.severity is Severity.ERROR for f in self.findings):
            return ReportVerdict.FAILED
        if any(f.severity is Severity.WARNING for f in self.findings) or self.stale is None:
            return ReportVerdict.WARNED
        return ReportVerdict.PASSED

    @property
    def headline(self) -> str:
        """One sentence answering "is this change better, and safe to merge?"."""
        parts = []
        for m in self.models:
            g = m.gate
            if g.status is GateStatus.WOULD_RELEASE:
                parts.append(f"{m.name} would be released as {g.version}")
            elif g.status is GateStatus.ALREADY_RELEASED:
                parts.append(f"{m.name} is already released as {g.version}")
            elif g.status is GateStatus.ERROR:
                parts.append(f"{m.name} could not be evaluated")
            else:
                n = len(g.failures)
                parts.append(f"{m.name} would be rejected ({n} rule{'s' if n != 1 else ''} failed)")
        errors = sum(1 for f in self.findings if f.severity == Severity.ERROR and not f.code.startswith(_GATE_CODES))
        if errors:
            parts.append(f"{errors} check{'s' if errors != 1 else ''} failed")
        return "; ".join(parts) or "no models declared"

    @property
    def schema(self) -> str:
        """The JSON document's schema (`mlgit.report/1`, documented in docs/report-schema.md)."""
        return SCHEMA

    @property
    def mlgit_version(self) -> str:
        """The mlgit that made the report."""
        return __version__

    @property
    def worktree(self) -> WorkTree:
        """The head side with the uncommitted paths, as the JSON document has it."""
        h = self.head
        return WorkTree(h.kind, h.label, h.commit, h.version, h.tag, self.dirty)

    @property
    def commit_span(self) -> CommitSpan:
        """The commits compared, as the JSON document has them."""
        return CommitSpan(self.commits_total, self.commits)


# -- building -------------------------------------------------------------------------------------------------


def change_base(repo: RepoState, cfg: Config, spec: str | None, target_branch: str | None) -> baseline.Baseline:
    """The revision the change is compared with: `spec`, else the change's default (`baseline.for_change`)."""
    first = cfg.models[0] if cfg.models else None
    if spec is not None:
        return baseline.resolve(repo, spec, first)
    return baseline.for_change(repo, first, first.policy.base if first else "main", target_branch)


_TITLES = {Family.DATA: "Data", Family.SCHEMA: "Schema", Family.MODEL: "Model checks"}
_NOT_RUN = {
    Family.DATA: Code.REPORT_DATA_NOT_RUN,
    Family.SCHEMA: Code.REPORT_SCHEMA_NOT_RUN,
    Family.MODEL: Code.REPORT_MODEL_NOT_RUN,
}
# Codes the report shows in its own gate and pipeline sections; the rest of `check model` goes under "Model checks".
# `model.metric*` are the gate rules (overall and per slice): already in the gate verdict.
_OWN_MODEL_CODES = (
    Code.MODEL_BASELINE,
    "model.pipeline-",
    Code.MODEL_METRICS_MISSING,
    Code.MODEL_RULE_PASSED,
    "model.metric",
)


def _shown(family: Family, finding: Finding) -> bool:
    return family is not Family.MODEL or not finding.code.startswith(_OWN_MODEL_CODES)


def _section(family: Family, checks: Sequence[Check], ctx: Context) -> Section:
    key, title = family.value, _TITLES[family]
    if family is not Family.MODEL and not ctx.cfg.datasets:
        return Section(key, title, SectionStatus.OK, note=f"no datasets declared in {CONFIG_NAME}")
    if not checks:
        return Section(key, title, SectionStatus.UNAVAILABLE, note=f"no {key} check in this run")
    try:
        found = tuple(f for c in checks for f in c.findings(ctx) if _shown(family, f))
    except MlgitError as exc:
        # One family that cannot run (data not pulled, say) must not hide what the others found.
        msg = exc.message + (f" (hint: {exc.hint})" if exc.hint else "")
        finding = Finding(
            code=_NOT_RUN[family],
            severity=Severity.WARNING,
            subject=key,
            message=f"the {key} checks could not run: {msg}",
        )
        return Section(key, title, SectionStatus.NOT_RUN, (finding,), note=msg)
    return Section(key, title, SectionStatus.FINDINGS if found else SectionStatus.OK, found)


def _sections(ctx: Context, checks: Sequence[Check]) -> tuple[Section, ...]:
    return tuple(_section(family, [c for c in checks if c.family is family], ctx) for family in Family)


def _commits(root: Path, base: str | None) -> tuple[tuple[Commit, ...], int]:
    if base is None:
        return (), 0
    span = f"{base}..HEAD"
    total = git.count_commits(root, span)
    commits = tuple(Commit(e.sha, e.author, e.date, e.subject) for e in git.log(root, span, COMMITS_SHOWN))
    return commits, total


def _md5(path: str, hashes: dict[str, str]) -> str | None:
    entry = pipeline.hash_for(path, hashes)
    return entry["md5"] if entry else None


def _datasets(repo: RepoState, cfg: Config, base: str | None) -> tuple[DatasetChange, ...]:
    if not cfg.datasets:
        return ()
    from mlgit.data.schema import profile_path

    old = repo.dvc_hashes(base) if base else {}
    new = repo.dvc_hashes(None)
    profiles = {d.name: profile_path(d.schema_path) for d in cfg.datasets}
    old_blobs = repo.blobs(base, profiles.values()) if base else {}
    return tuple(
        DatasetChange(
            d.name,
            d.path,
            _md5(d.path, old),
            _md5(d.path, new),
            base is not None,
            _rows(old_blobs.get(profiles[d.name])),
            _rows(_read_bytes(repo.root / profiles[d.name])),
        )
        for d in cfg.datasets
    )


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _rows(profile: bytes | None) -> int | None:
    # The committed data profile records the row count: no need to read the data itself.
    try:
        rows = json.loads(profile)["rows"] if profile else None
    except (ValueError, KeyError, TypeError):
        return None
    return rows if isinstance(rows, int) else None


def _metric_key(snapshot: metrics.Snapshot, metric: str) -> str | None:
    """The `path:key` under which a gate's metric appears in a snapshot."""
    _, where = snapshot.lookup(metric)
    return None if where is None else f"{where}:{metric.rpartition(':')[2]}"


def _from_lineage(values: Mapping[str, Any], flat_key: str | None, metric: str) -> float | None:
    if flat_key is not None and flat_key in values:
        return number(values[flat_key])
    short = metric.rpartition(":")[2]
    for key, value in values.items():
        if key.rpartition(":")[2] == short:
            return number(value)
    return None


def _history(
    model: Model, evts: list[registry.Event], candidate: metrics.Snapshot
) -> tuple[tuple[str, ...], dict[str, str], tuple[HistoryPoint, ...]]:
    gated = [g.metric for g in model.policy.gates]
    directions = {g.metric: g.direction for g in model.policy.gates}
    if not gated:  # without gates, chart the numeric metrics there are (a few)
        gated = [k.rpartition(":")[2] for k, v in candidate.flat().items() if number(v) is not None][:6]
    names: list[str] = []
    keys: dict[str, str | None] = {}
    for m in gated:
        try:
            keys[m] = _metric_key(candidate, m)
        except MlgitError:
            keys[m] = None
        names.append(m)
    points = []
    for ev in registry.releases(evts)[-HISTORY_LIMIT:]:
        lin = ev.lineage or {}
        values = lin.get("metrics") if isinstance(lin.get("metrics"), dict) else {}
        assert isinstance(values, dict)
        points.append(
            HistoryPoint(
                str(ev.version),
                ev.tag,
                ev.commit,
                ev.date,
                {m: _from_lineage(values, keys[m], m) for m in names},
            )
        )
    flat = candidate.flat()
    points.append(
        HistoryPoint(
            "this change", None, candidate.rev, None, {m: _from_lineage(flat, keys[m], m) for m in names}, current=True
        )
    )
    return tuple(names), directions, tuple(points)


def _trend(row: metrics.DiffRow, direction: str | None) -> Trend:
    if row.status is metrics.KeyChange.ADDED:
        return Trend.ADDED
    if row.status is metrics.KeyChange.REMOVED:
        return Trend.REMOVED
    delta = row.change
    if delta is None:
        return Trend.SAME if row.status is metrics.KeyChange.SAME else Trend.NA
    if abs(delta) <= 1e-12 * max(1.0, abs(number(row.old) or 0.0)):
        return Trend.SAME
    if direction is None:
        return Trend.UP if delta > 0 else Trend.DOWN
    return Trend.BETTER if (delta > 0) == (direction == "higher") else Trend.WORSE


def _metric_rows(model: Model, candidate: metrics.Snapshot, old: metrics.Snapshot | None) -> tuple[MetricRow, ...]:
    directions: dict[str, str] = {}
    verdicts: dict[str, bool] = {}
    decision = policy.evaluate(model.policy.gates, candidate, old)
    for g in model.policy.gates:
        try:
            key = _metric_key(candidate, g.metric)
        except MlgitError:
            key = None
        if key is None:
            continue
        directions[key] = g.direction
        results = [r for r in decision.results if r.metric == g.metric]
        if results:
            verdicts[key] = all(r.passed for r in results)
    base = (
        old
        if old is not None
        else metrics.Snapshot("none", None, tuple(ValueFile(f.path, None) for f in candidate.files))
    )
    rows = []
    for fd in metrics.diff(base, candidate):
        for r in fd.rows:
            flat = f"{r.path}:{r.key}"
            direction = directions.get(flat)
            verdict = verdicts.get(flat)
            rows.append(
                MetricRow(
                    r.path,
                    r.key,
                    r.old if r.old_present else None,
                    r.new if r.new_present else None,
                    r.change,
                    metrics.KeyChange.ADDED if fd.base_missing else r.status,
                    direction,
                    Trend.NA if fd.base_missing else _trend(r, direction),
                    None if verdict is None else (RuleMark.PASSED if verdict else RuleMark.FAILED),
                )
            )
    return tuple(rows)


def _param_rows(repo: RepoState, model: Model, base: str | None) -> tuple[tuple[ParamRow, ...], int]:
    if not model.params:
        return (), 0
    new = metrics.read(repo, model.params, None, "work tree")
    old = metrics.read(repo, model.params, base, "base") if base else metrics.Snapshot("none", None, ())
    rows, same = [], 0
    for fd in metrics.diff(old, new):
        for r in fd.rows:
            if r.status is metrics.KeyChange.SAME:
                same += 1
                continue
            rows.append(
                ParamRow(r.path, r.key, r.old if r.old_present else None, r.new if r.new_present else None, r.status)
            )
    return tuple(rows), same


def _gate(repo: RepoState, cfg: Config, model: Model, spec: str | None) -> tuple[GateVerdict, metrics.Snapshot | None]:
    try:
        planned = release_plan.plan(repo, cfg, model, spec)
    except MissingRevision:
        raise  # a missing base is the user's to fix, not a model failure
    except MlgitError as exc:
        return GateVerdict(Side(baseline.BaselineKind.NONE, "unknown", None), GateStatus.ERROR, error=str(exc)), None
    assert planned.result is not None  # the work tree is always gated
    d = planned.result.decision
    side = Side.of(planned.result.baseline)
    version = str(planned.version) if planned.version else None
    verdict = GateVerdict(
        side,
        GateStatus(planned.status.value),
        d.results,
        d.first_release,
        d.improved,
        version,
        planned.tag,
        planned.bump,
    )
    return verdict, planned.result.candidate


def _stale(root: Path, stale: dict[str, list[str]] | None) -> tuple[tuple[StaleStage, ...] | None, list[Finding]]:
    stages = None if stale is None else tuple(StaleStage(s, tuple(r)) for s, r in stale.items())
    return stages, pipeline_check.stale_findings(root, stale)


def _model_report(
    repo: RepoState, cfg: Config, model: Model, base_spec: str | None, diff_base: baseline.Baseline
) -> tuple[ModelReport, list[Finding]]:
    """One model's part of the report: gate verdict, metric and param rows against the base, release history."""
    root, base_commit = repo.root, diff_base.commit
    evts = registry.events(repo, model.name)
    verdict, candidate = _gate(repo, cfg, model, base_spec)
    if candidate is None:
        candidate = metrics.read(repo, model.metrics, None, "work tree")
    old = metrics.read(repo, model.metrics, base_commit, diff_base.label) if base_commit else None
    names, directions, history = _history(model, evts, candidate)
    params, same = _param_rows(repo, model, base_commit)
    no_base = tuple(f.path for f in old.files if not f.present) if old is not None else model.metrics
    report = ModelReport(
        model.name,
        model.path,
        verdict,
        _metric_rows(model, candidate, old),
        no_base,
        params,
        same,
        names,
        {n: directions[n] for n in names if n in directions},
        history,
        change_of(cfg, model),
    )
    return report, model_check.gate_findings(root, model, verdict.failures, candidate, verdict.error)


def _data_base(
    repo: RepoState, cfg: Config, base_spec: str | None, base_commit: str | None
) -> tuple[str | None, str | None, list[Finding]]:
    """What the data checks compare with (a REV or None: their default), its commit, and a note about it.

    `--base` goes through the one interpretation `mlgit check` uses too (with several models, a model version
    means the default branch for the data); without it, the data is compared with the change's base.
    """
    if base_spec is None:
        return base_commit, base_commit, []
    data_base, notes = datacheck.data_base(repo, cfg, base_spec)
    commit = git.resolve(repo.root, data_base) if data_base else None
    if commit is None:
        default, _why = baseline.or_reason(repo, None)
        commit = default.commit if default else None
    return data_base, commit, notes


def build(
    repo: RepoState,
    cfg: Config,
    *,
    base_spec: str | None = None,
    target_branch: str | None = None,
    links: Mapping[str, str] | None = None,
    checks: Sequence[Check] = CHECKS,
) -> Report:
    """Gather the report of the work tree against its baseline (see `change_base`), running `checks`."""
    root = repo.root
    head = repo.head
    if head is None:
        raise MlgitError("the repository has no commits yet", hint="commit your work first")
    pending = Stale.asking(root)  # `dvc status` runs while the gate and the checks do
    diff_base = change_base(repo, cfg, base_spec, target_branch)
    base_commit = diff_base.commit
    models = []
    findings: list[Finding] = []
    for model in cfg.models:
        report, gate_findings = _model_report(repo, cfg, model, base_spec, diff_base)
        models.append(report)
        findings += gate_findings
    data_base, data_commit, note = _data_base(repo, cfg, base_spec, base_commit)
    ctx = Context(repo, cfg, base=base_commit, data_base=data_base, stale=pending)
    sections = _sections(ctx, checks)
    stale, stale_findings = _stale(root, pending.stages)
    findings += stale_findings
    findings += note
    for s in sections:
        findings += s.findings
    commits, total = _commits(root, base_commit)
    dirty = repo.dirty  # the checks never write, so the state read before them still holds
    return Report(
        head=Side(baseline.BaselineKind.WORKTREE, f"{head[:8]}{' + uncommitted changes' if dirty else ''}", head),
        base=Side.of(diff_base),
        dirty=dirty,
        commits=commits,
        commits_total=total,
        models=tuple(models),
        datasets=_datasets(repo, cfg, data_commit),
        stale=stale,
        sections=sections,
        findings=tuple(findings),
        links=dict(links or {}),
    )
