"""The report as GitHub/GitLab markdown: the verdict at a glance, details in collapsible sections.

A forge comment holds at most 65,536 characters: when the report is longer, whole detail blocks are
replaced by a one-line stub (least important first) until it fits; the verdict and the gate are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mlgit.render import wording
from mlgit.report.build import (
    GateStatus,
    HistoryPoint,
    ModelReport,
    Report,
    ReportVerdict,
    RuleMark,
    Section,
    SectionStatus,
    Trend,
)
from mlgit.results.finding import Finding, Severity, counts

MARKER = "<!-- mlgit:report -->"  # finds the sticky comment again; GitHub and GitLab hide HTML comments
LIMIT = 65_536
_ICON: dict[str, str] = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
_VERDICT_ICON = {ReportVerdict.PASSED: "✅", ReportVerdict.WARNED: "⚠️", ReportVerdict.FAILED: "❌"}
_TREND_ICON = {Trend.BETTER: "🟢", Trend.WORSE: "🔴", Trend.SAME: "⚪", Trend.UP: "▲", Trend.DOWN: "▼"}
_RULE_ICON = {RuleMark.PASSED: "✅", RuleMark.FAILED: "❌"}
MAX_CHARTS = 4
MAX_ROWS = 200


def cell(text: str) -> str:
    """Text safe inside a table cell: no pipes, tags, newlines or @mentions."""
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"(?<!\w)@(?=\w)", "@\u200b", " ".join(text.split()))


def code(text: str) -> str:
    """An inline code span that survives backticks and pipes in the text."""
    text = " ".join(text.split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], limit: int = MAX_ROWS) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"\n*... and {len(rows) - limit} more rows in the full report.*")
    return lines


def _details(summary: str, body: list[str], *, open_: bool = False) -> list[str]:
    return [f"<details{' open' if open_ else ''}><summary>{summary}</summary>", "", *body, "", "</details>", ""]


@dataclass
class _Block:
    """A piece of the comment; optional blocks give way (to `stub`) when the comment is too long."""

    lines: list[str]
    drop_rank: int = 0  # 0: always kept; higher: dropped earlier
    stub: str = ""


def _gate(m: ModelReport) -> list[str]:
    g = m.gate
    lines = [
        f"### {_VERDICT_ICON[ReportVerdict.PASSED if g.passed else ReportVerdict.FAILED]} {cell(wording.gate_summary(m.name, g))}",
        "",
    ]
    if g.status is GateStatus.ERROR:
        return [*lines, *[f"*{cell(x)}*" for x in (g.error or "").splitlines()[1:]], ""]
    lines.append(f"Gate baseline: {cell(wording.baseline_words(g))}")
    lines.append("")
    rules = sorted(g.rules, key=lambda r: r.passed)  # failures first
    if rules:
        rows = [[("✅" if r.passed else "❌"), code(r.metric), r.rule, cell(r.message)] for r in rules]
        lines += [*_table(["", "Metric", "Rule", "Detail"], rows, limit=50), ""]
    else:
        lines += ["*No gate rules apply (declare gates under `policy.gates` in mlgit.yaml).*", ""]
    return lines + _policy_change(m)


def _policy_change(m: ModelReport) -> list[str]:
    pc = m.policy_change
    if pc is None:
        return []
    header = [h.format(label=pc.trusted_from) for h in wording.POLICY_HEADER]
    rows = [
        [
            (f"**{code(r.setting)}**" if r.changed else code(r.setting)),
            cell(wording.setting(r.old)),
            cell(wording.setting(r.new)),
        ]
        for r in pc.rows
    ]
    intro = f"**Policy change.** {cell(wording.policy_intro(m.name, pc.trusted_from, len(pc.changed)))}"
    return [intro, "", *_table([cell(h) for h in header], rows, limit=50), ""]


def _metrics(m: ModelReport) -> list[str]:
    if not m.metrics:
        return []
    rows = []
    for r in m.metrics:
        trend = wording.TREND_WORD.get(r.trend, r.trend)
        icon = _TREND_ICON.get(r.trend, "")
        gate = _RULE_ICON[r.gate] if r.gate else ""
        direction = {"higher": " ↑", "lower": " ↓"}.get(r.direction or "", "")
        rows.append(
            [
                code(r.key) + direction,
                cell(wording.value(r.old)),
                cell(wording.value(r.new)),
                cell(wording.delta(r)),
                f"{icon} {trend}".strip(),
                gate,
            ]
        )
    lines = [f"**Metrics** of {code(m.name)} against the base (↑/↓: higher/lower is better):", ""]
    lines += _table(["Metric", "Base", "This change", "Change", "", "Gate"], rows)
    for path in m.no_baseline:
        lines.append(f"\n*{code(path)}: no baseline (the file does not exist at the base), not compared.*")
    return [*lines, ""]


def _chart(metric: str, direction: str | None, points: Sequence[HistoryPoint]) -> list[str]:
    pts = [(p.label, p.values.get(metric)) for p in points]
    shown = [(label, v) for label, v in pts if v is not None]
    if len(shown) < 2:
        return []
    values = [v for _, v in shown]
    low, high = wording.chart_range(values)
    title = metric + (f" ({direction} is better)" if direction else "")

    def q(s: str) -> str:
        return '"' + s.replace('"', "'") + '"'

    return [
        "```mermaid",
        # The default theme draws a pale line; a directive every mermaid version understands makes it visible.
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#0969da"}}}}%%',
        "xychart-beta",
        f"    title {q(title)}",
        f"    x-axis [{', '.join(q(label) for label, _ in shown)}]",
        f"    y-axis {q(metric)} {low:.6g} --> {high:.6g}",
        f"    line [{', '.join(f'{v:.6g}' for v in values)}]",
        "```",
        "",
    ]


def _history(m: ModelReport) -> tuple[list[str], str]:
    releases = sum(1 for p in m.history if not p.current)
    charts: list[str] = []
    drawn = 0
    for metric in m.history_metrics:
        if drawn == MAX_CHARTS:
            break
        chart = _chart(metric, m.directions.get(metric), m.history)
        if chart:
            charts += chart
            drawn += 1
    if not charts:
        return [], ""
    more = len(m.history_metrics) - drawn
    if more > 0:
        charts.append(f"*{more} more metric{'s' if more != 1 else ''} charted in the full report.*")
    summary = f"📈 Metric history of {m.name}: {releases} release{'s' if releases != 1 else ''} and this change"
    return _details(summary, charts), f"*📈 Metric history of {code(m.name)}: see the full report.*"


def _params(m: ModelReport) -> tuple[list[str], str]:
    if not m.params:
        return [], ""
    rows = [
        [code(r.file), code(r.key), cell(wording.value(r.old)), cell(wording.value(r.new)), r.status] for r in m.params
    ]
    n = len(m.params)
    summary = f"Params of {m.name}: {n} changed ({m.params_unchanged} unchanged)"
    return (
        _details(cell(summary), _table(["File", "Param", "Base", "This change", ""], rows)),
        f"*{cell(summary)}: listed in the full report.*",
    )


def _findings_table(findings: Sequence[Finding]) -> list[str]:
    rows = []
    for f in wording.ordered(findings):
        where = f.file + (f":{f.line}" if f.line else "") if f.file else ""
        rows.append(
            [
                _ICON.get(f.severity, ""),
                code(f.code),
                cell(f.subject + (f" / {f.column}" if f.column else "")),
                cell(f.message),
                code(where) if where else "",
            ]
        )
    return _table(["", "Code", "Where", "Finding", "File"], rows)


def _no_drift(m: wording.Measurement) -> bool:
    # A passing column whose measure is exactly zero says nothing a reviewer needs to read in a comment.
    value = m.data.get("value")
    return m.severity == Severity.INFO and isinstance(value, (int, float)) and value == 0


def _measurements(meas: Sequence[wording.Measurement], cols: Sequence[str]) -> list[str]:
    quiet = [m for m in meas if _no_drift(m)]
    meas = [m for m in meas if not _no_drift(m)]
    note = [f"*{len(quiet)} column{'s' if len(quiet) != 1 else ''} without any drift not shown.*", ""] if quiet else []
    if not meas:
        return note
    rows = [
        [
            _ICON.get(f.severity, "✅") if f.severity != Severity.INFO else "✅",
            cell(f.subject),
            code(f.column) if f.column else "",
            *[cell(wording.any_value(f.data.get(c))) for c in cols],
        ]
        for f in meas
    ]
    return ["**Drift** (measured against the base):", "", *_table(["", "Dataset", "Column", *cols], rows), "", *note]


def _section(s: Section, report: Report) -> tuple[list[str], str]:
    c = counts(s.findings)
    if s.status is SectionStatus.UNAVAILABLE:
        return [], ""
    icon = "❌" if c[Severity.ERROR] else "⚠️" if c[Severity.WARNING] else "✅"
    summary = f"{icon} {s.title}: {wording.counts_words(c)}"
    body: list[str] = []
    if s.note:
        body += [f"*{cell(s.note)}*", ""]
    if s.key == "data" and report.datasets:
        rows = [
            [code(d.name), code(d.path), d.rows, code((d.old_md5 or "-")[:8]), code((d.new_md5 or "-")[:8]), d.status]
            for d in report.datasets
        ]
        body += [*_table(["Dataset", "Path", "Rows", "Base md5", "New md5", ""], rows), ""]
    meas, cols, others = wording.split_measurements(s.findings)
    body += _measurements(meas, cols)
    if others:
        body += [*_findings_table(others), ""]
    elif not s.findings and not s.note:
        body += ["No findings.", ""]
    return _details(
        cell(summary), body, open_=bool(c[Severity.ERROR])
    ), f"*{cell(summary)} (details in the full report).*"


def _commits(report: Report) -> tuple[list[str], str]:
    if not report.commits:
        return [], ""
    lines = [f"- {code(c.sha[:8])} {cell(c.subject)} ({cell(c.author)})" for c in report.commits]
    if report.commits_total > len(report.commits):
        lines.append(f"- ... and {report.commits_total - len(report.commits)} more")
    summary = f"Commits compared: {report.commits_total}"
    return _details(summary, lines), ""


def _blocks(report: Report) -> list[_Block]:
    verdict = report.verdict
    head = [
        MARKER,
        f"## {_VERDICT_ICON[verdict]} mlgit report: {wording.VERDICT_WORD[verdict]}",
        "",
        cell(report.headline),
        "",
        f"<sub>{cell(wording.change_words(report))}</sub>",
        "",
    ]
    blocks = [_Block(head)]
    notes = []
    if report.stale is None:
        notes.append("Could not tell whether the pipeline is up to date (`dvc status` failed).")
    elif report.stale:
        stages = "; ".join(f"{code(s.stage)}: {cell(', '.join(s.reasons[:3]) or 'changed')}" for s in report.stale[:5])
        notes.append(
            f"The pipeline is **stale**: the committed metrics may not match the code ({stages}). Run `dvc repro` and commit."
        )
    if report.dirty:
        notes.append(f"Uncommitted changes are included: {cell(', '.join(report.dirty[:5]))}.")
    if notes:
        blocks.append(_Block(["> [!Severity.WARNING]", *[f"> {n}" for n in notes], ""]))
    for m in report.models:
        blocks.append(_Block(_gate(m)))
        blocks.append(_Block(_metrics(m), 6, f"*Metrics of {code(m.name)}: see the full report.*"))
        hist, stub = _history(m)
        blocks.append(_Block(hist, 4, stub))
        params, stub = _params(m)
        blocks.append(_Block(params, 3, stub))
    for rank, s in zip((5, 5, 4), report.sections, strict=False):
        body, stub = _section(s, report)
        blocks.append(_Block(body, rank, stub))
    commits, stub = _commits(report)
    blocks.append(_Block(commits, 1, stub))
    return blocks


def _footer(report: Report, dropped: bool) -> list[str]:
    full = report.links.get("full_report") or report.links.get("run")
    where = f"[the full HTML report]({full})" if full else "the full HTML report (`mlgit report --format html`)"
    lines = []
    if dropped:
        lines += [
            f"> [!NOTE]\n> Some details were left out to keep this comment under {LIMIT:,} characters; "
            f"they are all in {where}.",
            "",
        ]
    elif full:
        lines += [f"<sub>Full report with charts: {where}.</sub>", ""]
    from mlgit import __version__

    lines.append(f"<sub>Generated by mlgit {__version__}.</sub>")
    return lines


def render(report: Report, *, limit: int = LIMIT) -> str:
    """The markdown report, at most `limit` characters, starting with the sticky-comment marker."""
    blocks = _blocks(report)

    def join(dropped: bool) -> str:
        lines = [line for b in blocks for line in b.lines]
        return "\n".join([*lines, *_footer(report, dropped)]).rstrip() + "\n"

    text = join(False)
    if len(text) <= limit:
        return text
    for rank in sorted({b.drop_rank for b in blocks if b.drop_rank}, reverse=False):
        for b in blocks:
            if b.drop_rank == rank:
                b.lines = [b.stub, ""] if b.stub else []
        text = join(True)
        if len(text) <= limit:
            return text
    # Only the verdict is left and it is still too long (thousands of failing rules): cut at a line.
    footer = "\n".join(["", *_footer(report, True)]) + "\n"
    cut = text[: max(0, limit - len(footer) - 40)]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    return cut + "\n*... (truncated)*\n" + footer


_CLAIM = re.compile(r"^#+ .*?mlgit report: (PASS WITH WARNINGS|PASS|FAIL)\b", re.MULTILINE)
_CLAIMED = {word: verdict for verdict, word in wording.VERDICT_WORD.items()}
_AGREES = {"success": {ReportVerdict.PASSED, ReportVerdict.WARNED}, "failure": {ReportVerdict.FAILED}}


def claimed_verdict(body: str) -> ReportVerdict | None:
    """The verdict (pass | warn | fail) a report's first headline claims, or None when it has none."""
    found = _CLAIM.search(body)
    return _CLAIMED[found.group(1)] if found else None


