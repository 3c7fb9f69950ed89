"""`mlgit monitor`: prediction logs -> a window profile in the release's training bins, drift and health."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

from mlgit.actions import forge
from mlgit.cli.commands.comment import client
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.errors import InputError, UsageError
from mlgit.monitor import collect, judge, logs, reference, render
from mlgit.monitor import window as windows
from mlgit.render import findings as render_findings
from mlgit.render.style import Style
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity, failed
from mlgit.system import atomic


def parse_window(spec: str | None) -> tuple[datetime | None, datetime | None]:
    """`START/END` (ISO 8601 dates or times, UTC unless an offset is given); either side may be empty."""
    if spec is None:
        return None, None
    start, sep, end = spec.partition("/")
    if not sep:
        raise UsageError(f"--window {spec!r}: expected START/END, e.g. 2026-12-01T00:00Z/2026-12-02T00:00Z")
    try:
        a = logs.parse_time(start) if start else None
        b = logs.parse_time(end) if end else None
    except ValueError as exc:
        raise UsageError(f"--window {spec!r}: {exc}") from None
    if a is not None and b is not None and b <= a:
        raise UsageError(f"--window {spec!r}: the end is not after the start")
    return a, b


def run(
    cwd: Path,
    model: str | None,
    logs_paths: list[str],
    window: str | None,
    base: str,
    labels: str | None,
    store: str,
    force: bool,
    json: bool,
    report: str | None = None,
    alert: bool = False,
    retrain: bool = False,
) -> int:
    """Profile one window of traffic, judge it, store it; exit 1 when anything is an error (drift included)."""
    start, end = parse_window(window)
    if report is not None and not report.endswith((".md", ".html")):
        raise UsageError(f"--report {report}: the file name must end in .md or .html")
    repo = RepoState.open(cwd)
    cfg = config.load(repo.root)
    m = cfg.model(model)
    ref = reference.resolve(repo, cfg, m, base, store)
    earlier = [w for _, w in reference.stored(repo.root, store, m.name, ref.version)]
    w, findings, path = _judge(repo, m, ref, earlier, logs_paths, (start, end), labels, store)
    written = reference.save(path, w, force) if w.requests else False
    points = render.trend(ref, [*(e for e in earlier if e.name != w.name), w])
    extra: dict[str, object] = {}
    title = f"Monitoring: {m.name} {ref.version}"
    if report is not None:
        text = (
            render.page(title, findings, points)
            if report.endswith(".html")
            else render.markdown(title, findings, points)
        )
        out = Path(report) if Path(report).is_absolute() else cwd / report
        if out.exists() and not force and not out.read_text(errors="replace").startswith(("<!doctype html>", "## ")):
            raise InputError(f"--report {report}: the file exists and is not an mlgit report", hint="pass --force")
        atomic.write_text(out, text)
        extra["report"] = str(out)
    if alert or retrain:
        extra.update(_forge(repo, m.name, title, findings, points, alert, retrain))
    return _show(findings, w, path, written, json, extra)


def _judge(
    repo: RepoState,
    m: config.Model,
    ref: reference.Reference,
    earlier: list[windows.Window],
    logs_paths: list[str],
    span: tuple[datetime | None, datetime | None],
    labels: str | None,
    store: str,
) -> tuple[windows.Window, list[Finding], Path]:
    first = earlier[0] if earlier else None
    bins = {n: b.edges for n, b in (first.predictions if first else ()) if b.kind is windows.NUMERIC}
    target = collect.WindowTarget(
        m.name, ref.version, ref.release.commit, ref.profile_path, ref.profile, ref.schema, bins, *span
    )
    skipped = logs.Skipped()
    names = {c.name for c in ref.profile.columns} | {c.name for c in (ref.schema.columns if ref.schema else ())}
    wanted = frozenset(names)
    collector = collect.collect(logs.read(logs_paths, wanted, skipped), target, labels is not None, skipped, wanted)
    w = collector.window()
    subject = f"{m.name} {ref.version}"
    path = reference.folder(repo.root, store, m.name, ref.version) / f"{w.name}.json"
    findings = [
        Finding(
            code=Code.MONITOR_WINDOW,
            severity=Severity.INFO,
            subject=subject,
            message=f"window {w.start} .. {w.end}: {w.requests} requests, {w.rows} rows of {ref.release.tag}",
            file=str(path.relative_to(repo.root)) if path.is_relative_to(repo.root) else str(path),
            data={"start": w.start, "end": w.end, "release": ref.release.tag, "reference": ref.profile_path},
        )
    ]
    findings += judge.skipped_findings(subject, skipped, collector.counts.outside, collector.counts.other_version)
    findings += judge.volume_findings(subject, w, earlier, m.monitor)
    if w.rows:
        findings += judge.drift_findings(subject, w, ref, first)
    findings += judge.schema_findings(subject, w, ref)
    findings += judge.serving_findings(subject, w, m.monitor)
    if labels is not None:
        truth = logs.read_labels(labels, m.monitor.label)
        findings += judge.quality_findings(subject, m, ref, collector.counts.predicted, truth)
    return w, findings, path


def _forge(
    repo: RepoState,
    model: str,
    title: str,
    findings: list[Finding],
    points: list[render.Point],
    alert: bool,
    retrain: bool,
) -> dict[str, object]:
    """The one alert issue per model (opened, updated, closed when healthy) and the retrain dispatch on drift."""
    gh = client("github", os.environ)
    if not isinstance(gh, forge.GitHub):
        raise UsageError("--alert and --retrain talk to GitHub only for now")
    out: dict[str, object] = {}
    if alert:
        marker = f"<!-- mlgit:monitor:{model} -->"
        body = render.markdown(title, findings, points, marker=marker)
        action, issue = forge.alert(
            gh, marker, os.environ.get("MLGIT_COMMENT_AUTHOR"), title, body, not failed(findings)
        )
        out["alert"] = {"action": action, "issue": issue.number if issue else None, "url": issue.url if issue else None}
    drifted = any(f.code in (Code.MONITOR_INPUT_DRIFT, Code.MONITOR_PREDICTION_DRIFT) for f in findings)
    if retrain and drifted:
        gh.dispatch("mlgit-retrain.yml", repo.default_branch, {"trigger": "drift"})
    out["retrain_dispatched"] = bool(retrain and drifted)
    return out


def _show(
    findings: list[Finding], w: windows.Window, path: Path, written: bool, json: bool, extra: dict[str, object]
) -> int:
    if json:
        doc = render_findings.document(
            findings, command="monitor", window=w.name, stored=str(path), written=written, **extra
        )
        sys.stdout.write(serialize.dumps(doc) + "\n")
    else:
        out = render_findings.lines(findings, Style.for_stdout(), title=f"Monitoring: {w.model} {w.release}")
        out.append(f"window profile: {path}" + ("" if written else " (unchanged)"))
        out += [f"{k}: {v}" for k, v in extra.items()]
        sys.stdout.write("\n".join(out) + "\n")
    return EXIT_FAILED if failed(findings) else EXIT_OK
