"""`mlgit report`: one report of the change against its baseline, as text, markdown, JSON or HTML.

Format: `--format` wins; else the extension of `--output` (.md, .json, .html/.htm); else text.
Inside GitHub Actions the markdown also goes to $GITHUB_STEP_SUMMARY and failing findings tied to a
file become annotations (for the human formats only, so generating md + html + json in one job does
not repeat them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlgit.checks.check import Check
from mlgit.checks.suite import CHECKS
from mlgit.config import settings as config
from mlgit.errors import MlgitError
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState, target_branch
from mlgit.report import build as core
from mlgit.results import serialize
from mlgit.system import atomic

_EXTENSIONS = {".md": "md", ".markdown": "md", ".json": "json", ".html": "html", ".htm": "html", ".txt": "text"}


def _format(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    if output:
        return _EXTENSIONS.get(Path(output).suffix.lower(), "text")
    return "text"


def links(env: Mapping[str, str]) -> dict[str, str]:
    """Where the run (and its full HTML report artifact) can be found, from the CI environment."""
    out = {}
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        out["run"] = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    elif env.get("CI_PIPELINE_URL"):
        out["run"] = env["CI_PIPELINE_URL"]
    if env.get("MLGIT_REPORT_URL"):
        out["full_report"] = env["MLGIT_REPORT_URL"]
    return out


def render(report: core.Report, fmt: str, *, color: bool = False) -> str:
    """The report in one format."""
    if fmt == "json":
        return serialize.dumps(report) + "\n"
    if fmt == "md":
        from mlgit.render import markdown

        return markdown.render(report)
    if fmt == "html":
        from mlgit.render import html

        return html.render(report)
    from mlgit.render import text
    from mlgit.render.style import Style

    return text.render(report, Style(color))


def _is_previous_report(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
    except OSError:
        return False
    from mlgit.render.html import GENERATOR
    from mlgit.render.markdown import MARKER

    return (
        head.startswith(MARKER)
        or f'"schema": "{core.SCHEMA}"' in head
        or f'<meta name="generator" content="{GENERATOR}">' in head
        or head.startswith("mlgit report: ")
    )


def write_atomic(path: Path, text: str, *, force: bool) -> None:
    """Write `text` to `path` all at once; a file that is not a previous report needs `force`."""
    if path.is_dir():
        raise MlgitError(f"{path} is a directory; --output needs a file name")
    if path.exists() and not force and not _is_previous_report(path):
        raise MlgitError(
            f"{path} exists and is not an mlgit report; not overwriting it",
            hint="choose another --output path, or pass --force to replace it",
        )
    try:
        atomic.write_text(path, text)
    except OSError as exc:
        raise MlgitError(f"cannot write {path}: {exc.strerror}") from None


def _github_actions(report: core.Report, *, annotations_to_stderr: bool) -> None:
    from mlgit.render import annotations, cilog, markdown

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(markdown.render(report) + "\n")
        except OSError as exc:
            sys.stderr.write(f"warning: cannot write the step summary {summary}: {exc.strerror}\n")
    stream = sys.stderr if annotations_to_stderr else sys.stdout
    for line in annotations.github(report.findings):
        cilog.write_command(stream, line)
    stream.flush()


def run(
    cwd: Path,
    base: str | None,
    format: str | None,
    output: str | None,
    force: bool = False,
    checks: Sequence[Check] | None = None,
) -> int:
    """Build the report of the work tree against its baseline and write it in one format.

    `checks` replaces the suite `mlgit check` runs (tests pass their own).
    """
    root = git.toplevel(cwd)
    # The base, the gate and what may be unpickled: from the default branch's mlgit.yaml, not the change's.
    env = dict(os.environ)
    repo = RepoState(root, None, target_branch(env))
    cfg = trust.settings(repo, config.load(root))
    fmt = _format(format, output)
    report = core.build(
        repo.with_branch(cfg.ci.default_branch),
        cfg,
        base_spec=base,
        target_branch=target_branch(env),
        links=links(env),
        checks=CHECKS if checks is None else checks,
    )
    if output:
        path = Path(output) if Path(output).is_absolute() else cwd / output
        write_atomic(path, render(report, fmt), force=force)
        sys.stdout.write(f"wrote the {fmt} report to {output} (verdict: {report.verdict})\n")
    else:
        from mlgit.render.style import use_color

        sys.stdout.write(render(report, fmt, color=fmt == "text" and use_color(sys.stdout)))
    sys.stdout.flush()
    if env.get("GITHUB_ACTIONS") == "true" and fmt in {"md", "text"}:
        _github_actions(report, annotations_to_stderr=output is None and fmt != "text")
    return 0