def stamp_conclusion(body: str, conclusion: str) -> str:
    """The report under a line stating the conclusion the forge recorded for the run that made it.

    The report of a fork's pull request is made by the fork's code and can claim anything; the run's
    conclusion comes from the forge's own event. A report whose claimed verdict disagrees is marked.
    """
    claim = claimed_verdict(body)
    if claim is not None and claim in _AGREES.get(conclusion, set()):
        stamp = f"> Checks run: **{conclusion}** (recorded by the forge for the run that made this report)"
    else:
        said = f"claims {wording.VERDICT_WORD[claim]}" if claim else "states no verdict"
        stamp = (
            f"> ⚠️ Checks run: **{conclusion}**, but the report below {said}. The report was written by the "
            "pull request's own code: trust the checks run, not the report."
        )
    # HTML comments are hidden when rendered: escaped, a second marker or a hidden verdict is plain, visible text.
    rest = body.removeprefix(MARKER).lstrip("\n").replace("<!--", "&lt;!--")
    if stamp.startswith("> ⚠️"):
        # A report that disagrees with the run (or says nothing) is shown as text, not rendered: its headline,
        # badges or an imitation of the line above cannot read as the bot's own words (issue 12).
        rest = _fenced(rest)
    return f"{MARKER}\n{stamp}\n\n{rest}"


def _fenced(text: str) -> str:
    """`text` in a code fence longer than any run of backticks inside it, so nothing in it closes the fence."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}\n"
