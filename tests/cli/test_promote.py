"""`mlgit promote`: the gate, the version rule, the annotated tag with lineage, and pushing it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.repos import BIN, commit_all, commit_policy, git, sh


def _metrics(repo: Path, accuracy: float, loss: float) -> None:
    (repo / "metrics.json").write_text(json.dumps({"accuracy": accuracy, "loss": loss}) + "\n")


def _tags(repo: Path) -> list[str]:
    return git("tag", "--list", cwd=repo).split()


def _message(repo: Path, tag: str) -> str:
    return git("tag", "--list", "--format=%(contents)", tag, cwd=repo)


def test_first_release_tags_v0_1_0_with_lineage(small_repo: Path, mlgit) -> None:
    r = mlgit(small_repo, "promote")
    assert r.code == 0, r.err
    assert "first release" in r.out and "only absolute bounds" in r.out
    assert _tags(small_repo) == ["clf@v0.1.0"]
    assert git("cat-file", "-t", "clf@v0.1.0", cwd=small_repo).strip() == "tag"  # annotated
    message = _message(small_repo, "clf@v0.1.0")
    summary, _, body = message.partition("\n\n")
    assert summary == "Release clf v0.1.0 (mlgit)"
    lineage = json.loads(body)
    assert lineage["commit"] == git("rev-parse", "HEAD", cwd=small_repo).strip()
    dvc_md5 = git("show", "HEAD:data/table.csv.dvc", cwd=small_repo).split("md5: ")[1].split()[0]
    assert lineage["data"]["table"] == {"path": "data/table.csv", "md5": dvc_md5}
    assert lineage["params"] == {"params.yaml:train.lr": 0.1, "params.yaml:train.depth": 3}
    assert lineage["metrics"] == {"metrics.json:accuracy": 0.8, "metrics.json:loss": 0.4}
    assert lineage["baseline"]["kind"] == "none"
    assert {d["rule"] for d in lineage["decision"]} == {"min"}


def test_gto_reads_the_tags(git_repo: Path, mlgit) -> None:
    assert mlgit(git_repo, "promote").code == 0
    _metrics(git_repo, 0.9, 0.3)
    commit_all(git_repo, "better")
    assert mlgit(git_repo, "promote").code == 0
    shown = json.loads(sh(str(BIN / "gto"), "show", "--json", cwd=git_repo).stdout)
    assert shown["clf"]["version"] == "v0.2.0" and shown["clf"]["registered"] is True
    ref = json.loads(sh(str(BIN / "gto"), "check-ref", "clf@v0.2.0", "--json", cwd=git_repo).stdout)
    assert ref["version"] == "v0.2.0" and ref["event"] == "registration"
    assert json.loads(ref["message"].partition("\n\n")[2])["version"] == "v0.2.0"


def test_rerun_on_released_commit_is_a_noop(git_repo: Path, mlgit) -> None:
    assert mlgit(git_repo, "promote").code == 0
    r = mlgit(git_repo, "promote")
    assert r.code == 0
    assert "already released as clf@v0.1.0" in r.out
    assert _tags(git_repo) == ["clf@v0.1.0"]


def test_improvement_bumps_minor_and_equal_bumps_patch(git_repo: Path, mlgit) -> None:
    mlgit(git_repo, "promote")
    _metrics(git_repo, 0.85, 0.4)
    commit_all(git_repo, "better accuracy")
    r = mlgit(git_repo, "promote", "--json")
    doc = json.loads(r.out)
    assert doc["version"] == "v0.2.0" and doc["bump"] == "minor" and doc["improved"] == ["accuracy"]
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.2\n  depth: 3\n")
    commit_all(git_repo, "retrained, same metrics")
    doc = json.loads(mlgit(git_repo, "promote", "--json").out)
    assert doc["version"] == "v0.2.1" and doc["bump"] == "patch"
    assert doc["baseline"]["version"] == "v0.2.0"


def test_nothing_to_release_when_inputs_are_unchanged(git_repo: Path, mlgit) -> None:
    assert mlgit(git_repo, "promote").code == 0
    (git_repo / "README").write_text("docs only\n")
    commit_all(git_repo, "docs")
    r = mlgit(git_repo, "promote")
    assert r.code == 0
    assert r.out == "clf: inputs unchanged since clf@v0.1.0 (artifact, data, params, metrics); nothing to release\n"
    doc = json.loads(mlgit(git_repo, "promote", "--json").out)
    assert doc["status"] == "unchanged" and doc["tag"] == "clf@v0.1.0" and doc["version"] == "v0.1.0"
    assert _tags(git_repo) == ["clf@v0.1.0"]


def test_a_new_model_committed_to_git_itself_is_something_to_release(git_repo: Path, mlgit) -> None:
    assert mlgit(git_repo, "promote").code == 0
    (git_repo / "model.pkl").write_text("retrained, same metrics\n")  # in git, not DVC-tracked
    commit_all(git_repo, "retrained model, nothing else changed")
    r = mlgit(git_repo, "promote")
    assert r.code == 0 and "PASSED: tagged clf@v0.1.1" in r.out, r.out
    (git_repo / "README").write_text("docs only\n")
    commit_all(git_repo, "docs")
    r = mlgit(git_repo, "promote")
    assert r.code == 0 and "inputs unchanged since clf@v0.1.1" in r.out
    assert _tags(git_repo) == ["clf@v0.1.0", "clf@v0.1.1"]


def test_regression_refused_with_every_failing_rule(git_repo: Path, mlgit) -> None:
    mlgit(git_repo, "promote")
    _metrics(git_repo, 0.75, 0.5)
    commit_all(git_repo, "worse")
    r = mlgit(git_repo, "promote")
    assert r.code == 1
    assert "REJECTED: 2 rules failed; no tag created" in r.out
    assert "FAIL  accuracy" in r.out and "0.75 vs 0.8" in r.out and "at most 0.01 worse" in r.out
    assert "FAIL  loss" in r.out and "0.5 vs 0.4" in r.out and "no worse than" in r.out
    assert _tags(git_repo) == ["clf@v0.1.0"]


def test_allowed_regression_within_epsilon_passes(git_repo: Path, mlgit) -> None:
    mlgit(git_repo, "promote")
    _metrics(git_repo, 0.795, 0.4)  # 0.005 worse, 0.01 allowed
    commit_all(git_repo, "slightly worse")
    doc = json.loads(mlgit(git_repo, "promote", "--json").out)
    assert doc["status"] == "released" and doc["version"] == "v0.1.1"


def test_relative_regression_and_required_improvement(git_repo: Path, mlgit) -> None:
    cfg = (git_repo / "mlgit.yaml").read_text()
    cfg = cfg.replace(
        "          max_regression: 0.01\n", "          max_regression_rel: 0.5\n          min_improvement: 0.02\n"
    )
    (git_repo / "mlgit.yaml").write_text(cfg)
    commit_all(git_repo, "policy")
    mlgit(git_repo, "promote")
    _metrics(git_repo, 0.81, 0.4)
    commit_all(git_repo, "tiny gain")
    r = mlgit(git_repo, "promote", "--json")
    doc = json.loads(r.out)
    assert r.code == 1
    failed = [x for x in doc["results"] if not x["passed"]]
    assert [(x["code"], x["metric"], x["threshold"]) for x in failed] == [
        ("model.metric-not-improved", "accuracy", 0.02)
    ]


def test_first_release_bound_failure(git_repo: Path, mlgit) -> None:
    _metrics(git_repo, 0.4, 0.4)
    commit_all(git_repo, "bad model")
    r = mlgit(git_repo, "promote")
    assert r.code == 1
    assert "0.4 < min 0.5" in r.out
    assert _tags(git_repo) == []


def test_missing_and_non_numeric_metrics_fail(git_repo: Path, mlgit) -> None:
    mlgit(git_repo, "promote")
    (git_repo / "metrics.json").write_text('{"accuracy": "n/a"}\n')
    commit_all(git_repo, "broken eval")
    r = mlgit(git_repo, "promote", "--json")
    assert r.code == 1
    codes = {x["metric"]: x["code"] for x in json.loads(r.out)["results"] if not x["passed"]}
    assert codes == {"accuracy": "model.metric-not-numeric", "loss": "model.metric-missing"}


def test_a_gate_first_appearance_is_judged_on_its_bounds_and_recorded(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").write_text('{"accuracy": 0.8}\n')
    commit_all(git_repo, "no loss yet")
    r = mlgit(git_repo, "promote")
    assert r.code == 1  # first release needs the metric too
    _metrics(git_repo, 0.8, 0.4)
    head = commit_all(git_repo, "loss added")
    git("tag", "-a", "clf@v0.1.0", "-m", "manual", f"{head}~1", cwd=git_repo)
    r = mlgit(git_repo, "promote")
    assert r.code == 0 and "loss is missing from the baseline (clf@v0.1.0)" in r.out
    assert "a new gate, judged on its bounds alone" in r.out
    lineage = json.loads(_message(git_repo, "clf@v0.1.1").partition("\n\n")[2])
    new = [d for d in lineage["decision"] if d["metric"] == "loss"]
    assert new == [
        {
            "code": "model.metric-missing-baseline",
            "metric": "loss",
            "rule": "new",
            "passed": True,
            "candidate": 0.4,
            "baseline": None,
            "threshold": None,
            "message": "loss is missing from the baseline (clf@v0.1.0): a new gate, judged on its bounds alone",
            "slice": None,
            "base": None,
        }
    ]


def test_a_new_gate_still_holds_its_bounds(git_repo: Path, mlgit) -> None:
    assert mlgit(git_repo, "promote").code == 0
    cfg = (git_repo / "mlgit.yaml").read_text()
    gate = "        max_error:\n          direction: lower\n          max: 1.0\n"
    cfg = cfg.replace("        loss:\n", gate + "        loss:\n")
    (git_repo / "mlgit.yaml").write_text(cfg)
    (git_repo / "metrics.json").write_text('{"accuracy": 0.8, "loss": 0.4, "max_error": 2.5}\n')
    commit_all(git_repo, "max_error gated, too large")
    r = mlgit(git_repo, "promote", "--json")
    assert r.code == 1
    failed = [(x["metric"], x["code"]) for x in json.loads(r.out)["results"] if not x["passed"]]
    assert failed == [("max_error", "model.metric-above-max")]


def test_a_max_violation_points_at_the_max_line(git_repo: Path, mlgit) -> None:
    cfg = (git_repo / "mlgit.yaml").read_text()
    cfg = cfg.replace("        loss:\n          direction: lower\n", "        loss:\n          direction: lower\n          max: 0.3\n")
    (git_repo / "mlgit.yaml").write_text(cfg)
    line = cfg.splitlines().index("          max: 0.3") + 1
    commit_all(git_repo, "loss at most 0.3")
    r = mlgit(git_repo, "promote")
    assert r.code == 1 and f"0.4 > max 0.3 (mlgit.yaml:{line})" in r.out
    found = json.loads(mlgit(git_repo, "check", "model", "--json").out)["findings"]
    (above,) = [f for f in found if f["code"] == "model.metric-above-max"]
    assert (above["file"], above["line"]) == ("mlgit.yaml", line)
    assert above["message"] == f"loss: 0.4 > max 0.3 (mlgit.yaml:{line})"
    # The text output says the location once (the message carries it; the finding's file:line is the same).
    r = mlgit(git_repo, "check", "model")
    assert r.code == 1 and f"loss: 0.4 > max 0.3 (mlgit.yaml:{line})" in r.out, r.out
    assert f"(mlgit.yaml:{line}) (mlgit.yaml:{line})" not in r.out, r.out


def test_a_gate_on_a_misspelt_metric_names_the_closest_one(git_repo: Path, mlgit) -> None:
    cfg = (git_repo / "mlgit.yaml").read_text().replace("        accuracy:\n", "        acuracy:\n")
    (git_repo / "mlgit.yaml").write_text(cfg)
    commit_all(git_repo, "a typo in a gate")
    r = mlgit(git_repo, "promote", "--json")
    assert r.code == 1
    (missing,) = [x for x in json.loads(r.out)["results"] if not x["passed"]]
    assert missing["code"] == "model.metric-missing"
    assert missing["message"] == (
        "acuracy is missing from the candidate's metrics (metrics.json); did you mean 'accuracy'? "
        "(the gates are named in mlgit.yaml under policy.gates)"
    )
    # A name close to nothing gets no guess.
    cfg = cfg.replace("        acuracy:\n", "        throughput:\n")
    (git_repo / "mlgit.yaml").write_text(cfg)
    commit_all(git_repo, "another metric")
    (missing,) = [x for x in json.loads(mlgit(git_repo, "promote", "--json").out)["results"] if not x["passed"]]
    assert missing["message"] == "throughput is missing from the candidate's metrics (metrics.json)"


def test_a_gated_metric_that_disappears_still_fails(git_repo: Path, mlgit) -> None:
    assert mlgit(git_repo, "promote").code == 0
    (git_repo / "metrics.json").write_text('{"accuracy": 0.8}\n')
    commit_all(git_repo, "loss dropped")
    r = mlgit(git_repo, "promote", "--json")
    assert r.code == 1
    failed = [(x["metric"], x["code"]) for x in json.loads(r.out)["results"] if not x["passed"]]
    assert failed == [("loss", "model.metric-missing")]


def test_garbled_or_absent_metrics_file_is_an_input_error(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").write_text("{not json")
    commit_all(git_repo, "garbled")
    r = mlgit(git_repo, "promote")
    assert r.code == 2 and "metrics.json" in r.err and "invalid JSON" in r.err
    git("rm", "-q", "metrics.json", cwd=git_repo)
    commit_all(git_repo, "gone")
    r = mlgit(git_repo, "promote")
    assert r.code == 2 and "metrics files exist" in r.err and "dvc repro" in r.err


def test_unknown_model(git_repo: Path, mlgit) -> None:
    r = mlgit(git_repo, "promote", "nope")
    assert r.code == 2 and "unknown model 'nope'" in r.err and "clf" in r.err


def test_dirty_tree_refused_unless_allowed(git_repo: Path, mlgit) -> None:
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.2\n")
    r = mlgit(git_repo, "promote")
    assert r.code == 2 and "uncommitted changes (params.yaml)" in r.err and "--allow-dirty" in r.err
    assert _tags(git_repo) == []
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 0 and "uncommitted changes ignored" in r.err
    assert _tags(git_repo) == ["clf@v0.1.0"]


def test_dry_run_writes_nothing(git_repo: Path, mlgit) -> None:
    r = mlgit(git_repo, "promote", "--dry-run")
    assert r.code == 0 and "would tag clf@v0.1.0" in r.out
    assert _tags(git_repo) == []


def test_existing_lightweight_tag_is_never_reused(git_repo: Path, mlgit) -> None:
    git("tag", "clf@v0.1.0", cwd=git_repo)  # lightweight: invisible to GTO, but the name is taken
    r = mlgit(git_repo, "promote", "--json")
    assert r.code == 0
    assert json.loads(r.out)["version"] == "v0.1.1"


def _bare_remote(repo: Path, tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    sh("git", "init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=repo)
    git("push", "-q", "origin", "main", cwd=repo)
    return remote


def test_push_sends_the_tag(git_repo: Path, tmp_path: Path, mlgit) -> None:
    remote = _bare_remote(git_repo, tmp_path)
    r = mlgit(git_repo, "promote", "--push")
    assert r.code == 0 and "pushed to 'origin'" in r.out
    assert git("tag", "--list", cwd=remote).split() == ["clf@v0.1.0"]
    assert git("cat-file", "-t", "clf@v0.1.0", cwd=remote).strip() == "tag"


def test_remote_already_holds_the_version(git_repo: Path, tmp_path: Path, mlgit) -> None:
    remote = _bare_remote(git_repo, tmp_path)
    other = tmp_path / "other"
    sh("git", "clone", "-q", str(remote), str(other), cwd=tmp_path)
    git("tag", "-a", "clf@v0.1.0", "-m", "someone else", cwd=other)
    git("push", "-q", "origin", "clf@v0.1.0", cwd=other)
    _metrics(git_repo, 0.85, 0.35)
    commit_all(git_repo, "mine")
    r = mlgit(git_repo, "promote", "--push", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["version"] == "v0.2.0" and doc["baseline"]["version"] == "v0.1.0"
    assert sorted(git("tag", "--list", cwd=remote).split()) == ["clf@v0.1.0", "clf@v0.2.0"]


def test_rejected_push_leaves_no_local_tag(git_repo: Path, tmp_path: Path, mlgit) -> None:
    remote = _bare_remote(git_repo, tmp_path)
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'tags are protected here' >&2\nexit 1\n")
    hook.chmod(0o755)
    r = mlgit(git_repo, "promote", "--push")
    assert r.code == 2
    assert "pushing clf@v0.1.0 to 'origin' failed; no tag was left behind" in r.err
    assert "tags are protected here" in r.err
    assert _tags(git_repo) == [] and git("tag", "--list", cwd=remote).split() == []


def test_unknown_remote(git_repo: Path, mlgit) -> None:
    r = mlgit(git_repo, "promote", "--push", "upstream")
    assert r.code == 2 and "no remote named 'upstream'" in r.err


def test_explicit_base_revision(git_repo: Path, mlgit) -> None:
    base = git("rev-parse", "HEAD", cwd=git_repo).strip()
    _metrics(git_repo, 0.70, 0.4)
    commit_all(git_repo, "worse")
    r = mlgit(git_repo, "promote", "--base", base, "--json")
    assert r.code == 1
    doc = json.loads(r.out)
    assert doc["baseline"]["commit"] == base and doc["first_release"] is False


def test_stale_pipeline_refuses_the_release_unless_allowed_and_recorded(example_repo: Path, mlgit) -> None:
    params = example_repo / "params.yaml"
    params.write_text(params.read_text().replace("C: 0.001", "C: 0.01"))
    commit_all(example_repo, "params changed, pipeline not re-run")
    r = mlgit(example_repo, "promote")
    assert r.code == 2 and "the pipeline is stale" in r.err and "cancer-classifier not released" in r.err
    assert "train" in r.err and "params.yaml" in r.err and "--allow-stale" in r.err and "dvc repro" in r.err
    assert _tags(example_repo) == []
    r = mlgit(example_repo, "promote", "--dry-run")  # writes nothing: shows the gate, and that it would be refused
    assert r.code == 0 and "would tag cancer-classifier@v0.1.0" in r.out
    assert "the pipeline is stale" in r.err and "a real promotion would be refused" in r.err
    assert _tags(example_repo) == []
    r = mlgit(example_repo, "promote", "--dry-run", "--allow-stale")
    assert r.code == 0
    assert "warning: the pipeline is stale" in r.err and "train" in r.err and "params.yaml" in r.err
    assert mlgit(example_repo, "promote", "--allow-stale").code == 0
    lineage = json.loads(_message(example_repo, "cancer-classifier@v0.1.0").partition("\n\n")[2])
    assert lineage["stale"]["allowed_by"] == "--allow-stale" and "train" in lineage["stale"]["stages"]


def test_hand_edited_metrics_are_stale_and_policy_allow_stale_is_recorded(example_repo: Path, mlgit) -> None:
    metrics = example_repo / "metrics.json"
    # Same values, other bytes: an edit by hand, which `dvc status` reports as changed outs of evaluate.
    metrics.write_text(json.dumps(json.loads(metrics.read_text()), indent=7) + "\n")
    commit_all(example_repo, "hand-edited metrics")
    r = mlgit(example_repo, "promote")
    assert r.code == 2 and "the pipeline is stale" in r.err and "evaluate" in r.err
    commit_policy(example_repo, "allow_stale: true", "stale allowed by policy")
    r = mlgit(example_repo, "promote")
    assert r.code == 0, r.out + r.err
    assert "the pipeline is stale, metrics may not match the code (released anyway)" in r.err
    lineage = json.loads(_message(example_repo, "cancer-classifier@v0.1.0").partition("\n\n")[2])
    assert lineage["stale"]["allowed_by"] == "policy.allow_stale" and "evaluate" in lineage["stale"]["stages"]


def test_releases_only_from_the_default_branch_unless_allowed(git_repo: Path, mlgit) -> None:
    git("checkout", "-q", "-b", "feature/x", cwd=git_repo)
    _metrics(git_repo, 0.85, 0.35)
    commit_all(git_repo, "on a feature branch")
    r = mlgit(git_repo, "promote")
    assert r.code == 2
    assert "is not on the default branch 'main'" in r.err and "policy.release_branches" in r.err
    r = mlgit(git_repo, "promote", "--dry-run")  # writes nothing: shows the gate, and that it would be refused
    assert r.code == 0 and "would tag clf@v0.1.0" in r.out
    assert "is not on the default branch 'main'" in r.err and "a real promotion would be refused" in r.err
    assert _tags(git_repo) == []
    commit_policy(git_repo, 'release_branches: ["feature/*"]', "feature branches may release")
    # A branch cannot allow itself: policy.release_branches is the default branch's (issue 12).
    r = mlgit(git_repo, "promote")
    assert r.code == 2 and "is not on the default branch 'main'" in r.err
    assert _tags(git_repo) == []
    git("checkout", "-q", "main", cwd=git_repo)
    git("checkout", "-q", "feature/x", "--", "mlgit.yaml", cwd=git_repo)
    commit_all(git_repo, "feature branches may release")
    git("checkout", "-q", "feature/x", cwd=git_repo)
    git("merge", "-q", "--no-edit", "main", cwd=git_repo)
    r = mlgit(git_repo, "promote", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["tag"] == "clf@v0.1.0"
    git("checkout", "-q", "-b", "other", cwd=git_repo)
    _metrics(git_repo, 0.86, 0.34)
    commit_all(git_repo, "on a branch no pattern allows")
    r = mlgit(git_repo, "promote")
    assert r.code == 2 and "clf is released from the default branch or feature/* (policy.release_branches) only" in r.err


def test_dry_run_works_on_a_dirty_tree(git_repo: Path, mlgit) -> None:
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.2\n")
    r = mlgit(git_repo, "promote", "--dry-run")
    assert r.code == 0 and "would tag clf@v0.1.0" in r.out
    assert "uncommitted changes ignored (dry run of HEAD): params.yaml" in r.err
    assert _tags(git_repo) == []


def test_outputs_not_pulled_are_not_called_stale(example_repo: Path, tmp_path: Path, mlgit) -> None:
    # A CI release job clones without `dvc pull`: absent outputs say nothing about dvc.lock matching the code.
    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(example_repo), str(clone), cwd=tmp_path)
    r = mlgit(clone, "promote", "--dry-run")
    assert r.code == 0, r.err
    assert "stale" not in r.err and "would tag cancer-classifier@v0.1.0" in r.out


@pytest.mark.parametrize(
    ("base", "message"),
    [("nope", "unknown revision 'nope'"), ("", "--base is empty"), ("stage:bad#x", "does not name a stage")],
)
def test_bad_base_is_rejected_even_on_a_released_commit(git_repo: Path, mlgit, base: str, message: str) -> None:
    assert mlgit(git_repo, "promote").code == 0
    r = mlgit(git_repo, "promote", "--base", base)
    assert r.code == 2 and message in r.err


def test_two_releases_in_one_second_are_dated_apart_so_gto_orders_them(git_repo: Path, mlgit) -> None:
    # The test environment pins GIT_COMMITTER_DATE, so both promotions happen "in the same second".
    assert mlgit(git_repo, "promote").code == 0
    (git_repo / "metrics.json").write_text(json.dumps({"accuracy": 0.9, "loss": 0.3}) + "\n")
    commit_all(git_repo, "better")
    assert mlgit(git_repo, "promote").code == 0
    fmt = "--format=%(refname:strip=2) %(taggerdate:iso-strict)"
    dates = git("for-each-ref", fmt, "refs/tags/clf@*", cwd=git_repo).split("\n")
    assert [d for d in dates if d] == ["clf@v0.1.0 2026-01-01T00:00:00+00:00", "clf@v0.2.0 2026-01-01T00:00:01+00:00"]
    shown = json.loads(sh(str(BIN / "gto"), "show", "clf", "--json", cwd=git_repo).stdout)
    assert [v["version"] for v in shown][:1] == ["v0.2.0"]


def test_a_skipped_release_run_is_caught_up_by_the_next(git_repo: Path, mlgit) -> None:
    # GitHub cancels a pending release run when a newer push queues (one run per group waits). The merge it
    # would have promoted is not lost: the newer commit is gated against the last release, not the commit
    # before it, so its release carries the skipped merge's change (README: The promotion gate).
    assert mlgit(git_repo, "promote").code == 0
    _metrics(git_repo, 0.9, 0.3)
    commit_all(git_repo, "merge A: a better model (its release run is cancelled while pending)")
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.1\n  depth: 4\n")
    head = commit_all(git_repo, "merge B: a param change (its run is the one that runs)")
    r = mlgit(git_repo, "promote")
    assert r.code == 0, r.err
    assert _tags(git_repo) == ["clf@v0.1.0", "clf@v0.2.0"]
    lineage = json.loads(_message(git_repo, "clf@v0.2.0").partition("\n\n")[2])
    assert lineage["commit"] == head and lineage["baseline"]["label"].startswith("clf@v0.1.0")
    assert lineage["metrics"]["metrics.json:accuracy"] == 0.9  # merge A's model
    assert lineage["params"]["params.yaml:train.depth"] == 4  # merge B's change
