"""`mlgit report`: the change against its baseline, in every format, on real git + DVC repositories.

Tests about what the report shows for given findings run checks of their own (`Given`), passed in as values;
tests about what the real checks find run the real suite through the CLI.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from mlgit.checks.check import Context, Family
from mlgit.cli.commands import report as report_cmd
from mlgit.cli.main import COMMANDS, Command, main
from mlgit.errors import MlgitError
from mlgit.render import annotations
from mlgit.render.markdown import LIMIT, MARKER
from mlgit.results.finding import Finding, Severity
from mlgit.system import process
from testing.repos import BIN, FIXED_ENV, REPO_ROOT, Result, commit_all, dvc, git, set_param

MODEL = "cancer-classifier"


@pytest.fixture(scope="module")
def improved(_example_template: Path, _git_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example after a first release (v0.1.0), on a branch that trains with C=1.0 (committed)."""
    repo = tmp_path_factory.mktemp("improved") / "repo"
    shutil.copytree(_example_template, repo, symlinks=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_", "GITLAB_", "CI_"))},
        **FIXED_ENV,
        "GIT_CONFIG_GLOBAL": str(_git_config),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
    }

    def run(*args: str) -> None:
        subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)

    run(sys.executable, "-m", "mlgit", "promote")
    run("git", "checkout", "-q", "-b", "better-model")
    params = repo / "params.yaml"
    params.write_text(re.sub(r"(?m)^(\s+C:)\s*\S+", r"\g<1> 1.0", params.read_text(), count=1))
    run(str(BIN / "dvc"), "repro", "-q")
    run("git", "commit", "-q", "-am", "Train with C=1.0")
    return repo


@pytest.fixture
def improved_copy(improved: Path, tmp_path: Path) -> Path:
    """A private copy of `improved` for tests that change it."""
    dest = tmp_path / "improved"
    shutil.copytree(improved, dest, symlinks=True)
    return dest


@dataclass
class Given:
    """A check of the test's own: yields the findings it is given (or raises), and records the base it got."""

    family: Family
    found: list[Finding] = field(default_factory=list)
    raises: MlgitError | None = None
    bases: list[str | None] = field(default_factory=list)

    def findings(self, ctx: Context) -> Iterator[Finding]:
        self.bases.append(ctx.data_base)
        if self.raises is not None:
            raise self.raises
        yield from self.found


@pytest.fixture
def given() -> dict[str, Given]:
    """One check per family, finding nothing until a test gives it findings."""
    return {f.value: Given(f) for f in Family}


