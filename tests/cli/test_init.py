"""`mlgit init`: detection from DVC files, a config that works unedited, and no silent overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgit.cli.commands.init import direction_for
from testing.repos import commit_all, git


def test_example_config_detects_everything(example_repo: Path) -> None:
    text = (example_repo / "mlgit.yaml").read_text()
    assert "cancer-classifier:\n    path: models/model.skops" in text
    assert "metrics: [metrics.json]" in text and "params: [params.yaml]" in text
    for name, path in [("breast_cancer", "data/raw/breast_cancer.csv"), ("train", "data/prepared/train.csv")]:
        assert f"  {name}:\n    path: {path}\n    format: csv" in text
    assert "log_loss:\n          direction: lower" in text
    assert "accuracy:\n          direction: higher" in text
    assert "default_branch: main" in text


def test_generated_config_works_without_edits(example_repo: Path, mlgit) -> None:
    r = mlgit(example_repo, "promote")
    assert r.code == 0, r.err
    assert git("tag", "--list", cwd=example_repo).split() == ["cancer-classifier@v0.1.0"]


def test_generated_policy_keeps_the_bases_that_stop_drift_by_small_steps(example_repo: Path) -> None:
    """init writes the default bases (tests/registry/test_gate.py: they refuse the second of five 1.9 % steps)."""
    from mlgit.config import settings

    policy = settings.load(example_repo).model("cancer-classifier").policy
    assert [b.spec for b in policy.bases] == ["last-release", "best"]
    assert "base: [last-release, best]" in (example_repo / "mlgit.yaml").read_text()


def test_refuses_to_overwrite_without_force(example_repo: Path, mlgit) -> None:
    cfg = example_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text() + "# my edits\n")
    before = cfg.read_text()
    r = mlgit(example_repo, "init")
    assert r.code == 2 and "already exists" in r.err and "--force" in r.err
    assert cfg.read_text() == before
    r = mlgit(example_repo, "init", "--force")
    assert r.code == 0 and "replaced mlgit.yaml" in r.out
    assert "# my edits" not in cfg.read_text()


def test_runs_dvc_init_and_handles_empty_repo(tmp_path: Path, mlgit) -> None:
    repo = tmp_path / "plain"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    r = mlgit(repo, "init")
    assert r.code == 0, r.err
    assert (repo / ".dvc").is_dir() and "initialized DVC" in r.out
    assert "models: none found" in r.out
    assert "models: {}" in (repo / "mlgit.yaml").read_text()


def test_dvc_file_datasets_and_model_like_outs(tmp_path: Path, small_repo: Path, mlgit) -> None:
    (small_repo / "mlgit.yaml").unlink()
    (small_repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: echo\n    outs:\n      - out/model.pkl\n    metrics:\n      - scores.json:\n          cache: false\n"
    )
    (small_repo / "scores.json").write_text('{"val": {"rmse": 1.5, "r2": 0.8}, "name": "x"}\n')
    commit_all(small_repo, "pipeline")
    r = mlgit(small_repo, "init")
    assert r.code == 0, r.err
    text = (small_repo / "mlgit.yaml").read_text()
    assert "table:\n    path: data/table.csv" in text
    assert "model:\n    path: out/model.pkl" in text
    assert "val.rmse:\n          direction: lower" in text and "val.r2:\n          direction: higher" in text
    assert "name:" not in text.split("gates:")[1].split("ci:")[0]  # strings are not gated


def test_outside_git(tmp_path: Path, mlgit) -> None:
    r = mlgit(tmp_path, "init")
    assert r.code == 2 and "git init" in r.err
    assert not (tmp_path / "mlgit.yaml").exists()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("accuracy", "higher"),
        ("roc_auc", "higher"),
        ("log_loss", "lower"),
        ("val.rmse", "lower"),
        ("MAE", "lower"),
        ("latency_p95_ms", "lower"),
        ("train.error_rate", "lower"),
        ("f1", "higher"),
        ("throughput", "higher"),
    ],
)
def test_direction_guess(name: str, expected: str) -> None:
    assert direction_for(name) == expected


def test_counts_are_not_gated_as_metrics(tmp_path: Path, git_repo: Path, mlgit) -> None:
    (git_repo / "mlgit.yaml").unlink()
    (git_repo / "dvc.yaml").write_text(
        "stages:\n  train:\n    cmd: echo\n    outs:\n      - out/model.pkl\n    metrics:\n      - scores.json:\n          cache: false\n"
    )
    scores = {"accuracy": 0.9, "n_test": 143, "support": 60, "count": 7, "num_samples": 500, "val": {"rows": 3}}
    scores |= {"test_size": 143, "trainSize": 400, "numExamples": 543}
    (git_repo / "scores.json").write_text(json.dumps(scores) + "\n")
    commit_all(git_repo, "pipeline")
    r = mlgit(git_repo, "init")
    assert r.code == 0, r.err
    gates = (git_repo / "mlgit.yaml").read_text().split("gates:")[1].split("ci:")[0]
    assert "accuracy:\n          direction: higher" in gates
    for count in ("n_test", "support", "count", "num_samples", "val.rows", "test_size", "trainSize", "numExamples"):
        assert f"{count}:" not in gates, count
    assert "gates: accuracy (higher is better)" in r.out
