"""`mlgit check model` on the example repository: stale pipeline, the promotion policy, slices, trusted loading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgit.config.settings import Gate
from mlgit.registry.policy import slice_results
from mlgit.repo.metrics import Snapshot
from mlgit.repo.values import ValueFile
from testing.repos import commit_all, dvc, git, golden_csv, set_param

MODEL = "cancer-classifier"


def configure(repo: Path, **keys: Any) -> None:
    """Set model-level keys of the only model in mlgit.yaml."""
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    model = next(iter(data["models"].values()))
    for key, value in keys.items():
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def set_gate(repo: Path, metric: str, **rules: Any) -> None:
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    next(iter(data["models"].values()))["policy"]["gates"][metric].update(rules)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def check(mlgit: Any, repo: Path, *args: str) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    res = mlgit(repo, "check", "model", "--json", *args)
    assert res.code in (0, 1), res.err
    doc = json.loads(res.out)
    return res.code, doc["findings"], doc


def codes(findings: list[dict[str, Any]], severity: str | None = None) -> list[str]:
    return [f["code"] for f in findings if severity is None or f["severity"] == severity]


TRUSTED_GOLDEN = {
    "trust_pickle": True,
    "golden": {
        "input": "golden/input.csv",
        "key": "model",
        "method": "predict_proba",
        "output": {"type": "float", "shape": [5, 2], "min": 0.0, "max": 1.0},
    },
    "latency": {"calls": 10, "p95_ms": 5000},
}


def test_clean_example_passes_with_golden_input_and_trusted_joblib(joblib_repo: Path, mlgit: Any) -> None:
    example_repo = joblib_repo
    golden_csv(example_repo)
    configure(example_repo, **TRUSTED_GOLDEN)
    commit_all(example_repo, "golden input")
    code, found, doc = check(mlgit, example_repo)
    assert code == 0, found
    assert doc["passed"] is True and doc["counts"]["error"] == 0
    by_code = {f["code"]: f for f in found}
    assert "model.pipeline-stale" not in by_code
    # The joblib file on main is the one dvc.lock records at the default branch: trusted, loaded.
    assert "trusted: its DVC hash equals the one recorded at main" in by_code["model.loads"]["message"]
    assert by_code["model.predicts"]["data"]["shape"] == [5, 2]
    assert "float64 array of shape (5, 2), values" in by_code["model.predicts"]["message"]
    assert by_code["model.latency"]["data"]["calls"] == 10
    assert by_code["model.latency"]["data"]["p50_ms"] <= by_code["model.latency"]["data"]["p95_ms"]
    assert by_code["model.baseline"]["message"].startswith("baseline: none (no release yet)")

    res = mlgit(example_repo, "check", "model")
    assert res.code == 0
    assert "PASSED: 0 errors" in res.out
    assert "model.latency" in res.out and "p95" in res.out


def test_the_examples_skops_model_loads_and_predicts_without_any_trust(example_repo: Path, mlgit: Any) -> None:
    golden_csv(example_repo)
    configure(example_repo, golden=TRUSTED_GOLDEN["golden"])
    commit_all(example_repo, "golden input")
    code, found, _ = check(mlgit, example_repo)
    assert code == 0, found
    by_code = {f["code"]: f for f in found}
    assert by_code["model.loads"]["message"] == "models/model.skops loads with skops"
    assert by_code["model.predicts"]["data"]["shape"] == [5, 2]
    assert not [c for c in by_code if c.startswith("model.untrusted")]


def test_golden_output_declared_wrong_is_reported(example_repo: Path, mlgit: Any) -> None:
    golden_csv(example_repo)
    configure(
        example_repo,
        golden={"input": "golden/input.csv", "key": "model", "output": {"type": "float", "shape": [3], "max": 0.5}},
    )
    commit_all(example_repo, "wrong golden spec")
    code, found, _ = check(mlgit, example_repo)
    assert code == 1
    msgs = {f["code"]: f["message"] for f in found}
    assert (
        "predict on golden/input.csv returned a int64 array of shape (5,); golden.output.type declares float"
        in (msgs["model.output-type"])
    )
    assert "returned shape (5,); golden.output.shape declares (3)" in msgs["model.output-shape"]
    assert "maximum 1 > max 0.5" in msgs["model.output-range"]


def test_golden_key_missing_names_the_keys(example_repo: Path, mlgit: Any) -> None:
    golden_csv(example_repo)
    configure(example_repo, golden={"input": "golden/input.csv"})
    commit_all(example_repo, "no key")
    code, found, _ = check(mlgit, example_repo)
    assert code == 1
    (f,) = [f for f in found if f["code"] == "model.predict-failed"]
    assert "it is a mapping with keys model, features: set golden.key" in f["message"]


def test_stale_pipeline_names_the_stage_and_why(example_repo: Path, mlgit: Any) -> None:
    set_param(example_repo, "C", "1.0")  # edited, but no dvc repro
    code, found, _ = check(mlgit, example_repo)
    assert code == 1
    (stale,) = [f for f in found if f["code"] == "model.pipeline-stale"]
    assert stale["severity"] == "error"
    assert stale["message"].startswith("stage train is stale: ")
    assert "params.yaml" in stale["message"] and "train.C" in stale["message"]
    assert "dvc repro" in stale["message"]
    assert stale["file"] == "dvc.lock"
    lock_lines = (example_repo / "dvc.lock").read_text().splitlines()
    assert lock_lines[stale["line"] - 1] == "  train:"
    res = mlgit(example_repo, "check", "model")
    assert res.code == 1
    assert "model.pipeline-stale" in res.out and "stage train is stale" in res.out


def test_stale_stage_of_another_model_is_not_reported(example_repo: Path, mlgit: Any) -> None:
    # A second pipeline in a sub-folder that this model does not depend on.
    other = example_repo / "other"
    other.mkdir()
    (other / "make.py").write_text("open('out.txt', 'w').write('1')\n")
    (other / "dvc.yaml").write_text(
        "stages:\n  build:\n    cmd: python make.py\n    deps: [make.py]\n    outs: [out.txt]\n"
    )
    dvc("repro", "-q", "other/dvc.yaml", cwd=example_repo)
    commit_all(example_repo, "other pipeline")
    (other / "make.py").write_text("open('out.txt', 'w').write('2')\n")
    _, found, _ = check(mlgit, example_repo)
    assert "model.pipeline-stale" not in codes(found)
    set_param(example_repo, "C", "1.0")
    _, found, _ = check(mlgit, example_repo)
    assert [f["data"]["stage"] for f in found if f["code"] == "model.pipeline-stale"] == ["train"]


def test_missing_dvc_output_hints_dvc_pull(example_repo: Path, mlgit: Any) -> None:
    (example_repo / "models/model.skops").unlink()
    code, found, _ = check(mlgit, example_repo)
    assert code == 1
    (missing,) = [f for f in found if f["code"] == "model.artifact-missing"]
    assert "run 'dvc pull models/model.skops'" in missing["message"]


SLICED_EVALUATE = """    radius = X[:, bundle["features"].index("mean_radius")]
    rounded["slices"] = {
        name: {"accuracy": round(float(accuracy_score(y[mask], pred[mask])), 4)}
        for name, mask in (("radius=small", radius < 14), ("radius=large", radius >= 14))
    }
