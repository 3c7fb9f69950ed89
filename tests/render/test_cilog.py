"""In a CI job, user data that mlgit prints cannot become a GitHub workflow command or a GitLab section."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mlgit.render import cilog


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("::warning file=x::INJECTED", "\\::warning file=x::INJECTED"),
        ("   ::error::x", "\\   ::error::x"),  # the runner trims leading blanks before it looks
        ("a ##[warning]b", "a #\\#[warning]b"),  # the legacy syntax is found anywhere in a line
        ("\x1b[0Ksection_start:1:evil\r\x1b[0K", "^[[0Ksection_start:1:evil^M^[[0K"),  # GitLab's fold marker
        ("col\u009bname", "col<U+009B>name"),
        ("plain: text :: with colons", "plain: text :: with colons"),
    ],
)
def test_escape_line(line: str, shown: str) -> None:
    assert cilog.escape_line(line) == shown


def test_stream_escapes_every_line_but_mlgits_own_commands() -> None:
    inner = io.StringIO()
    stream = cilog.EscapingStream(inner)  # type: ignore[arg-type]  # a StringIO is the TextIO it wraps
    stream.write("column evil\n::warning::INJECTED\npart")
    cilog.write_command(stream, "::error file=a.csv::real")  # type: ignore[arg-type]  # as above
    stream.write("ial\n")
    assert inner.getvalue() == "column evil\n\\::warning::INJECTED\npart::error file=a.csv::real\nial\n"
    assert not stream.isatty()


def test_csv_header_cannot_inject_a_workflow_command(git_repo: Path, mlgit, monkeypatch: pytest.MonkeyPatch) -> None:
    assert mlgit(git_repo, "schema", "infer", "table").code == 0
    (git_repo / "data" / "table.csv").write_text('id,"evil\n::warning file=x::INJECTED",label\n1,0.5,0\n')
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    r = mlgit(git_repo, "check", "data")
    assert r.code == 1, r.err
    assert "INJECTED" in r.out  # still shown, as text
    assert not [line for line in (r.out + r.err).splitlines() if line.lstrip().startswith("::")]


def test_outside_ci_nothing_is_rewritten(git_repo: Path, mlgit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITLAB_CI", raising=False)
    assert mlgit(git_repo, "schema", "infer", "table").code == 0
    (git_repo / "data" / "table.csv").write_text('id,"evil\n::warning::X",label\n1,0.5,0\n')
    r = mlgit(git_repo, "check", "data")
    assert any(line.lstrip().startswith("::warning::X") for line in r.out.splitlines())


def test_csv_header_cannot_open_or_close_a_gitlab_section(
    small_repo: Path, mlgit, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GitLab folds the log at `section_start:<time>:<name>\r ESC[0K` (and `section_end:`), found anywhere in a line.
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("GITLAB_CI", "true")
    assert mlgit(small_repo, "schema", "infer", "table").code == 0
    marker = "\x1b[0Ksection_start:1:evil\r\x1b[0Kfake"
    closer = "\x1b[0Ksection_end:1:build_script\r\x1b[0K"
    (small_repo / "data" / "table.csv").write_text(f'id,"{marker}",label,"{closer}"\n1,0.5,0,1\n')
    r = mlgit(small_repo, "check", "data")
    assert r.code == 1, r.err
    shown = r.out + r.err
    assert "section_start:1:evil" in shown  # still shown, as text
    assert "\x1b" not in shown and "\r" not in shown
    assert "section_start:1:evil^M^[[0K" in shown
