"""The full report as one self-contained HTML file: inline CSS and inline SVG charts, no external requests.

A Content-Security-Policy forbids any fetch, so what a browser shows is exactly what the file holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from mlgit import __version__
from mlgit.render import wording
from mlgit.report.build import (
    GateStatus,
    HistoryPoint,
    ModelReport,
    Report,
    RuleMark,
    Section,
    SectionStatus,
    Trend,
)
from mlgit.results.finding import Finding, Severity, counts

GENERATOR = "mlgit report"  # <meta name="generator">: how --output recognises a previous report

_CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --muted: #57606a; --line: #d0d7de; --accent: #0969da; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #1f2328; background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: 600; font-size: 13px; vertical-align: middle; }
.pass { background: var(--ok); } .fail { background: var(--bad); } .warn { background: var(--warn); }
.muted { color: var(--muted); } .good { color: var(--ok); } .bad { color: var(--bad); } .warntext { color: var(--warn); }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa; padding: 1px 4px; border-radius: 4px; }
.note { border-left: 4px solid var(--warn); background: #fff8c5; padding: 8px 12px; margin: 12px 0; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; }
figure.chart figcaption { font-size: 13px; font-weight: 600; margin-bottom: 4px; }
svg.chart text { font: 11px sans-serif; fill: #57606a; }
svg.chart .grid { stroke: #eaeef2; } svg.chart .axis { stroke: #8c959f; }
svg.chart .series { fill: none; stroke: var(--accent); stroke-width: 2; }
svg.chart .pending { fill: none; stroke: var(--accent); stroke-width: 2; stroke-dasharray: 5 4; }
svg.chart .pt { fill: var(--accent); } svg.chart .cur-good { fill: var(--ok); } svg.chart .cur-bad { fill: var(--bad); }
svg.chart .cur-same { fill: var(--muted); }
details > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
"""

_SEV_CLASS: dict[str, str] = {Severity.ERROR: "bad", Severity.WARNING: "warntext", Severity.INFO: "muted"}
W, H = 380, 220
PAD_L, PAD_R, PAD_T, PAD_B = 56, 16, 12, 44


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], num: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td{' class=num' if i in num else ''}>{c}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    return [lo + (hi - lo) * i / n for i in range(n + 1)]


@dataclass(frozen=True)
class _Frame:
    """The plot area of one chart: value range and the number of points along x."""

    lo: float
    hi: float
    n: int

    def x(self, i: int) -> float:
        return PAD_L + ((W - PAD_L - PAD_R) * (i + 0.5) / self.n)

    def y(self, v: float) -> float:
        return PAD_T + (H - PAD_T - PAD_B) * (1 - (v - self.lo) / (self.hi - self.lo))


def chart(metric: str, direction: str | None, points: Sequence[HistoryPoint]) -> str:
    """An inline SVG line chart of one metric across releases, this change highlighted; '' with < 1 value."""
    shown = [(p, p.values.get(metric)) for p in points]
    data = [(p, v) for p, v in shown if v is not None]
    if not data:
        return ""
    values = [v for _, v in data]
    frame = _Frame(*wording.chart_range(values), len(data))
    parts = [
        f'<svg class="chart" role="img" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'data-metric="{_e(metric)}" data-points="{frame.n}" aria-label="{_e(metric)} across releases">',
        *_axes(frame),
        *_series(frame, data),
        *_points(frame, data, direction),
        f'<circle class="pt" cx="{PAD_L + 4}" cy="{H - 12}" r="4"/>'
        f'<text x="{PAD_L + 12}" y="{H - 8}">release</text>'
        f'<circle class="cur-same" cx="{PAD_L + 70}" cy="{H - 12}" r="5"/>'
        f'<text x="{PAD_L + 80}" y="{H - 8}">this change (green: better, red: worse)</text>',
        "</svg>",
    ]
    caption = metric + (f" ({direction} is better)" if direction else "")
    return f'<figure class="chart"><figcaption>{_e(caption)}</figcaption>{"".join(parts)}</figure>'