@pytest.fixture
def report(given: dict[str, Given], capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """`mlgit report ARGS` through the real CLI, its `report` command running the `given` checks (or `checks=`)."""

    def call(repo: Path, *args: str, checks: Sequence[Given] | None = None) -> Result:
        run = tuple(given.values()) if checks is None else tuple(checks)

        def with_checks(cwd: Path, a: argparse.Namespace) -> int:
            return report_cmd.run(cwd, base=a.base, format=a.format, output=a.output, force=a.force, checks=run)

        capsys.readouterr()
        code = main(["-C", str(repo), "report", *args], commands={**COMMANDS, ("report",): Command(with_checks)})
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return call


def _json(report: Callable[..., Result], repo: Path, *args: str) -> dict:
    r = report(repo, "--format", "json", *args)
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_improving_branch_as_json(improved: Path, report, given) -> None:
    doc = _json(report, improved)
    assert doc["schema"] == "mlgit.report/1"
    assert doc["verdict"] == "pass"
    assert doc["headline"] == f"{MODEL} would be released as v0.2.0"
    assert doc["base"]["kind"] == "branch" and doc["base"]["label"].startswith("main (merge-base")
    assert doc["head"]["commit"] == git("rev-parse", "HEAD", cwd=improved).strip() and doc["head"]["dirty"] == []
    assert [c["subject"] for c in doc["commits"]["shown"]] == ["Train with C=1.0"] and doc["commits"]["total"] == 1
    (model,) = doc["models"]
    gate = model["gate"]
    assert (gate["status"], gate["tag"], gate["bump"]) == ("would-release", f"{MODEL}@v0.2.0", "minor")
    assert gate["baseline"]["kind"] == "release" and gate["baseline"]["tag"] == f"{MODEL}@v0.1.0"
    rows = {r["key"]: r for r in model["metrics"]}
    assert rows["accuracy"]["trend"] == "better" and rows["accuracy"]["gate"] == "pass"
    assert rows["accuracy"]["change"] == pytest.approx(rows["accuracy"]["new"] - rows["accuracy"]["old"])
    assert rows["log_loss"]["direction"] == "lower" and rows["log_loss"]["trend"] == "better"
    assert rows["log_loss"]["change"] < 0
    assert model["params"] == [{"file": "params.yaml", "key": "train.C", "old": 0.001, "new": 1.0, "status": "changed"}]
    points = model["history"]["points"]
    assert [p["label"] for p in points] == ["v0.1.0", "this change"] and points[-1]["current"]
    assert points[0]["values"]["accuracy"] == rows["accuracy"]["old"]  # read from the release tag's lineage
    assert points[1]["values"]["accuracy"] == rows["accuracy"]["new"]
    assert {d["name"]: d["status"] for d in doc["datasets"]} == {
        "breast_cancer": "same",
        "train": "same",
        "test": "same",
    }
    assert doc["stale_stages"] == []
    assert [s["status"] for s in doc["sections"]] == ["ok", "ok", "ok"]
    assert given["data"].bases == [doc["base"]["commit"]]  # the checks compare with the same base


def test_markdown_has_verdict_details_and_mermaid_history(improved: Path, report) -> None:
    r = report(improved, "--format", "md")
    assert r.code == 0, r.err
    md = r.out
    assert md.startswith(MARKER + "\n") and len(md) < LIMIT
    assert "## ✅ mlgit report: PASS" in md
    assert f"would be released as {MODEL}@\u200bv0.2.0" not in md  # no @mention mangling inside names
    assert f"{MODEL}: would be released as {MODEL}@v0.2.0 (minor: improved accuracy" in md
    assert "| ✅ | `accuracy` | regression |" in md
    assert "<details><summary>📈 Metric history" in md and "</details>" in md
    charts = re.findall(r"```mermaid\n%%\{init: .*?\}%%\nxychart-beta\n(.*?)```", md, re.S)
    assert charts and 'x-axis ["v0.1.0", "this change"]' in charts[0] and "line [" in charts[0]
    assert "`train.C` | 0.001 | 1 | changed" in md
    assert "Commits compared: 1" in md and "Train with C=1.0" in md


def test_text_is_plain_without_a_tty_and_colored_on_one(improved: Path, report, monkeypatch) -> None:
    r = report(improved)
    assert r.code == 0, r.err
    assert r.out.startswith("mlgit report: PASS\n")
    assert f"would be released as {MODEL}@v0.2.0" in r.out
    assert "\x1b[" not in r.out and "<details>" not in r.out and "|---" not in r.out and "```" not in r.out
    assert re.search(r"accuracy\s+0\.9161\s+0\.\d+\s+\+0\.\d+ \(\+\d+\.\d%\)\s+better\s+ok", r.out)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert "\x1b[" not in report(improved).out  # NO_COLOR is set by the test environment
    monkeypatch.delenv("NO_COLOR")
    colored = report(improved).out
    assert "\x1b[32;1mmlgit report: PASS\x1b[0m" in colored
    assert "\x1b[" not in report(improved, "--format", "md").out


def test_html_is_one_self_contained_file_with_svg_charts(improved: Path, report) -> None:
    r = report(improved, "--format", "html")
    assert r.code == 0, r.err
    page = r.out
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert len(re.findall(r"<svg class=\"chart\"", page)) == 6  # one per gated metric
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "would be released as cancer-classifier@v0.2.0" in page


def test_output_is_written_whole_and_never_over_a_users_file(git_repo: Path, report) -> None:
    repo = git_repo
    r = report(repo, "--output", "out/report.md")
    assert r.code == 0, r.err
    assert "wrote the md report to out/report.md (verdict: pass)" in r.out
    assert (repo / "out" / "report.md").read_text().startswith(MARKER)
    assert report(repo, "--output", "out/report.md").code == 0  # a previous report is replaced
    for ext, start in ((".json", "{"), (".html", "<!DOCTYPE html>"), (".txt", "mlgit report: PASS")):
        assert report(repo, "--output", f"out/r{ext}").code == 0
        assert (repo / "out" / f"r{ext}").read_text().startswith(start)
        assert report(repo, "--output", f"out/r{ext}").code == 0
    (repo / "notes.md").write_text("my notes\n")
    r = report(repo, "--output", "notes.md")
    assert r.code == 2 and "notes.md exists and is not an mlgit report" in r.err and "--force" in r.err
    assert (repo / "notes.md").read_text() == "my notes\n"
    assert report(repo, "--output", "notes.md", "--force").code == 0
    assert (repo / "notes.md").read_text().startswith(MARKER)
    assert sorted(p.name for p in (repo / "out").iterdir()) == ["r.html", "r.json", "r.txt", "report.md"]
    r = report(repo, "--output", "out")
    assert r.code == 2 and "is a directory" in r.err


def test_stale_pipeline_and_uncommitted_changes_are_warned(improved_copy: Path, report) -> None:
    params = improved_copy / "params.yaml"
    params.write_text(params.read_text().replace("max_iter: 200", "max_iter: 300"))
    doc = _json(report, improved_copy)
    assert doc["verdict"] == "warn"
    assert doc["head"]["dirty"] == ["params.yaml"]
    assert [s["stage"] for s in doc["stale_stages"]] == ["train"]
    stale = [f for f in doc["findings"] if f["code"] == "pipeline.stale"]
    assert stale and stale[0]["severity"] == "warning" and stale[0]["file"] == "dvc.lock" and stale[0]["line"]
    md = report(improved_copy, "--format", "md").out
    assert "The pipeline is **stale**" in md and "`train`" in md and "dvc repro" in md
    assert "stage 'train' is stale" in report(improved_copy).out


@pytest.fixture
def regressed(git_repo: Path, mlgit) -> Path:
    """git_repo released as v0.1.0, then a branch whose accuracy dropped below the policy."""
    (git_repo / "metrics.json").write_text('{\n  "accuracy": 0.8,\n  "loss": 0.4\n}\n')
    commit_all(git_repo, "metrics on several lines")
    assert mlgit(git_repo, "promote").code == 0
    git("checkout", "-q", "-b", "worse", cwd=git_repo)
    (git_repo / "metrics.json").write_text('{\n  "accuracy": 0.45,\n  "loss": 0.6\n}\n')
    commit_all(git_repo, "A worse model")
    return git_repo


def test_regression_fails_with_reasons_and_github_annotations(regressed: Path, report, monkeypatch) -> None:
    summary = regressed.parent / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/repo")
    monkeypatch.setenv("GITHUB_RUN_ID", "99")
    r = report(regressed, "--format", "md", "--output", "report.md")
    assert r.code == 0, r.err  # the report states the verdict; `mlgit check` is the step that fails
    md = (regressed / "report.md").read_text()
    assert "## ❌ mlgit report: FAIL" in md
    assert "clf would be rejected (3 rules failed)" in md
    assert "| ❌ | `accuracy` | min | 0.45 &lt; min 0.5 (mlgit.yaml:15) |" in md
    assert "https://github.com/octo/repo/actions/runs/99" in md  # where the full report is
    assert summary.read_text().startswith("earlier step\n" + MARKER)  # appended, not replaced
    errors = [line for line in r.out.splitlines() if line.startswith("::error ")]
    assert (
        "::error file=metrics.json,line=2,title=mlgit model.metric-regressed::clf: accuracy: 0.45 vs 0.8"
        in "\n".join(errors)
    )
    assert any(
        line.startswith("::error file=mlgit.yaml,line=15,title=mlgit model.metric-below-min::") for line in errors
    )
    assert any(line.startswith("::error file=metrics.json,line=3,") and "loss" in line for line in errors)
    # JSON and HTML are artifacts: generating them too does not repeat the summary or the annotations.
    r = report(regressed, "--format", "json", "--output", "report.json")
    assert "::error" not in r.out + r.err and summary.read_text().count(MARKER) == 1
    doc = json.loads((regressed / "report.json").read_text())
    assert doc["verdict"] == "fail" and doc["links"]["run"] == "https://github.com/octo/repo/actions/runs/99"
    assert {r["metric"] for r in doc["models"][0]["gate"]["rules"] if not r["passed"]} == {"accuracy", "loss"}


def test_first_release_has_no_baseline_not_zero(git_repo: Path, report) -> None:
    doc = _json(report, git_repo)
    gate = doc["models"][0]["gate"]
    assert gate["first_release"] and gate["status"] == "would-release" and gate["tag"] == "clf@v0.1.0"
    assert doc["base"]["kind"] == "none" and doc["commits"] == {"total": 0, "shown": []}
    assert doc["models"][0]["metrics_without_baseline"] == ["metrics.json"]
    assert all(r["old"] is None and r["change"] is None for r in doc["models"][0]["metrics"])
    md = report(git_repo, "--format", "md").out
    assert "first release, only absolute bounds (min/max) apply" in md and "no baseline" in md


def test_on_the_default_branch_the_base_is_the_last_release(regressed: Path, report) -> None:
    git("checkout", "-q", "main", cwd=regressed)
    doc = _json(report, regressed)
    assert doc["base"]["kind"] == "release" and doc["base"]["tag"] == "clf@v0.1.0"
    assert doc["models"][0]["gate"]["status"] == "already-released"
    doc = _json(report, regressed, "--base", "worse")
    assert doc["base"]["kind"] == "rev" and doc["models"][0]["gate"]["baseline"]["kind"] == "rev"
    r = report(regressed, "--base", "no-such-rev")
    assert r.code == 2 and "unknown revision 'no-such-rev'" in r.err


def test_pull_request_target_branch_from_the_ci_environment(regressed: Path, report, monkeypatch) -> None:
    git("branch", "release-1.x", "main", cwd=regressed)
    monkeypatch.setenv("GITHUB_BASE_REF", "release-1.x")
    doc = _json(report, regressed)
    assert doc["base"]["label"].startswith("release-1.x (merge-base")
    monkeypatch.setenv("GITHUB_BASE_REF", "gone")
    r = report(regressed)
    assert r.code == 2 and "'gone' is not in this clone" in r.err and "git fetch" in r.err


def test_findings_of_other_checks_render_in_every_format(regressed: Path, report, given, monkeypatch) -> None:
    drift = {"method": "psi", "value": 0.41, "threshold": 0.2, "drifted": True, "base": "main"}
    given["data"].found += [
        Finding(
            code="data.drift",
            severity=Severity.INFO,
            subject="table",
            message="x: psi 0.03",
            column="x",
            data={"method": "psi", "value": 0.03, "threshold": 0.2},
        ),
        Finding(
            code="data.drift",
            severity=Severity.INFO,
            subject="table",
            message="label: psi 0.41",
            column="label",
            data=drift,
        ),
        Finding(
            code="data.drift-detected",
            severity=Severity.ERROR,
            subject="table",
            message="label drifted from main: psi 0.41 > 0.2",
            file="schemas/table.schema.yaml",
            line=9,
            column="label",
            data=drift,
        ),
        Finding(
            code="data.out-of-range",
            severity=Severity.ERROR,
            subject="table",
            message="x: 3 rows outside [0, 1]",
            file="mlgit.yaml",
            line=4,
            column="x",
            data={"count": 3, "samples": [1.5, 2.0]},
        ),
    ]
    given["schema"].found.append(
        Finding(
            code="schema.column-removed",
            severity=Severity.ERROR,
            subject="table",
            message="column 'label' was removed (breaking)",
            file="schemas/table.schema.yaml",
            line=7,
            column="label",
        )
    )
    given["model"].found += [
        Finding(
            code="model.metric-regressed",
            severity=Severity.ERROR,
            subject="clf",
            message="accuracy overall (already in the gate)",
        ),
        Finding(
            code="model.pipeline-stale",
            severity=Severity.ERROR,
            subject="clf",
            message="(the report has its own pipeline warning)",
        ),
        Finding(
            code="model.slice-missing",
            severity=Severity.WARNING,
            subject="clf",
            message="slice segment=a: accuracy is in the baseline but not in the candidate",
            file="metrics.json",
            data={"slice": "segment=a"},
        ),
        Finding(code="model.artifact-size", severity=Severity.INFO, subject="clf", message="model.pkl is 19 B"),
    ]
    doc = _json(report, regressed)
    sections = {s["key"]: s for s in doc["sections"]}
    assert [f["code"] for f in sections["data"]["findings"]] == [
        "data.drift",
        "data.drift",
        "data.drift-detected",
        "data.out-of-range",
    ]
    assert [f["message"] for f in sections["model"]["findings"]] == [
        "slice segment=a: accuracy is in the baseline but not in the candidate",
        "model.pkl is 19 B",
    ]
    assert sections["schema"]["status"] == "findings"
    md = report(regressed, "--format", "md").out
    assert "**Drift** (measured against the base):" in md
    assert "| ❌ | table | `label` | psi | 0.41 | 0.2 |" in md and "| ✅ | table | `x` | psi | 0.03 | 0.2 |" in md
    assert "<details open><summary>❌ Schema: 1 error</summary>" in md
    assert "`schemas/table.schema.yaml:7`" in md and "slice segment=a: accuracy is in the baseline" in md
    assert "already in the gate" not in md and "its own pipeline warning" not in md
    assert "label drifted from main" not in md  # folded into the drift table's row for `label`
    text = report(regressed).out
    assert re.search(r"error\s+table\s+label\s+psi\s+0\.41\s+0\.2", text)
    assert re.search(r"ok\s+table\s+x\s+psi\s+0\.03\s+0\.2", text)
    assert (
        "error schema.column-removed table [label]: column 'label' was removed (breaking) (schemas/table.schema.yaml:7)"
        in text
    )
    page = report(regressed, "--format", "html").out
    assert "<h3>Drift against the base</h3>" in page and "0.41" in page and "samples: [1.5, 2]" in page
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    out = report(regressed).out
    assert (
        "::error file=schemas/table.schema.yaml,line=7,title=mlgit schema.column-removed::column 'label' was removed"
        in out
    )
    assert "::error file=mlgit.yaml,line=4,title=mlgit data.out-of-range::x: 3 rows outside [0%2C 1]" not in out
    assert "::error file=mlgit.yaml,line=4,title=mlgit data.out-of-range::x: 3 rows outside [0, 1]" in out
    assert "::error file=schemas/table.schema.yaml,line=9,title=mlgit data.drift-detected::label drifted" in out


def test_a_check_that_cannot_run_is_a_warning_and_a_missing_one_is_left_out(git_repo: Path, report, given) -> None:
    given["data"].raises = MlgitError("data/table.csv is not in the work tree", hint="dvc pull")
    without_schema = (given["data"], given["model"])
    r = report(git_repo, "--format", "json", checks=without_schema)
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    sections = {s["key"]: s for s in doc["sections"]}
    assert sections["data"]["status"] == "not-run" and "dvc pull" in sections["data"]["note"]
    assert sections["data"]["findings"][0]["severity"] == "warning"
    assert sections["data"]["findings"][0]["code"] == "report.data-not-run"
    assert sections["schema"]["status"] == "unavailable"
    assert sections["model"]["status"] == "ok"  # the rest still reports
    assert doc["verdict"] == "warn"
    md = report(git_repo, "--format", "md", checks=without_schema).out
    assert "Data: 1 warning" in md and "Schema" not in md


def test_markdown_stays_under_the_comment_limit(git_repo: Path, report, given) -> None:
    git("checkout", "-q", "-b", "many-params", cwd=git_repo)
    (git_repo / "params.yaml").write_text("".join(f"p{i:04d}: {i}\n" for i in range(4000)))
    given["data"].found += [
        Finding(
            code="data.null-fraction",
            severity=Severity.WARNING,
            subject="table",
            message=f"column c{i}: too many nulls " * 20,
        )
        for i in range(800)
    ]
    commit_all(git_repo, "many params")
    r = report(git_repo, "--format", "md")
    md = r.out
    assert len(md) <= LIMIT
    assert md.startswith(MARKER) and "## ⚠️ mlgit report: PASS WITH WARNINGS" in md
    assert "clf: would be released" in md  # the verdict and the gate are kept
    assert "left out to keep this comment under 65,536 characters" in md
    assert "*Params of clf: 4002 changed (0 unchanged): listed in the full report.*" in md  # a stub
    doc = _json(report, git_repo)
    assert len(doc["models"][0]["params"]) == 4002  # JSON is complete


def test_annotations_stay_within_ten_per_level_and_are_escaped() -> None:
    findings = [
        Finding(
            code="schema.type-changed",
            severity=Severity.ERROR,
            subject="t",
            message=f"bad {i}\nsecond line, 100%",
            file=f"s,{i}:x.yaml",
            line=i + 1,
        )
        for i in range(25)
    ]
    findings += [
        Finding(code="data.unexpected-column", severity=Severity.WARNING, subject="t", message="w", file="a.csv"),
        Finding(code="data.missing", severity=Severity.ERROR, subject="t", message="no file"),
    ]
    lines = annotations.github(findings)
    errors = [x for x in lines if x.startswith("::error")]
    assert len(errors) == 10 and len([x for x in lines if x.startswith("::warning")]) == 1
    assert (
        errors[0] == "::error file=s%2C0%3Ax.yaml,line=1,title=mlgit schema.type-changed::bad 0%0Asecond line, 100%25"
    )
    assert errors[-1] == "::error title=mlgit::16 more errors: see the mlgit report in the step summary"


def test_example_with_the_real_model_checks(improved: Path, mlgit) -> None:
    r = mlgit(improved, "report", "--format", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["models"][0]["gate"]["status"] == "would-release"
    assert {s["key"] for s in doc["sections"]} == {"data", "schema", "model"}
    for s in doc["sections"]:
        assert s["status"] in {"ok", "findings", "unavailable", "not-run"}


@pytest.fixture(autouse=True)
def _no_ci(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    yield


def test_every_json_field_is_documented(improved: Path, report) -> None:
    doc = _json(report, improved)
    spec = (REPO_ROOT / "docs" / "report-schema.md").read_text()
    model = doc["models"][0]
    objects = [doc, doc["head"], doc["base"], model, model["gate"], model["metrics"][0], model["history"]]
    objects += [model["history"]["points"][0], doc["datasets"][0], doc["sections"][0], model["gate"]["rules"][0]]
    for obj in objects:
        for key in obj:
            assert f"`{key}`" in spec or f"{key}," in spec or f"{key}}}" in spec, key


def test_dataset_rows_come_from_the_data_profiles(example_repo: Path, mlgit) -> None:
    assert mlgit(example_repo, "schema", "infer").code == 0
    commit_all(example_repo, "schemas and profiles")
    git("checkout", "-q", "-b", "bigger-test-set", cwd=example_repo)
    set_param(example_repo, "test_size", "0.3")
    dvc("repro", "-q", cwd=example_repo)
    mlgit(example_repo, "check", "data", "--update-profile")  # the profiles go with the data (its row bounds fail)
    assert " M schemas/test.profile.json" in git("status", "--porcelain", cwd=example_repo)
    commit_all(example_repo, "a bigger test set")
    doc = json.loads(mlgit(example_repo, "report", "--format", "json").out)
    rows = {d["name"]: (d["old_rows"], d["new_rows"]) for d in doc["datasets"]}
    assert rows["breast_cancer"] == (569, 569)
    assert rows["test"] == (143, 171) and rows["train"] == (426, 398)
    md = mlgit(example_repo, "report", "--format", "md").out
    assert "| `test` | `data/prepared/test.csv` | 143 -> 171 |" in md


def test_the_real_checks_find_a_bad_batch_and_write_nothing(example_repo: Path, mlgit) -> None:
    from testing.datarepo import bad_batch as _bad_batch

    assert mlgit(example_repo, "schema", "infer").code == 0
    commit_all(example_repo, "schemas and profiles")
    git("checkout", "-q", "-b", "bad-batch", cwd=example_repo)
    profile = (example_repo / "schemas/breast_cancer.profile.json").read_bytes()
    _bad_batch(example_repo / "data/raw/breast_cancer.csv")
    doc = _json(lambda repo, *a: mlgit(repo, "report", *a), example_repo)
    assert doc["verdict"] == "fail"
    sections = {s["key"]: s for s in doc["sections"]}
    data_errors = {f["code"] for f in sections["data"]["findings"] if f["severity"] == "error"}
    assert data_errors == {"data.out-of-range", "data.unexpected-value", "data.missing-column"}
    assert "schema.column-removed" in {f["code"] for f in sections["schema"]["findings"]}
    assert {f["code"] for f in doc["findings"]} >= data_errors  # the sections' findings count in the verdict
    assert git("status", "--porcelain", cwd=example_repo) == ""  # the report wrote nothing (the data is DVC-tracked)
    assert (example_repo / "schemas/breast_cancer.profile.json").read_bytes() == profile


def test_the_markdown_comment_omits_drift_rows_that_are_all_zero(regressed: Path, report, given) -> None:
    given["data"].found += [
        Finding(
            code="data.drift",
            severity=Severity.INFO,
            subject="table",
            message=f"{col}: psi {value}",
            column=col,
            data={"method": "psi", "value": value, "threshold": 0.2},
        )
        for col, value in (("x", 0.03), ("id", 0.0), ("label", 0))
    ]
    md = report(regressed, "--format", "md").out
    assert "| ✅ | table | `x` | psi | 0.03 | 0.2 |" in md
    assert "`id`" not in md.split("**Drift**")[1].split("</details>")[0] and "| `label` | psi | 0 |" not in md
    assert "*2 columns without any drift not shown.*" in md
    text = report(regressed).out  # the terminal and the full report still list every column
    assert re.search(r"ok\s+table\s+id\s+psi\s+0\s+0\.2", text)


def test_a_report_reads_each_file_at_each_revision_once(improved: Path, mlgit) -> None:
    # The gate (against the last release and the best), the metric and param rows and the model checks all
    # compare with the same base: through the repo state, git is asked for each (revision, file) once.
    with process.recording(stdin=True) as commands:
        r = mlgit(improved, "report", "--format", "json")
    assert r.code == 0, r.err
    reads = Counter(line for c in commands if c[:3] == ("git", "cat-file", "--batch") for line in c[-1].splitlines())
    base = git("rev-parse", f"{MODEL}@v0.1.0^{{commit}}", cwd=improved).strip()
    assert reads[f"{base}:metrics.json"] == 1 and reads[f"{base}:params.yaml"] == 1
    assert [line for line, n in reads.items() if n > 1] == []


def test_a_policy_change_shows_the_judging_and_the_proposed_rules_side_by_side(git_repo: Path, mlgit) -> None:
    assert mlgit(git_repo, "promote").code == 0  # v0.1.0 at accuracy 0.8
    git("checkout", "-q", "-b", "loosen", cwd=git_repo)
    path = git_repo / "mlgit.yaml"
    text = path.read_text().replace("          max_regression: 0.01\n", "          max_regression: 0.2\n")
    text = text.replace("        loss:\n          direction: lower\n", "").replace("    policy:\n", "    policy:\n      base: last-release\n")
    path.write_text(text)
    (git_repo / "metrics.json").write_text('{"accuracy": 0.7, "loss": 0.4}\n')  # 0.1 worse: only the new rules allow it
    commit_all(git_repo, "worse model, looser gate")
    doc = json.loads(mlgit(git_repo, "report", "--format", "json").out)
    (model,) = doc["models"]
    assert model["gate"]["status"] == "rejected"  # judged by main's rules
    change = model["policy_change"]
    assert change["trusted_from"] == "main"
    rows = {r["setting"]: (r["old"], r["new"], r["changed"]) for r in change["rows"]}
    assert rows["base"] == (["last-release", "best"], ["last-release"], True)
    assert rows["gates.accuracy"] == (
        {"direction": "higher", "min": 0.5, "max_regression": 0.01},
        {"direction": "higher", "min": 0.5, "max_regression": 0.2},
        True,
    )
    assert rows["gates.loss"] == ({"direction": "lower"}, None, True)
    assert rows["first_version"] == ("0.1.0", "0.1.0", False)
    md = mlgit(git_repo, "report", "--format", "md").out
    assert "| Setting | Default branch (main): judges this change | This change: applies once merged |" in md
    assert "| **`gates.accuracy`** | direction: higher, min: 0.5, max_regression: 0.01 | direction: higher, min: 0.5, max_regression: 0.2 |" in md
    assert "| **`gates.loss`** | direction: lower | (not set) |" in md
    assert "| `first_version` | 0.1.0 | 0.1.0 |" in md
    assert "3 settings): the default branch's rules (main) judge it" in md
    html = mlgit(git_repo, "report", "--format", "html").out
    assert "<th>Default branch (main): judges this change</th><th>This change: applies once merged</th>" in html
    assert "<td><strong><code>base</code></strong></td><td>[last-release, best]</td><td>[last-release]</td>" in html
    # Once merged, the new rules judge: no side-by-side, and the change passes under them.
    git("checkout", "-q", "main", cwd=git_repo)
    git("merge", "-q", "--ff-only", "loosen", cwd=git_repo)
    doc = json.loads(mlgit(git_repo, "report", "--format", "json").out)
    assert doc["models"][0]["policy_change"] is None
    gate = doc["models"][0]["gate"]
    assert (gate["status"], gate["baseline"]["tag"]) == ("would-release", "clf@v0.1.0")


def test_charts_keep_a_sane_y_range_in_markdown_and_html(regressed: Path, report) -> None:
    # accuracy 0.8 at v0.1.0, 0.45 now: the axis spans the values with a 15 % margin, not 0..1 nor past 1.
    md = report(regressed, "--format", "md").out
    assert 'y-axis "accuracy" 0.3975 --> 0.8525' in md
    assert 'y-axis "loss" 0.37 --> 0.63' in md
    page = report(regressed, "--format", "html").out
    (svg,) = [s for s in re.findall(r"<figure class=\"chart\">.*?</figure>", page, re.S) if ">accuracy" in s]
    ticks = [float(t) for t in re.findall(r"<text[^>]*text-anchor=\"end\"[^>]*>([-0-9.]+)</text>", svg)]
    assert ticks and 0.3975 <= min(ticks) and max(ticks) <= 0.8525
