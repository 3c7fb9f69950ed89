"""`mlgit check` (data, schema and model checks in one report) and the findings renderer every check shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from mlgit.render import findings as render
from mlgit.render.style import Style
from mlgit.results import serialize
from mlgit.results.finding import Finding, Severity
from testing.repos import commit_all, git, set_param

SAMPLE = [
    Finding(
        code="data.out-of-range",
        severity=Severity.ERROR,
        subject="train",
        message="12 values above max 5",
        file="schemas/train.yaml",
        line=7,
        column="x",
    ),
    Finding(code="model.baseline", severity=Severity.INFO, subject="clf", message="baseline: main"),
    Finding(
        code="model.slice-missing",
        severity=Severity.WARNING,
        subject="clf",
        message="slice a: gone\nsecond line",
        file="metrics.json",
    ),
]


def test_lines_group_by_subject_with_locations_and_verdict() -> None:
    out = render.lines(SAMPLE, Style(False), title="Checks")
    assert out[0] == "Checks"
    assert out[1] == "train"
    assert out[2].split() == [
        "error",
        "data.out-of-range",
        *"12 values above max 5 (schemas/train.yaml:7 column x)".split(),
    ]
    assert out[3] == "clf"
    assert out[4].split()[:2] == ["info", "model.baseline"]
    assert out[5].split()[:2] == ["warning", "model.slice-missing"]
    # A message's further lines stay under the detail column.
    detail_col = out[5].index("slice a")
    assert out[6].index("second line") == detail_col
    assert out[-1] == "FAILED: 1 error, 1 warning, 1 info"


def test_lines_without_errors_pass_and_can_hide_info() -> None:
    out = render.lines(SAMPLE[1:], Style(False), show_info=False)
    assert "model.baseline" not in "\n".join(out)
    assert out[-1] == "PASSED: 0 errors, 1 warning, 1 info"
    assert render.lines([], Style(False))[-2:] == ["no findings", "PASSED: 0 errors, 0 warnings, 0 info"]


def test_colors_only_when_enabled() -> None:
    plain = "\n".join(render.lines(SAMPLE, Style(False)))
    colored = "\n".join(render.lines(SAMPLE, Style(True)))
    assert "\033[" not in plain
    assert "\033[31;1merror\033[0m" in colored


def test_document_is_json_ready() -> None:
    doc = serialize.plain(render.document(SAMPLE, command="check", base="main"))
    assert json.loads(json.dumps(doc)) == doc
    assert list(doc) == ["passed", "counts", "command", "base", "findings"]  # the order every check* has had
    assert doc["passed"] is False
    assert doc["counts"] == {"error": 1, "warning": 1, "info": 1}
    assert doc["command"] == "check" and doc["base"] == "main"
    assert doc["findings"][0] == {
        "code": "data.out-of-range",
        "severity": "error",
        "subject": "train",
        "message": "12 values above max 5",
        "file": "schemas/train.yaml",
        "line": 7,
        "column": "x",
        "data": {},
    }


def test_many_info_findings_of_one_code_fold_into_one_line() -> None:
    drift = [
        Finding(code="data.drift", severity=Severity.INFO, subject="train", message=f"col{i}: psi 0.01")
        for i in range(5)
    ]
    out = render.lines([*drift, SAMPLE[0]], Style(False), fold=3)
    assert out[1].split() == ["info", "data.drift", "5", "findings", "(each", "with", "its", "values", "in", "--json)"]
    assert "col0" not in "\n".join(out)
    assert len(render.lines(drift[:3], Style(False), fold=3)) == 5  # 3 or fewer stay one by one


def _prepared(repo: Path, mlgit: Any) -> None:
    """Schemas inferred and committed (the example's skops model needs no trust): every check passes."""
    res = mlgit(repo, "schema", "infer")
    assert res.code == 0, res.err
    commit_all(repo, "schemas")


def _check(mlgit: Any, repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    res = mlgit(repo, "check", "--json", *args)
    assert res.code in (0, 1), res.err
    return res.code, json.loads(res.out)


def test_check_runs_data_schema_and_model_checks_in_one_report(example_repo: Path, mlgit: Any) -> None:
    _prepared(example_repo, mlgit)
    code, doc = _check(mlgit, example_repo)
    assert code == 0, [f for f in doc["findings"] if f["severity"] == "error"]
    assert doc["passed"] is True and doc["command"] == "check"
    subjects = {f["subject"] for f in doc["findings"]}
    assert {"breast_cancer", "train", "test", "cancer-classifier"} <= subjects
    families = {f["code"].split(".", 1)[0] for f in doc["findings"]}
    assert {"data", "model"} <= families
    assert doc["counts"]["info"] == len(doc["findings"])

    res = mlgit(example_repo, "check")
    assert res.code == 0
    lines = res.out.splitlines()
    assert lines[0] == "Checks: data, schema, models"
    assert {"breast_cancer", "train", "test", "cancer-classifier"} <= set(lines)
    assert lines[-1].startswith("PASSED: 0 errors")


def test_a_model_error_fails_the_whole_check(example_repo: Path, mlgit: Any) -> None:
    _prepared(example_repo, mlgit)
    set_param(example_repo, "C", "1.0")
    code, doc = _check(mlgit, example_repo)
    assert code == 1
    errors = [f["code"] for f in doc["findings"] if f["severity"] == "error"]
    assert errors == ["model.pipeline-stale"]
    assert any(f["code"].startswith("data.") for f in doc["findings"])  # the data checks still ran


def test_a_data_error_fails_the_whole_check(example_repo: Path, mlgit: Any) -> None:
    _prepared(example_repo, mlgit)
    schema = example_repo / "schemas/test.schema.yaml"
    data = yaml.safe_load(schema.read_text())
    data["columns"]["mean_radius"]["max"] = 10.0
    schema.write_text(yaml.safe_dump(data, sort_keys=False))
    code, doc = _check(mlgit, example_repo)
    assert code == 1
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert errors and all(f["subject"] == "test" for f in errors)
    assert any(f["column"] == "mean_radius" for f in errors)
    assert not [f for f in errors if f["code"].startswith("model.")]


def test_check_base_reaches_every_family(example_repo: Path, mlgit: Any) -> None:
    _prepared(example_repo, mlgit)
    git("checkout", "-q", "-b", "feature", cwd=example_repo)
    code, doc = _check(mlgit, example_repo, "--base", "main")
    assert code == 0
    (base,) = [f for f in doc["findings"] if f["code"] == "model.baseline"]
    assert base["message"].startswith("baseline: main (merge-base ")
    assert doc["base"] == "main"
    res = mlgit(example_repo, "check", "--base", "no-such-rev")
    assert res.code == 2 and "unknown revision" in res.err


def test_check_base_last_release_compares_data_with_the_release_commit(example_repo: Path, mlgit: Any) -> None:
    _prepared(example_repo, mlgit)
    assert mlgit(example_repo, "promote").code == 0
    released = git("rev-parse", "HEAD", cwd=example_repo).strip()
    git("checkout", "-q", "-b", "feature", cwd=example_repo)
    commit_all(example_repo, "feature work")
    code, doc = _check(mlgit, example_repo, "--base", "last-release")
    assert code == 0, [f for f in doc["findings"] if f["severity"] == "error"]
    (base,) = [f for f in doc["findings"] if f["code"] == "model.baseline"]
    assert base["message"].startswith("baseline: cancer-classifier@v0.1.0")
    drift = [f for f in doc["findings"] if f["code"] == "data.drift"]
    assert drift and all(released[:8] in f["message"] for f in drift)


def test_check_base_last_release_with_several_models_says_what_data_uses(git_repo: Path, mlgit: Any) -> None:
    data = yaml.safe_load((git_repo / "mlgit.yaml").read_text())
    data["models"]["other"] = {"path": "other.onnx", "metrics": ["metrics.json"]}
    (git_repo / "mlgit.yaml").write_text(yaml.safe_dump(data))
    res = mlgit(git_repo, "check", "--json", "--base", "last-release")
    assert res.code in (0, 1), res.err
    (note,) = [f for f in json.loads(res.out)["findings"] if f["code"] == "check.base"]
    assert "data and schema are compared with the default branch" in note["message"]


def test_check_and_report_compare_data_with_the_same_base_with_several_models(git_repo: Path, mlgit: Any) -> None:
    data = yaml.safe_load((git_repo / "mlgit.yaml").read_text())
    data["models"]["other"] = {"path": "other.pkl", "metrics": ["metrics.json"]}
    (git_repo / "mlgit.yaml").write_text(yaml.safe_dump(data))
    (git_repo / "data" / "table.csv").write_text("id,x,label\n" + "".join(f"{i},{i / 10},{i % 2}\n" for i in range(40)))
    assert mlgit(git_repo, "schema", "infer").code == 0
    commit_all(git_repo, "two models, a schema")
    r = mlgit(git_repo, "promote", "clf")
    assert r.code == 0, r.out + r.err
    (git_repo / "data" / "table.csv").write_text("id,x,label\n" + "".join(f"{i},{i / 5},{i % 2}\n" for i in range(40)))
    assert mlgit(git_repo, "check", "data", "--update-profile").code in (0, 1)
    main = commit_all(git_repo, "more data")
    git("checkout", "-q", "-b", "feature", cwd=git_repo)
    checked = mlgit(git_repo, "check", "--json", "--base", "last-release")
    data_only = mlgit(git_repo, "check", "data", "--json", "--base", "last-release")
    reported = mlgit(git_repo, "report", "--format", "json", "--base", "last-release")
    assert checked.code in (0, 1) and data_only.code in (0, 1) and reported.code == 0, checked.err + reported.err
    report = json.loads(reported.out)
    drift = {
        "check": [f["message"] for f in json.loads(checked.out)["findings"] if f["code"] == "data.drift"],
        "check data": [f["message"] for f in json.loads(data_only.out)["findings"] if f["code"] == "data.drift"],
        "report": [f["message"] for s in report["sections"] for f in s["findings"] if f["code"] == "data.drift"],
    }
    # clf's release is not the data's base: with two models, every command compares the data with main.
    assert drift["check"] and drift["check"] == drift["check data"] == drift["report"]
    assert "check.base" in {f["code"] for f in json.loads(data_only.out)["findings"]}
    assert all(main[:8] in m for m in drift["check"]), drift
    assert [f["code"] for f in report["findings"] if f["code"] == "check.base"] == ["check.base"]
