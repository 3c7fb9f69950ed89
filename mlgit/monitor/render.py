"""The monitoring report: the window's findings and the trend over the release's windows, as markdown (with a
mermaid chart, for issues and job summaries) or one self-contained HTML file (inline SVG, nothing loaded)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from mlgit.monitor import judge
from mlgit.monitor.reference import Reference
from mlgit.monitor.window import Window, latency_quantile
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity, failed

TREND = 30  # windows shown


@dataclass(frozen=True)
class Point:
    """One window in the trend."""

    name: str
    requests: int
    drifted: int
    worst: float  # the largest drift value over its threshold (1 = at the threshold)
    error_rate: float | None
    p95_ms: float | None


def trend(ref: Reference, windows: Sequence[Window]) -> list[Point]:
    """Input drift, errors and latency of each window (the latest TREND), oldest first."""
    out = []
    for w in list(windows)[-TREND:]:
        found = judge.drift_findings(w.name, w, ref, None) if w.rows else []
        ratios = [
            f.data["value"] / f.data["threshold"]
            for f in found
            if f.code == Code.MONITOR_DRIFT and f.data.get("value") is not None and f.data["threshold"]
        ]
        drifted = sum(1 for f in found if f.code == Code.MONITOR_INPUT_DRIFT)
        rate = w.errors / w.requests if w.requests else None
        out.append(
            Point(w.name, w.requests, drifted, max(ratios, default=0.0), rate, latency_quantile(w.latency, 0.95))
        )
    return out


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(title: str, findings: Sequence[Finding], points: Sequence[Point], marker: str = "") -> str:
    """Verdict, problems, the drift values and the trend chart."""
    verdict = "FAILED" if failed(findings) else "PASSED"
    lines = [marker, f"## {_md_escape(title)}: {verdict}", ""] if marker else [f"## {_md_escape(title)}: {verdict}", ""]
    problems = [f for f in findings if f.severity != Severity.INFO]
    if problems:
        lines += ["| severity | code | what |", "| --- | --- | --- |"]
        lines += [f"| {f.severity} | `{f.code}` | {_md_escape(f.message.splitlines()[0])} |" for f in problems]
        lines.append("")
    drift = [f for f in findings if f.code == Code.MONITOR_DRIFT]
    if drift:
        lines += ["<details><summary>Drift of every column</summary>", ""]
        lines += ["| of | column | method | value | threshold |", "| --- | --- | --- | --- | --- |"]
        for f in drift:
            d = f.data
            value = "n/a" if d.get("value") is None else f"{d['value']:.4g}"
            lines.append(
                f"| {d['of']} | {_md_escape(str(f.column))} | {d['method']} | {value} | {d['threshold']:.4g} |"
            )
        lines += ["", "</details>", ""]
    if len(points) > 1:
        labels = ", ".join(f'"{p.name[:13]}"' for p in points)
        values = ", ".join(f"{p.worst:.3g}" for p in points)
        lines += [
            "```mermaid",
            "xychart-beta",
            '  title "Worst input drift / threshold per window (above 1: drift)"',
            f"  x-axis [{labels}]",
            f"  line [{values}]",
            "```",
            "",
        ]
    if points:
        lines += ["| window | requests | drifted columns | worst drift / threshold | error rate | p95 ms |"]
        lines += ["| --- | --- | --- | --- | --- | --- |"]
        for p in points:
            rate = "n/a" if p.error_rate is None else f"{p.error_rate:.2%}"
            p95 = "n/a" if p.p95_ms is None else f"{p.p95_ms:.3g}"
            lines.append(f"| {p.name} | {p.requests} | {p.drifted} | {p.worst:.3g} | {rate} | {p95} |")
    return "\n".join(lines) + "\n"


def _svg(points: Sequence[Point]) -> str:
    if len(points) < 2:
        return ""
    w, h, pad = 640, 200, 30
    top = max(1.5, *(p.worst for p in points))
    xs = [pad + i * (w - 2 * pad) / (len(points) - 1) for i in range(len(points))]
    ys = [h - pad - min(p.worst, top) / top * (h - 2 * pad) for p in points]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    one = h - pad - 1 / top * (h - 2 * pad)
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{"#c0392b" if p.drifted else "#2c7"}">'
        f"<title>{html.escape(p.name)}: {p.worst:.3g}</title></circle>"
        for x, y, p in zip(xs, ys, points, strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">'
        f'<line x1="{pad}" x2="{w - pad}" y1="{one:.1f}" y2="{one:.1f}" stroke="#c0392b" stroke-dasharray="4"/>'
        f'<polyline fill="none" stroke="#36c" stroke-width="2" points="{line}"/>{dots}</svg>'
    )


def page(title: str, findings: Sequence[Finding], points: Sequence[Point]) -> str:
    """One self-contained HTML file."""
    verdict = "FAILED" if failed(findings) else "PASSED"
    rows = "".join(
        f"<tr><td>{f.severity}</td><td><code>{html.escape(str(f.code))}</code></td>"
        f"<td>{html.escape(f.message.splitlines()[0])}</td></tr>"
        for f in findings
    )
    trend_rows = "".join(
        f"<tr><td>{html.escape(p.name)}</td><td>{p.requests}</td><td>{p.drifted}</td><td>{p.worst:.3g}</td></tr>"
        for p in points
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}: {verdict}</h1>"
        f"<h2>Worst input drift / threshold per window</h2>{_svg(points)}"
        "<table><tr><th>window</th><th>requests</th><th>drifted</th><th>worst</th></tr>"
        f"{trend_rows}</table><h2>Findings</h2>"
        f"<table><tr><th>severity</th><th>code</th><th>what</th></tr>{rows}</table></body></html>\n"
    )
