"""Several models in one repository (dvc.yaml in sub-folders, GTO's `dir=name` tags), each gated alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.repos import BIN, commit_all, git, sh

STAGE = """\
stages:
  evaluate:
    cmd: 'true'
    params: [train.lr]
    outs: [models/model.pkl]
    metrics:
      - metrics.json:
          cache: false
artifacts:
  classifier:
    path: models/model.pkl
    type: model
"""


@pytest.fixture
def mono(tmp_path: Path, mlgit) -> Path:
    repo = tmp_path / "mono"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    for sub, acc in (("vision", 0.8), ("nlp", 0.7)):
        (repo / sub / "models").mkdir(parents=True)
        (repo / sub / "dvc.yaml").write_text(STAGE)
        (repo / sub / "params.yaml").write_text("train:\n  lr: 0.1\n")
        (repo / sub / "metrics.json").write_text(json.dumps({"accuracy": acc, "loss": 1 - acc}))
    r = mlgit(repo, "init")
    assert r.code == 0, r.err
    cfg = repo / "mlgit.yaml"
    # The pipelines are never run here (no dvc.lock): the metrics are written by hand, a stale pipeline.
    cfg.write_text(cfg.read_text().replace("    policy:\n", "    policy:\n      allow_stale: true\n"))
    commit_all(repo, "two projects")
    return repo


def test_init_names_models_dir_colon_name(mono: Path) -> None:
    text = (mono / "mlgit.yaml").read_text()
    assert (
        '  "vision:classifier":\n    path: vision/models/model.pkl\n    metrics: [vision/metrics.json]\n    params: [vision/params.yaml]'
        in text
    )
    assert '  "nlp:classifier":\n    path: nlp/models/model.pkl\n    metrics: [nlp/metrics.json]' in text


def test_each_model_gated_and_tagged_alone(mono: Path, mlgit) -> None:
    r = mlgit(mono, "promote")
    assert r.code == 0, r.err
    assert sorted(git("tag", "--list", cwd=mono).split()) == ["nlp=classifier@v0.1.0", "vision=classifier@v0.1.0"]
    shown = json.loads(sh(str(BIN / "gto"), "show", "--json", cwd=mono).stdout)
    assert {name: info["version"] for name, info in shown.items()} == {
        "nlp:classifier": "v0.1.0",
        "vision:classifier": "v0.1.0",
    }

    (mono / "nlp" / "metrics.json").write_text(json.dumps({"accuracy": 0.75, "loss": 0.25}))
    commit_all(mono, "better nlp model")
    r = mlgit(mono, "promote", "--json")
    assert r.code == 0, r.err
    docs = {d["model"]: d for d in json.loads(r.out)["models"]}
    assert docs["nlp:classifier"]["status"] == "released" and docs["nlp:classifier"]["version"] == "v0.2.0"
    assert docs["vision:classifier"]["status"] == "unchanged"
    assert "vision=classifier@v0.2.0" not in git("tag", "--list", cwd=mono)


def test_one_failing_model_fails_the_run_but_not_the_other(mono: Path, mlgit) -> None:
    assert mlgit(mono, "promote").code == 0
    (mono / "nlp" / "metrics.json").write_text(json.dumps({"accuracy": 0.6, "loss": 0.4}))
    (mono / "vision" / "params.yaml").write_text("train:\n  lr: 0.05\n")
    commit_all(mono, "nlp worse, vision retuned")
    r = mlgit(mono, "promote")
    assert r.code == 1
    assert "REJECTED" in r.out and "nlp:classifier" in r.out
    assert "tagged vision=classifier@v0.1.1" in r.out  # params changed, metrics equal: patch


def test_promote_one_model_by_name(mono: Path, mlgit) -> None:
    r = mlgit(mono, "promote", "vision:classifier")
    assert r.code == 0, r.err
    assert git("tag", "--list", cwd=mono).split() == ["vision=classifier@v0.1.0"]


def test_check_model_evaluates_only_models_whose_inputs_changed(mono: Path, mlgit) -> None:
    assert mlgit(mono, "promote").code == 0
    (mono / "nlp" / "metrics.json").write_text(json.dumps({"accuracy": 0.5, "loss": 0.5}))
    r = mlgit(mono, "check", "model", "--json")
    assert r.code == 1
    found = json.loads(r.out)["findings"]
    unchanged = {f["subject"] for f in found if f["code"] == "model.unchanged"}
    assert unchanged == {"vision:classifier"}
    regressed = {
        (f["subject"], f["data"]["metric"])
        for f in found
        if f["code"] == "model.metric-regressed" and f["severity"] == "error"
    }
    assert regressed == {("nlp:classifier", "accuracy"), ("nlp:classifier", "loss")}


def test_init_scopes_each_models_datasets_to_its_folder(tmp_path: Path, mlgit) -> None:
    repo = tmp_path / "scoped"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    for sub in ("vision", "nlp"):
        (repo / sub / "data").mkdir(parents=True)
        (repo / sub / "dvc.yaml").write_text(STAGE)
        (repo / sub / "metrics.json").write_text('{"accuracy": 0.8}')
        (repo / sub / "data" / f"{sub}.csv.dvc").write_text(
            f"outs:\n- md5: 0123456789abcdef0123456789abcdef\n  path: {sub}.csv\n"
        )
    assert mlgit(repo, "init", "--forge", "none").code == 0
    text = (repo / "mlgit.yaml").read_text()
    assert "  vision:\n    path: vision/data/vision.csv" in text
    vision = text.split('"vision:classifier":')[1].split("policy:")[0]
    nlp = text.split('"nlp:classifier":')[1].split("policy:")[0]
    assert "datasets: [vision]" in vision and "datasets: [nlp]" in nlp


def test_one_report_reads_the_tags_once_for_all_models(mono: Path, mlgit) -> None:
    from mlgit.system import process

    assert mlgit(mono, "promote").code == 0
    (mono / "nlp" / "metrics.json").write_text(json.dumps({"accuracy": 0.75, "loss": 0.25}))
    commit_all(mono, "better nlp model")
    with process.recording() as commands:
        r = mlgit(mono, "report", "--format", "json")
    assert r.code == 0, r.err
    assert {m["name"] for m in json.loads(r.out)["models"]} == {"nlp:classifier", "vision:classifier"}
    reads = [c for c in commands if c[:2] == ("git", "for-each-ref")]
    assert len(reads) == 1, reads


def test_promote_push_reads_each_models_registry_from_the_remote(mono: Path, tmp_path: Path, mlgit) -> None:
    remote = tmp_path / "remote.git"
    git("clone", "-q", "--bare", str(mono), str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=mono)
    other = tmp_path / "other"
    git("clone", "-q", str(remote), str(other), cwd=tmp_path)
    assert mlgit(other, "promote", "nlp:classifier", "--push").code == 0
    assert mlgit(other, "assign", "nlp:classifier", "prod", "--push").code == 0
    # This clone has no tags: each model's releases and stages come from the remote before it is gated.
    r = mlgit(mono, "promote", "--push", "--json")
    assert r.code == 0, r.err
    docs = {d["model"]: d for d in json.loads(r.out)["models"]}
    assert docs["nlp:classifier"]["status"] == "already-released"  # without the fetch: a second v0.1.0
    assert docs["vision:classifier"]["version"] == "v0.1.0"
    assert "nlp=classifier#prod#1" in git("tag", "--list", cwd=mono).split()
