"""`mlgit check repro` and `policy.reproducible` on the real example pipeline, made non-deterministic on purpose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from testing.oip import MODEL
from testing.repos import commit_all, dvc, git

TRAIN = "src/train.py"
DUMP = 'sio.dump({"model": model, "features": features}, MODEL_PATH)'


def _repro(mlgit: Any, repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    res = mlgit(repo, "check", "repro", *args, "--json")
    assert res.code in (0, 1), res.err
    return res.code, json.loads(res.out)


def _cache(repo: Path) -> set[str]:
    return {str(p.relative_to(repo)) for p in (repo / ".dvc" / "cache").rglob("*") if p.is_file()}


def _rewrite_training(repo: Path, old: str, new: str) -> None:
    path = repo / TRAIN
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    dvc("repro", "-q", cwd=repo)
    commit_all(repo, "training changed")


def _by_output(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["data"]["output"]: f for f in doc["findings"] if "output" in f["data"]}


def test_the_example_reproduces_and_nothing_of_the_users_is_touched(monitored: Path, mlgit: Any) -> None:
    before = (git("status", "--porcelain", cwd=monitored), _cache(monitored), git("worktree", "list", cwd=monitored))
    code, doc = _repro(mlgit, monitored, "--runs", "2")
    assert code == 0 and doc["verdict"]["verdict"] == "within tolerance" and doc["verdict"]["runs"] == 2
    outs = _by_output(doc)
    assert {"models/model.skops", "metrics.json", "data/prepared/train.csv"} <= outs.keys()
    # skops names the arrays in its zip by object id: the bytes differ run to run, the predictions do not.
    assert outs.pop("models/model.skops")["code"] == "repro.within-tolerance"
    assert {f["code"] for f in outs.values()} == {"repro.identical"}
    after = (git("status", "--porcelain", cwd=monitored), _cache(monitored), git("worktree", "list", cwd=monitored))
    assert after == before


def test_a_deterministic_pipeline_reproduces_bit_for_bit(joblib_repo: Path, mlgit: Any) -> None:
    # The same pipeline saving a joblib pickle: every output, the model included, is byte for byte the same.
    code, doc = _repro(mlgit, joblib_repo, "--runs", "2")
    assert code == 0 and doc["verdict"]["verdict"] == "bit-identical", doc
    outs = _by_output(doc)
    assert "models/model.joblib" in outs and outs["models/model.joblib"]["data"]["stage"] == "train"
    assert {f["code"] for f in outs.values()} == {"repro.identical"}


def test_bytes_that_differ_with_equal_predictions_are_within_tolerance(monitored: Path, mlgit: Any) -> None:
    # A timestamp inside the artifact, as serialisers that embed object ids or dates do.
    _rewrite_training(
        monitored,
        DUMP,
        'import time\n    sio.dump({"model": model, "features": features, "built": time.time_ns()}, MODEL_PATH)',
    )
    code, doc = _repro(mlgit, monitored)
    outs = _by_output(doc)
    assert code == 0 and doc["verdict"]["verdict"] == "within tolerance"
    assert outs["models/model.skops"]["code"] == "repro.within-tolerance"
    assert "predictions on golden/input.csv agree" in outs["models/model.skops"]["message"]
    assert outs["metrics.json"]["code"] == "repro.identical"


def test_a_model_whose_predictions_move_is_not_reproducible_and_promote_can_require_it(
    monitored: Path, mlgit: Any
) -> None:
    # The regularisation depends on the clock: every run trains a slightly different model.
    _rewrite_training(
        monitored, 'C=float(params["C"]),', 'C=float(params["C"]) * (1 + __import__("time").time_ns() % 997 / 100),'
    )
    code, doc = _repro(mlgit, monitored)
    outs = _by_output(doc)
    assert code == 1 and doc["verdict"]["verdict"] == "not reproducible"
    bad = outs["models/model.skops"]
    assert bad["code"] == "repro.not-reproducible" and bad["severity"] == "error"
    assert bad["message"].startswith("stage train, output models/model.skops: not reproducible (predictions on")
    human = mlgit(monitored, "check", "repro")
    assert human.code == 1 and "stage train, output models/model.skops" in human.out
    # policy.reproducible: promote refuses to release it (exit 1, no tag).
    path = monitored / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][MODEL]["policy"]["reproducible"] = True
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(monitored, "require reproducible releases")
    tags = git("tag", "--list", cwd=monitored)
    res = mlgit(monitored, "promote", "--allow-stale")
    assert res.code == 1 and "is not reproducible (policy.reproducible: true)" in res.err
    assert git("tag", "--list", cwd=monitored) == tags


def test_promote_records_the_verdict_in_the_lineage(monitored: Path, mlgit: Any) -> None:
    path = monitored / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][MODEL]["policy"]["reproducible"] = True
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    (monitored / "params.yaml").write_text((monitored / "params.yaml").read_text().replace("C: 0.001", "C: 1.0"))
    dvc("repro", "-q", cwd=monitored)
    commit_all(monitored, "stronger model, reproducible releases")
    res = mlgit(monitored, "promote", "--json")
    assert res.code == 0, res.err  # C 1.0 improves the example (as in the demo): the gate passes
    doc = json.loads(res.out)
    assert doc["status"] == "released"
    message = git("tag", "-l", "--format=%(contents)", doc["tag"], cwd=monitored)
    lineage = json.loads(message[message.index("{") :])
    # Within tolerance is reproducible enough to release (the skops model's bytes differ, its predictions agree).
    assert lineage["reproducibility"]["verdict"] == "within tolerance"
