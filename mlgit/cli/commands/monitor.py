"""`mlgit monitor`: prediction logs -> a window profile in the release's training bins, drift and health."""

from __future__ import annotations

import json as jsonlib
import sys
from datetime import datetime
from pathlib import Path

from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.errors import UsageError
from mlgit.monitor import collect, judge, logs, reference
from mlgit.monitor import window as windows
from mlgit.render import findings as render
from mlgit.render.style import Style
from mlgit.repo.state import RepoState
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity, failed


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
) -> int:
    """Profile one window of traffic, judge it, store it; exit 1 when anything is an error (drift included)."""
    start, end = parse_window(window)
    repo = RepoState.open(cwd)
    cfg = config.load(repo.root)
    m = cfg.model(model)
    ref = reference.resolve(repo, cfg, m, base, store)
    earlier = [w for _, w in reference.stored(repo.root, store, m.name, ref.version)]
    first = earlier[0] if earlier else None
    bins = {n: b.edges for n, b in (first.predictions if first else ()) if b.kind == windows.NUMERIC}
    target = collect.Target(
        m.name, ref.version, ref.release.commit, ref.profile_path, ref.profile, ref.schema, bins, start, end
    )
    skipped = logs.Skipped()
    names = frozenset(c.name for c in ref.profile.columns) | frozenset(
        c.name for c in (ref.schema.columns if ref.schema else ())
    )
    collector = collect.collect(logs.read(logs_paths, names, skipped), target, labels is not None, skipped)
    w = collector.window()
    subject = f"{m.name} {ref.version}"
    folder = reference.folder(repo.root, store, m.name, ref.version)
    path = folder / f"{w.name}.json"
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
    written = reference.save(path, w, force) if w.requests else False
    return _show(findings, w, path, written, json)


def _show(findings: list[Finding], w: windows.Window, path: Path, written: bool, json: bool) -> int:
    if json:
        doc = render.document(findings, command="monitor", window=w.name, stored=str(path), written=written)
        sys.stdout.write(jsonlib.dumps(doc, indent=2, default=str) + "\n")
    else:
        out = render.lines(findings, Style.for_stdout(), title=f"Monitoring: {w.model} {w.release}")
        out.append(f"window profile: {path}" + ("" if written else " (unchanged)"))
        sys.stdout.write("\n".join(out) + "\n")
    return EXIT_FAILED if failed(findings) else EXIT_OK