"""


def test_regression_per_slice_and_pickle_trust_predict_promotion(
    joblib_repo: Path, mlgit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = joblib_repo
    evaluate = repo / "src/evaluate.py"
    anchor = '    with open(METRICS_PATH, "w", encoding="utf-8") as fh:\n'
    evaluate.write_text(evaluate.read_text().replace(anchor, SLICED_EVALUATE + anchor))
    # 5 % relative allowance: the small-radius slice stays within it, the large one does not.
    set_gate(repo, "accuracy", max_regression_rel=0.05)
    golden_csv(repo)
    configure(repo, **TRUSTED_GOLDEN)
    dvc("repro", "-q", cwd=repo)
    commit_all(repo, "per-slice metrics")

    git("checkout", "-q", "-b", "degrade", cwd=repo)
    set_param(repo, "C", "0.0003")
    dvc("repro", "-q", cwd=repo)
    commit_all(repo, "degrade")

    code, found, _ = check(mlgit, repo, "--base", "main")
    assert code == 1
    errors = [f for f in found if f["severity"] == "error"]
    overall = {(f["code"], f["data"]["metric"]) for f in errors if "metric" in f["data"] and "slice" not in f["data"]}
    assert ("model.metric-regressed", "accuracy") in overall

    sliced = {f["data"]["slice"]: f for f in found if f["data"].get("slice") and f["data"]["rule"] == "regression"}
    assert set(sliced) == {"radius=small", "radius=large"}
    assert sliced["radius=large"]["severity"] == "error"
    assert sliced["radius=large"]["message"].startswith("slice radius=large: accuracy: ")
    assert sliced["radius=large"]["data"]["baseline"] == pytest.approx(0.8689)
    assert sliced["radius=small"]["severity"] == "info"

    # The pull-request check predicts the promotion: promote fails on exactly the same overall rules.
    res = mlgit(repo, "promote", "--dry-run", "--base", "main", "--json")
    assert res.code == 1
    promoted = {(r["code"], r["metric"]) for r in json.loads(res.out)["results"] if not r["passed"]}
    per_slice = {(f["code"], f"{f['data']['metric']} [{f['data']['slice']}]") for f in errors if "slice" in f["data"]}
    assert per_slice == {("model.metric-regressed", "accuracy [radius=large]")}
    assert promoted == overall | per_slice

    # The retrained joblib file comes from this branch: trust_pickle alone does not load it...
    (untrusted,) = [f for f in found if f["code"] == "model.untrusted-pickle"]
    assert "comes from the change under review" in untrusted["message"]
    assert "model.predicts" not in codes(found)
    # ...unless CI says it built the file itself.
    monkeypatch.setenv("MLGIT_TRUSTED_ARTIFACT", "1")
    _, found, _ = check(mlgit, repo, "--base", "main")
    assert "model.untrusted-pickle" not in codes(found)
    assert "model.predicts" in codes(found)

    res = mlgit(repo, "check", "model", "--base", "main")
    assert "slice radius=large: accuracy:" in res.out
    assert "FAILED:" in res.out


def test_first_release_applies_bounds_per_slice(git_repo: Path, mlgit: Any) -> None:
    (git_repo / "metrics.json").write_text(
        json.dumps(
            {
                "accuracy": 0.8,
                "loss": 0.4,
                "slices": {"country=fr": {"accuracy": 0.45}, "country=de": {"accuracy": 0.9}},
            }
        )
    )
    _, found, _ = check(mlgit, git_repo)
    failing = [f for f in found if f["severity"] == "error" and f["data"].get("slice")]
    assert [(f["code"], f["data"]["slice"]) for f in failing] == [("model.metric-below-min", "country=fr")]
    assert "slice country=fr: accuracy: 0.45 < min 0.5" in failing[0]["message"]
    # slices: false turns the per-slice rules off (a gate setting: once the default branch has it).
    configure(git_repo, slices=False, trust_pickle=None)
    git("commit", "-q", "-m", "no per-slice rules", "mlgit.yaml", cwd=git_repo)
    _, found, _ = check(mlgit, git_repo)
    assert not [f for f in found if f["data"].get("slice")]


def _snap(label: str, values: dict[str, Any], path: str = "metrics.json") -> Snapshot:
    return Snapshot(label, None, (ValueFile(path, values),))


def test_slice_results_rules() -> None:
    gate = Gate("accuracy", "higher", 0.5, None, 0.01, None, 0.02)
    base = _snap(
        "base", {"accuracy": 0.9, "slices.a.accuracy": 0.9, "slices.gone.accuracy": 0.8, "slices.b:c.d.accuracy": 0.7}
    )
    cand = _snap(
        "cand", {"accuracy": 0.95, "slices.a.accuracy": 0.85, "slices.new.accuracy": 0.4, "slices.b:c.d.accuracy": 0.7}
    )
    results = slice_results([gate], cand, base)
    by = {}
    for r in results:
        by.setdefault(r.slice, []).append(r)
    assert set(by) == {"a", "gone", "new", "b:c.d"}
    assert [(r.result.rule, r.result.passed) for r in by["a"] if r.result] == [("min", True), ("regression", False)]
    # min_improvement is a requirement on the overall metric, never per slice.
    assert all(r.result is None or r.result.rule != "improvement" for r in results)
    assert by["gone"][0].result is None
    assert [(r.result.rule, r.result.passed, r.compared) for r in by["new"] if r.result] == [("min", False, False)]
    # A slice name with ':' and '.' is still compared (each slice is evaluated on its own).
    assert [(r.result.rule, r.result.passed) for r in by["b:c.d"] if r.result] == [("min", True), ("regression", True)]


def test_slice_results_for_a_qualified_metric() -> None:
    gate = Gate("eval/metrics.json:auc", "higher", None, None, None, None, None)
    cand = Snapshot(
        "cand",
        None,
        (ValueFile("eval/metrics.json", {"slices.x.auc": 0.7}), ValueFile("other.json", {"slices.x.auc": 0.1})),
    )
    base = Snapshot(
        "base", None, (ValueFile("eval/metrics.json", {"slices.x.auc": 0.8}), ValueFile("other.json", None))
    )
    (r,) = slice_results([gate], cand, base)
    assert (r.slice, r.file, r.result is not None and r.result.passed) == ("x", "eval/metrics.json", False)


def test_metrics_missing_is_a_finding(git_repo: Path, mlgit: Any) -> None:
    (git_repo / "metrics.json").unlink()
    code, found, _ = check(mlgit, git_repo)
    assert code == 1
    (f,) = [f for f in found if f["code"] == "model.metrics-missing"]
    assert "metrics.json" in f["message"]


def test_unknown_model_and_bad_base_exit_2(git_repo: Path, mlgit: Any) -> None:
    res = mlgit(git_repo, "check", "model", "nope")
    assert res.code == 2 and "unknown model 'nope'" in res.err
    res = mlgit(git_repo, "check", "--base", "no-such-rev", "model")
    assert res.code == 2 and "unknown revision 'no-such-rev'" in res.err


def test_base_stage_compares_with_the_version_in_that_stage(git_repo: Path, mlgit: Any) -> None:
    assert mlgit(git_repo, "promote").code == 0
    assert mlgit(git_repo, "assign", "clf", "prod").code == 0
    (git_repo / "metrics.json").write_text('{"accuracy": 0.70, "loss": 0.40}\n')
    commit_all(git_repo, "worse")
    code, found, _ = check(mlgit, git_repo, "--base", "stage:prod")
    assert code == 1
    by_code = {f["code"]: f for f in found if f["severity"] == "error" or f["code"] == "model.baseline"}
    assert by_code["model.baseline"]["message"].startswith("baseline: clf@v0.1.0 (stage prod) at ")
    assert by_code["model.baseline"]["data"]["kind"] == "stage"
    assert "accuracy: 0.7 vs 0.8" in by_code["model.metric-regressed"]["message"]
