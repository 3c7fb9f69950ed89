"""`mlgit metrics diff`: files read at revisions through git, compared with the work tree."""

from __future__ import annotations

import json
from pathlib import Path

from testing.repos import commit_all, git, sh


def test_diff_against_merge_base(git_repo: Path, mlgit) -> None:
    git("checkout", "-q", "-b", "feature", cwd=git_repo)
    (git_repo / "metrics.json").write_text('{"accuracy": 0.85, "loss": 0.30}\n')
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.05\n  depth: 3\n")
    r = mlgit(git_repo, "metrics", "diff")
    assert r.code == 0, r.err
    assert "main (merge-base" in r.out
    assert "accuracy" in r.out and "0.8" in r.out and "0.85" in r.out and "+0.05" in r.out
    assert "train.lr" in r.out and "train.depth" not in r.out  # unchanged params hidden by default
    assert "train.depth" in mlgit(git_repo, "metrics", "diff", "--all").out


def test_json_shape(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").write_text('{"accuracy": 0.9, "loss": 0.40, "extra": {"f1": 0.7}}\n')
    r = mlgit(git_repo, "metrics", "diff", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    acc = doc["metrics"]["metrics.json"]["accuracy"]
    assert acc["old"] == 0.8 and acc["new"] == 0.9 and abs(acc["diff"] - 0.1) < 1e-9
    assert doc["metrics"]["metrics.json"]["extra.f1"] == {"old": None, "new": 0.7, "diff": None}
    assert doc["params"]["params.yaml"]["train.lr"] == {"old": 0.1, "new": 0.1, "diff": 0.0}
    assert doc["no_baseline"] == []


def test_missing_baseline_is_not_zero(git_repo: Path, mlgit) -> None:
    git("rm", "-q", "metrics.json", cwd=git_repo)
    commit_all(git_repo, "no metrics yet")
    (git_repo / "metrics.json").write_text('{"accuracy": 0.9, "loss": 0.2}\n')
    r = mlgit(git_repo, "metrics", "diff", "--json")
    doc = json.loads(r.out)
    assert doc["no_baseline"] == ["metrics.json"]
    assert doc["metrics"]["metrics.json"]["accuracy"] == {"old": None, "new": 0.9, "diff": None}
    text = mlgit(git_repo, "metrics", "diff").out
    assert "no baseline" in text and "+0.9" not in text


def test_explicit_base_and_nested_yaml_toml(git_repo: Path, mlgit) -> None:
    cfg = (
        (git_repo / "mlgit.yaml")
        .read_text()
        .replace("metrics: [metrics.json]", "metrics: [metrics.json, eval.yaml, perf.toml]")
    )
    (git_repo / "mlgit.yaml").write_text(cfg)
    (git_repo / "eval.yaml").write_text("test:\n  auc: 0.7\n  nested:\n    deep: 1\n")
    (git_repo / "perf.toml").write_text("[latency]\np95_ms = 12.5\n")
    first = commit_all(git_repo, "more metrics")
    (git_repo / "eval.yaml").write_text("test:\n  auc: 0.75\n  nested:\n    deep: 2\n")
    (git_repo / "perf.toml").write_text("[latency]\np95_ms = 10.0\n")
    commit_all(git_repo, "better")
    doc = json.loads(mlgit(git_repo, "metrics", "diff", "--base", first, "--json").out)
    assert doc["metrics"]["eval.yaml"]["test.nested.deep"] == {"old": 1, "new": 2, "diff": 1}
    assert doc["metrics"]["perf.toml"]["latency.p95_ms"]["diff"] == -2.5


def test_garbled_metrics_file(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").write_text('{"accuracy": 0.9,,}')
    r = mlgit(git_repo, "metrics", "diff")
    assert r.code == 2
    assert "metrics.json:1: invalid JSON" in r.err and "Traceback" not in r.err


def test_non_mapping_metrics_file(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").write_text("[1, 2]")
    r = mlgit(git_repo, "metrics", "diff")
    assert r.code == 2 and "metrics.json: expected a mapping" in r.err


def test_unknown_base(git_repo: Path, mlgit) -> None:
    r = mlgit(git_repo, "metrics", "diff", "--base", "nope")
    assert r.code == 2 and "unknown revision 'nope'" in r.err


def test_shallow_clone_without_base_branch(git_repo: Path, tmp_path: Path, mlgit) -> None:
    git("checkout", "-q", "-b", "feature", cwd=git_repo)
    (git_repo / "metrics.json").write_text('{"accuracy": 0.85, "loss": 0.3}\n')
    commit_all(git_repo, "feature work")
    clone = tmp_path / "shallow"
    sh("git", "clone", "-q", "--depth=1", "--branch", "feature", f"file://{git_repo}", str(clone), cwd=tmp_path)
    r = mlgit(clone, "metrics", "diff")
    assert r.code == 2
    assert "base branch 'main' is not in this clone" in r.err
    assert "git fetch origin main" in r.err and "fetch-depth: 0" in r.err


def test_without_config_reads_dvc_yaml(git_repo: Path, mlgit) -> None:
    (git_repo / "mlgit.yaml").unlink()
    (git_repo / "dvc.yaml").write_text("metrics:\n  - metrics.json\n")
    commit_all(git_repo, "dvc metrics only")
    (git_repo / "metrics.json").write_text('{"accuracy": 0.95, "loss": 0.40}\n')
    doc = json.loads(mlgit(git_repo, "metrics", "diff", "--json").out)
    assert doc["metrics"]["metrics.json"]["accuracy"]["new"] == 0.95


def test_not_a_git_repo(tmp_path: Path, mlgit) -> None:
    r = mlgit(tmp_path, "metrics", "diff")
    assert r.code == 2 and "not inside a git work tree" in r.err


def test_json_diffs_are_rounded_to_the_precision_of_their_inputs(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").write_text('{"accuracy": 0.85, "loss": 0.3}\n')  # 0.85 - 0.8 is not 0.05 in floats
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.1\n  depth: 5\n")
    doc = json.loads(mlgit(git_repo, "metrics", "diff", "--json").out)
    assert doc["metrics"]["metrics.json"]["accuracy"]["diff"] == 0.05
    assert doc["metrics"]["metrics.json"]["loss"]["diff"] == -0.1
    assert doc["params"]["params.yaml"]["train.depth"]["diff"] == 2


def test_a_models_version_is_a_base_too(git_repo: Path, mlgit) -> None:
    r = mlgit(git_repo, "metrics", "diff", "--base", "last-release")
    assert r.code == 2 and "--base last-release: no release yet" in r.err and "Traceback" not in r.err
    assert mlgit(git_repo, "promote").code == 0
    (git_repo / "metrics.json").write_text('{"accuracy": 0.9, "loss": 0.4}\n')
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.2\n  depth: 3\n")
    commit_all(git_repo, "better")
    assert mlgit(git_repo, "promote").code == 0
    (git_repo / "metrics.json").write_text('{"accuracy": 0.895, "loss": 0.4}\n')
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.3\n  depth: 3\n")
    commit_all(git_repo, "a little worse")
    assert mlgit(git_repo, "promote").code == 0  # v0.2.1; the best is still v0.2.0
    (git_repo / "metrics.json").write_text('{"accuracy": 0.85, "loss": 0.4}\n')
    for spec, label, old in (("best", "clf@v0.2.0 (best accuracy so far)", 0.9), ("last-release", "clf@v0.2.1", 0.895)):
        doc = json.loads(mlgit(git_repo, "metrics", "diff", "--base", spec, "--json").out)
        assert doc["base"]["label"] == label and doc["metrics"]["metrics.json"]["accuracy"]["old"] == old
    assert mlgit(git_repo, "assign", "clf", "prod", "--version", "v0.1.0").code == 0
    doc = json.loads(mlgit(git_repo, "metrics", "diff", "--base", "stage:prod", "--model", "clf", "--json").out)
    assert doc["metrics"]["metrics.json"]["accuracy"] == {"old": 0.8, "new": 0.85, "diff": 0.05}
