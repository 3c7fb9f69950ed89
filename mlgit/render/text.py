"""The report for a terminal or a CI log: plain aligned text, colors only when `style` enables them."""

from __future__ import annotations

from mlgit.render import wording
from mlgit.render.style import Style, table
from mlgit.report.build import GateStatus, ModelReport, Report, ReportVerdict, RuleMark, Section, SectionStatus, Trend
from mlgit.results.finding import Severity, counts

_SEV_COLOR: dict[str, str] = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
_TREND_COLOR = {Trend.BETTER: "green", Trend.WORSE: "red"}
_RULE_WORD = {RuleMark.PASSED: "ok", RuleMark.FAILED: "FAIL"}
_VERDICT_COLOR = {ReportVerdict.PASSED: "green", ReportVerdict.WARNED: "yellow", ReportVerdict.FAILED: "red"}


def _colored_table(
    header: list[str], raw: list[list[str]], colors: list[list[tuple[str, ...]]], style: Style
) -> list[str]:
    rows = [
        [style(c, *col) if col else c for c, col in zip(r, cr, strict=True)] for r, cr in zip(raw, colors, strict=True)
    ]
    return ["  " + line for line in table(header, rows, raw_rows=raw)]


def _model(m: ModelReport, style: Style) -> list[str]:
    g = m.gate
    color = "green" if g.passed else "red"
    lines = [style(("PASS  " if g.passed else "FAIL  ") + wording.gate_summary(m.name, g), color, "bold")]
    if g.status is GateStatus.ERROR:
        lines += [f"  {x}" for x in (g.error or "").splitlines()[1:]]
    else:
        lines.append(f"  gate baseline: {wording.baseline_words(g)}")
        raw: list[list[str]] = []
        colors: list[list[tuple[str, ...]]] = []
        for rule in sorted(g.rules, key=lambda r: r.passed):
            raw.append(["ok" if rule.passed else "FAIL", rule.metric, rule.rule, rule.message])
            colors.append([("green",) if rule.passed else ("red", "bold"), (), (), ()])
        if raw:
            lines += _colored_table(["", "Metric", "Rule", "Detail"], raw, colors, style)
    lines += _policy_change(m, style)
    if m.metrics:
        lines += ["", style(f"Metrics of {m.name} (against the base)", "bold")]
        mraw: list[list[str]] = []
        mcolors: list[list[tuple[str, ...]]] = []
        for r in m.metrics:
            arrow = {"higher": " (higher is better)", "lower": " (lower is better)"}.get(r.direction or "", "")
            trend = wording.TREND_WORD.get(r.trend, r.trend)
            gate = _RULE_WORD[r.gate] if r.gate else ""
            mraw.append(
                [r.key, wording.value(r.old), wording.value(r.new), wording.delta(r), trend, gate, arrow.strip()]
            )
            mcolors.append(
                [
                    (),
                    (),
                    (),
                    (),
                    (_TREND_COLOR[r.trend],) if r.trend in _TREND_COLOR else (),
                    ("red", "bold") if gate == "FAIL" else (),
                    ("dim",),
                ]
            )
        lines += _colored_table(["Metric", "Base", "New", "Change", "", "Gate", ""], mraw, mcolors, style)
        for path in m.no_baseline:
            lines.append(style(f"  {path}: no baseline (absent at the base), not compared", "yellow"))
    points = [p for p in m.history if not p.current]
    if points and m.history_metrics:
        lines += ["", style(f"History of {m.name} ({len(points)} release{'s' if len(points) != 1 else ''})", "bold")]
        header = ["Version", *m.history_metrics[:6]]
        rows = [[p.label, *[wording.value(p.values.get(k)) for k in m.history_metrics[:6]]] for p in m.history[-8:]]
        lines += ["  " + line for line in table(header, rows)]
    if m.params:
        lines += ["", style(f"Params of {m.name}: {len(m.params)} changed", "bold")]
        rows = [[r.file, r.key, wording.value(r.old), wording.value(r.new)] for r in m.params[:50]]
        lines += ["  " + line for line in table(["File", "Param", "Base", "New"], rows)]
        if len(m.params) > 50:
            lines.append(f"  ... and {len(m.params) - 50} more")
    return lines