def _axes(f: _Frame) -> list[str]:
    parts = []
    for t in _ticks(f.lo, f.hi):
        parts.append(f'<line class="grid" x1="{PAD_L}" x2="{W - PAD_R}" y1="{f.y(t):.1f}" y2="{f.y(t):.1f}"/>')
        parts.append(f'<text x="{PAD_L - 6}" y="{f.y(t) + 4:.1f}" text-anchor="end">{_e(f"{t:.4g}")}</text>')
    bottom = H - PAD_B
    parts.append(f'<line class="axis" x1="{PAD_L}" x2="{PAD_L}" y1="{PAD_T}" y2="{bottom}"/>')
    parts.append(f'<line class="axis" x1="{PAD_L}" x2="{W - PAD_R}" y1="{bottom}" y2="{bottom}"/>')
    return parts


def _series(f: _Frame, data: Sequence[tuple[HistoryPoint, float]]) -> list[str]:
    """The released values as a line, and a dashed step from the last release to this change."""
    parts = []
    released = [(i, v) for i, (p, v) in enumerate(data) if not p.current]
    if len(released) > 1:
        pts = " ".join(f"{f.x(i):.1f},{f.y(v):.1f}" for i, v in released)
        parts.append(f'<polyline class="series" points="{pts}"/>')
    cur = [(i, v) for i, (p, v) in enumerate(data) if p.current]
    if cur and released:
        (i0, v0), (i1, v1) = released[-1], cur[0]
        parts.append(
            f'<line class="pending" x1="{f.x(i0):.1f}" y1="{f.y(v0):.1f}" x2="{f.x(i1):.1f}" y2="{f.y(v1):.1f}"/>'
        )
    return parts