def _policy_change(m: ModelReport, style: Style) -> list[str]:
    pc = m.policy_change
    if pc is None:
        return []
    rows = [
        [("* " if r.changed else "  ") + r.setting, wording.setting(r.old), wording.setting(r.new)] for r in pc.rows
    ]
    header = [h.format(label=pc.trusted_from) for h in wording.POLICY_HEADER]
    lines = ["", style("Policy change", "bold"), "  " + wording.policy_intro(m.name, pc.trusted_from, len(pc.changed))]
    return lines + ["  " + line for line in table(header, rows)]


def _section(s: Section, report: Report, style: Style) -> list[str]:
    if s.status is SectionStatus.UNAVAILABLE:
        return []
    c = counts(s.findings)
    color = "red" if c[Severity.ERROR] else "yellow" if c[Severity.WARNING] else "green"
    lines = ["", style(f"{s.title}: {wording.counts_words(c)}", "bold", color)]
    if s.note:
        lines.append(f"  {s.note}")
    if s.key == "data" and report.datasets:
        rows = [
            [d.name, d.path, d.rows, (d.old_md5 or "-")[:8], (d.new_md5 or "-")[:8], d.status] for d in report.datasets
        ]
        lines += ["  " + line for line in table(["Dataset", "Path", "Rows", "Base md5", "New md5", ""], rows)]
    meas, cols, others = wording.split_measurements(s.findings)
    if meas:
        lines.append("  drift against the base:")
        raw = [
            [
                "ok" if f.severity == Severity.INFO else f.severity,
                f.subject,
                f.column or "",
                *[wording.any_value(f.data.get(k)) for k in cols],
            ]
            for f in meas
        ]
        colors = [[(_SEV_COLOR.get(f.severity, ""),), *[() for _ in r[1:]]] for f, r in zip(meas, raw, strict=True)]
        lines += ["  " + line for line in _colored_table(["", "Dataset", "Column", *cols], raw, colors, style)]
    for f in wording.ordered(others):
        where = f" ({f.file}{f':{f.line}' if f.line else ''})" if f.file else ""
        col = f" [{f.column}]" if f.column else ""
        message = f.message.replace("\n", "\n      ")  # continuation lines stay under their finding
        lines.append(
            f"  {style(f.severity, _SEV_COLOR.get(f.severity, 'dim'))} {f.code} {f.subject}{col}: {message}{where}"
        )
    return lines


def render(report: Report, style: Style) -> str:
    """The report as plain text (`style` decides about colors)."""
    verdict = report.verdict
    color = _VERDICT_COLOR[verdict]
    lines = [
        style(f"mlgit report: {wording.VERDICT_WORD[verdict]}", color, "bold"),
        report.headline,
        style(wording.change_words(report), "dim"),
    ]
    if report.stale is None:
        lines.append(
            style("warning: could not tell whether the pipeline is up to date ('dvc status' failed)", "yellow")
        )
    for st in report.stale or ():
        lines.append(
            style(
                f"warning: stage '{st.stage}' is stale ({', '.join(st.reasons) or 'changed'}); run 'dvc repro'",
                "yellow",
            )
        )
    if report.dirty:
        lines.append(style(f"note: uncommitted changes included: {', '.join(report.dirty[:5])}", "dim"))
    for m in report.models:
        lines += ["", *_model(m, style)]
    for s in report.sections:
        lines += _section(s, report, style)
    if report.commits:
        lines += ["", style(f"Commits compared: {report.commits_total}", "bold")]
        lines += [f"  {c.sha[:8]} {c.subject} ({c.author})" for c in report.commits[:20]]
        if report.commits_total > 20:
            lines.append(f"  ... and {report.commits_total - 20} more")
    return "\n".join(lines) + "\n"