def _points(f: _Frame, data: Sequence[tuple[HistoryPoint, float]], direction: str | None) -> list[str]:
    parts = []
    released = [v for p, v in data if not p.current]
    step = max(1, f.n // 8)  # label at most ~8 ticks so names stay readable
    for i, (p, v) in enumerate(data):
        klass = "pt"
        if p.current:
            prev = released[-1] if released else None
            if prev is None or direction is None or abs(v - prev) < 1e-12:
                klass = "cur-same"
            else:
                klass = "cur-good" if (v > prev) == (direction == "higher") else "cur-bad"
        r = 6 if p.current else 4
        parts.append(
            f'<circle class="{klass}" data-label="{_e(p.label)}" cx="{f.x(i):.1f}" cy="{f.y(v):.1f}" r="{r}">'
            f"<title>{_e(p.label)}: {_e(wording.value(v))}</title></circle>"
        )
        if p.current or i % step == 0:
            weight = ' font-weight="bold"' if p.current else ""
            parts.append(
                f'<text x="{f.x(i):.1f}" y="{H - PAD_B + 16}" text-anchor="middle"{weight}>{_e(p.label)}</text>'
            )
        if p.current:
            parts.append(
                f'<text x="{f.x(i):.1f}" y="{f.y(v) - 10:.1f}" text-anchor="middle" font-weight="bold">'
                f"{_e(wording.value(v))}</text>"
            )
    return parts


def _gate(m: ModelReport) -> str:
    g = m.gate
    klass = "pass" if g.passed else "fail"
    out = [f'<h2><span class="badge {klass}">{"PASS" if g.passed else "FAIL"}</span> {_e(m.name)}</h2>']
    out.append(f"<p><strong>{_e(wording.gate_summary(m.name, g))}</strong></p>")
    if g.status is GateStatus.ERROR:
        out += [f'<p class="muted">{_e(x)}</p>' for x in (g.error or "").splitlines()[1:]]
        return "".join(out)
    out.append(f'<p class="muted">Gate baseline: {_e(wording.baseline_words(g))}</p>')
    rows = [
        [
            '<span class="good">pass</span>' if r.passed else '<strong class="bad">FAIL</strong>',
            f"<code>{_e(r.metric)}</code>",
            _e(r.rule),
            _e(r.message),
        ]
        for r in sorted(g.rules, key=lambda r: r.passed)
    ]
    if rows:
        out.append(_table(["", "Metric", "Rule", "Detail"], rows))
    return "".join(out) + _policy_change(m)


def _policy_change(m: ModelReport) -> str:
    pc = m.policy_change
    if pc is None:
        return ""
    rows = [
        [
            f"<strong><code>{_e(r.setting)}</code></strong>" if r.changed else f"<code>{_e(r.setting)}</code>",
            _e(wording.setting(r.old)),
            _e(wording.setting(r.new)),
        ]
        for r in pc.rows
    ]
    intro = wording.policy_intro(m.name, pc.trusted_from, len(pc.changed))
    header = [h.format(label=pc.trusted_from) for h in wording.POLICY_HEADER]
    return f'<h3 class="policy-change">Policy change</h3><p>{_e(intro)}</p>' + _table(header, rows)


_TREND_CLASS = {Trend.BETTER: "good", Trend.WORSE: "bad"}
_RULE_MARK = {RuleMark.PASSED: '<span class="good">pass</span>', RuleMark.FAILED: '<strong class="bad">FAIL</strong>'}


def _metrics(m: ModelReport) -> str:
    if not m.metrics:
        return ""
    rows = []
    for r in m.metrics:
        trend = wording.TREND_WORD.get(r.trend, r.trend)
        klass = _TREND_CLASS.get(r.trend, "muted")
        gate = _RULE_MARK[r.gate] if r.gate else ""
        arrow = {"higher": " ↑", "lower": " ↓"}.get(r.direction or "", "")
        rows.append(
            [
                f"<code>{_e(r.key)}</code>{arrow}",
                _e(wording.value(r.old)),
                _e(wording.value(r.new)),
                _e(wording.delta(r)),
                f'<span class="{klass}">{_e(trend)}</span>',
                gate,
            ]
        )
    out = [
        "<h3>Metrics against the base</h3>",
        _table(["Metric", "Base", "This change", "Change", "", "Gate"], rows, (1, 2, 3)),
    ]
    for path in m.no_baseline:
        out.append(f'<p class="warntext"><code>{_e(path)}</code>: no baseline (absent at the base), not compared.</p>')
    return "".join(out)


def _history(m: ModelReport) -> str:
    charts = [chart(k, m.directions.get(k), m.history) for k in m.history_metrics]
    charts = [c for c in charts if c]
    if not charts:
        return ""
    n = sum(1 for p in m.history if not p.current)
    head = f"<h3>Metric history: {n} release{'s' if n != 1 else ''} and this change</h3>"
    return head + f'<div class="charts">{"".join(charts)}</div>'


def _params(m: ModelReport) -> str:
    if not m.params:
        return ""
    rows = [
        [
            f"<code>{_e(r.file)}</code>",
            f"<code>{_e(r.key)}</code>",
            _e(wording.value(r.old)),
            _e(wording.value(r.new)),
            _e(r.status),
        ]
        for r in m.params
    ]
    summary = f"Params: {len(m.params)} changed ({m.params_unchanged} unchanged)"
    return f"<details open><summary>{_e(summary)}</summary>{_table(['File', 'Param', 'Base', 'This change', ''], rows)}</details>"


def _findings(findings: Sequence[Finding]) -> str:
    rows = []
    for f in wording.ordered(findings):
        where = f"{f.file}:{f.line}" if f.file and f.line else f.file or ""
        samples = f.data.get("samples")
        extra = f'<br><span class="muted">samples: {_e(wording.any_value(samples))}</span>' if samples else ""
        rows.append(
            [
                f'<span class="{_SEV_CLASS.get(f.severity, "muted")}">{_e(f.severity)}</span>',
                f"<code>{_e(f.code)}</code>",
                _e(f.subject + (f" / {f.column}" if f.column else "")),
                _e(f.message) + extra,
                f"<code>{_e(where)}</code>" if where else "",
            ]
        )
    return _table(["", "Code", "Where", "Finding", "File"], rows)


def _section(s: Section, report: Report) -> str:
    if s.status is SectionStatus.UNAVAILABLE:
        return ""
    c = counts(s.findings)
    klass = "fail" if c[Severity.ERROR] else "warn" if c[Severity.WARNING] else "pass"
    out = [f'<h2><span class="badge {klass}">{_e(wording.counts_words(c))}</span> {_e(s.title)}</h2>']
    if s.note:
        out.append(f'<p class="muted">{_e(s.note)}</p>')
    if s.key == "data" and report.datasets:
        rows = [
            [
                f"<code>{_e(d.name)}</code>",
                f"<code>{_e(d.path)}</code>",
                _e(d.rows),
                f"<code>{_e((d.old_md5 or '-')[:12])}</code>",
                f"<code>{_e((d.new_md5 or '-')[:12])}</code>",
                _e(d.status),
            ]
            for d in report.datasets
        ]
        out.append(_table(["Dataset", "Path", "Rows", "Base md5", "New md5", ""], rows))
    meas, cols, others = wording.split_measurements(s.findings)
    if meas:
        rows = [
            [
                f'<span class="{_SEV_CLASS.get(f.severity, "muted")}">{_e("ok" if f.severity == Severity.INFO else f.severity)}</span>',
                _e(f.subject),
                f"<code>{_e(f.column)}</code>" if f.column else "",
                *[_e(wording.any_value(f.data.get(k))) for k in cols],
            ]
            for f in meas
        ]
        out.append(
            "<h3>Drift against the base</h3>" + _table(["", "Dataset", "Column", *cols], rows, range(3, 3 + len(cols)))
        )
    if others:
        out.append(_findings(others))
    elif not s.findings and not s.note:
        out.append("<p>No findings.</p>")
    return "".join(out)


def render(report: Report) -> str:
    """The whole report as one HTML document."""
    verdict = report.verdict
    klass = str(verdict)  # the badge's CSS class is the verdict's own word
    body = [
        f'<h1>mlgit report <span class="badge {klass}" id="verdict">{_e(wording.VERDICT_WORD[verdict])}</span></h1>',
        f"<p><strong>{_e(report.headline)}</strong></p>",
        f'<p class="muted">{_e(wording.change_words(report))}</p>',
    ]
    notes = []
    if report.stale is None:
        notes.append("Could not tell whether the pipeline is up to date ('dvc status' failed).")
    for st in report.stale or ():
        notes.append(f"Stage '{st.stage}' is stale ({', '.join(st.reasons) or 'changed'}): run 'dvc repro' and commit.")
    if report.dirty:
        notes.append("Uncommitted changes are included: " + ", ".join(report.dirty[:10]))
    body += [f'<div class="note">{_e(n)}</div>' for n in notes]
    for m in report.models:
        body += [_gate(m), _metrics(m), _history(m), _params(m)]
    for s in report.sections:
        body.append(_section(s, report))
    if report.commits:
        items = "".join(
            f"<li><code>{_e(c.sha[:8])}</code> {_e(c.subject)} <span class='muted'>({_e(c.author)}, {_e(c.date[:10])})</span></li>"
            for c in report.commits
        )
        more = report.commits_total - len(report.commits)
        items += f"<li>... and {more} more</li>" if more > 0 else ""
        body.append(f"<details><summary>Commits compared: {report.commits_total}</summary><ul>{items}</ul></details>")
    body.append(f"<footer>Generated by mlgit {_e(__version__)} &middot; report schema mlgit.report/1</footer>")
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    title = f"mlgit report: {wording.VERDICT_WORD[verdict]}"
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="{GENERATOR}">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(b for b in body if b)
        + "\n</main>\n</body>\n</html>\n"
    )
