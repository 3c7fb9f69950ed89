"""The gate over a real history: what a change is compared with, and which baselines hold it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from testing.repos import commit_all, commit_policy, git


def _metrics(repo: Path, accuracy: float, loss: float) -> None:
    (repo / "metrics.json").write_text(json.dumps({"accuracy": accuracy, "loss": loss}) + "\n")


def _policy_findings(mlgit: Any, repo: Path) -> dict[str, list[dict[str, Any]]]:
    res = mlgit(repo, "check", "model", "--json")
    assert res.code in (0, 1), res.err
    found: dict[str, list[dict[str, Any]]] = {}
    for f in json.loads(res.out)["findings"]:
        found.setdefault(f["code"], []).append(f)
    return found


def test_a_pull_request_before_any_release_is_judged_against_its_merge_base(git_repo: Path, mlgit: Any) -> None:
    main = git("rev-parse", "HEAD", cwd=git_repo).strip()
    git("checkout", "-q", "-b", "feature", cwd=git_repo)
    _metrics(git_repo, 0.6, 0.9)  # within the absolute bounds, far worse than the base branch
    commit_all(git_repo, "worse model")
    found = _policy_findings(mlgit, git_repo)
    (base,) = found["model.baseline"]
    assert base["message"] == f"baseline: main (merge-base {main[:8]}; no release yet)"
    assert base["data"]["commit"] == main and base["data"]["kind"] == "branch"
    regressed = {f["data"]["metric"]: f["data"]["baseline"] for f in found["model.metric-regressed"]}
    assert regressed == {"accuracy": 0.8, "loss": 0.4}


def test_first_release_semantics_only_on_the_default_branch(git_repo: Path, mlgit: Any) -> None:
    _metrics(git_repo, 0.6, 0.9)
    commit_all(git_repo, "worse, but on main")
    found = _policy_findings(mlgit, git_repo)
    assert found["model.baseline"][0]["message"].startswith("baseline: none (no release yet)")
    assert "model.metric-regressed" not in found
    r = mlgit(git_repo, "promote", "--json")
    assert r.code == 0 and json.loads(r.out)["first_release"] is True


def _policy(repo: Path, base_yaml: str) -> None:
    cfg = repo / "mlgit.yaml"
    text = cfg.read_text().replace("          max_regression: 0.01\n", "          max_regression_rel: 0.02\n")
    text = text.replace(
        "          direction: lower\n", "          direction: lower\n          max_regression_rel: 0.02\n"
    )
    cfg.write_text(text.replace("    policy:\n", "    policy:\n" + base_yaml, 1))


def _five_small_steps(repo: Path, mlgit: Any) -> list[tuple[int, str]]:
    """Release 0.8/0.4, then five retrainings each 1.9 % worse on every metric: (exit code, status) of each."""
    assert mlgit(repo, "promote").code == 0
    accuracy, loss, seen = 0.8, 0.4, []
    for step in range(1, 6):
        accuracy, loss = accuracy * (1 - 0.019), loss * (1 + 0.019)
        _metrics(repo, round(accuracy, 6), round(loss, 6))
        (repo / "params.yaml").write_text(f"train:\n  lr: {0.1 + step / 100:.2f}\n  depth: 3\n")
        commit_all(repo, f"step {step}")
        r = mlgit(repo, "promote", "--json")
        seen.append((r.code, json.loads(r.out)["status"]))
    return seen


def test_against_the_last_release_alone_small_regressions_compound(git_repo: Path, mlgit: Any) -> None:
    _policy(git_repo, "      base: last-release\n")
    commit_all(git_repo, "policy: last release only")
    assert _five_small_steps(git_repo, mlgit) == [(0, "released")] * 5
    released = git("tag", "--list", cwd=git_repo).split()
    assert released == ["clf@v0.1.0", "clf@v0.1.1", "clf@v0.1.2", "clf@v0.1.3", "clf@v0.1.4", "clf@v0.1.5"]
    last = json.loads(git("tag", "-l", "--format=%(contents)", "clf@v0.1.5", cwd=git_repo).partition("\n\n")[2])
    assert last["metrics"]["metrics.json:accuracy"] < 0.8 * 0.91  # 9 % worse than the first release, in five steps


def test_the_default_bases_stop_the_drift_at_the_second_step(git_repo: Path, mlgit: Any) -> None:
    _policy(git_repo, "")
    commit_all(git_repo, "policy: default bases")
    assert _five_small_steps(git_repo, mlgit) == [(0, "released")] + [(1, "rejected")] * 4
    assert git("tag", "--list", cwd=git_repo).split() == ["clf@v0.1.0", "clf@v0.1.1"]
    r = mlgit(git_repo, "promote")
    assert "FAIL  accuracy" in r.out and "vs clf@v0.1.0 (best accuracy so far)" in r.out
    doc = json.loads(mlgit(git_repo, "promote", "--json").out)
    assert doc["baseline"]["version"] == "v0.1.1"  # bumps still follow the last release
    failed = {(x["metric"], x["base"]) for x in doc["results"] if not x["passed"]}
    best = "clf@v0.1.0 (best accuracy so far)"
    # Step 5 is four steps below the last release too: every gate fails against both bases.
    assert failed == {("accuracy", None), ("loss", None), ("accuracy", best), ("loss", best)}


def test_each_base_can_allow_its_own_regression(git_repo: Path, mlgit: Any) -> None:
    _policy(git_repo, "      base:\n        - last-release\n        - {base: best, max_regression_rel: 0.05}\n")
    commit_all(git_repo, "policy: 2 % per release, 5 % from the best")
    seen = _five_small_steps(git_repo, mlgit)
    # 1.9 %, 3.8 % from the best pass; 5.6 % does not, nor anything after it.
    assert seen == [(0, "released"), (0, "released"), (1, "rejected"), (1, "rejected"), (1, "rejected")]


def test_best_is_the_best_release_not_the_last(git_repo: Path, mlgit: Any) -> None:
    assert mlgit(git_repo, "promote").code == 0
    for accuracy, lr in ((0.85, "0.2"), (0.845, "0.3")):
        _metrics(git_repo, accuracy, 0.4)
        (git_repo / "params.yaml").write_text(f"train:\n  lr: {lr}\n  depth: 3\n")
        commit_all(git_repo, f"accuracy {accuracy}")
        assert mlgit(git_repo, "promote").code == 0
    _metrics(git_repo, 0.838, 0.4)  # 0.007 below the last release, 0.012 below the best (0.01 allowed)
    commit_all(git_repo, "a little worse again")
    r = mlgit(git_repo, "promote", "--base", "best", "--json")
    doc = json.loads(r.out)
    assert r.code == 1 and doc["baseline"]["version"] == "v0.2.0"
    r = mlgit(git_repo, "promote", "--base", "last-release", "--dry-run", "--json")
    assert r.code == 0 and json.loads(r.out)["status"] == "would-release"
    found = _policy_findings(mlgit, git_repo)  # the pull-request check predicts the same: both bases
    (base,) = found["model.baseline"]
    assert base["message"].startswith("baseline: clf@v0.2.1 at ")
    assert base["message"].endswith("; every gate also holds against clf@v0.2.0 (best accuracy so far)")
    assert [o["version"] for o in base["data"]["others"]] == ["v0.2.0"]
    assert [f["data"]["metric"] for f in found["model.metric-regressed"]] == ["accuracy"]


def _release(repo: Path, mlgit: Any, values: dict[str, Any], lr: str) -> None:
    (repo / "metrics.json").write_text(json.dumps(values) + "\n")
    (repo / "params.yaml").write_text(f"train:\n  lr: {lr}\n  depth: 3\n")
    commit_all(repo, f"release at lr {lr}")
    r = mlgit(repo, "promote")
    assert r.code == 0, r.out + r.err


def test_best_is_a_base_for_the_data_checks_and_the_report_too(git_repo: Path, mlgit: Any) -> None:
    assert mlgit(git_repo, "schema", "infer").code == 0  # a data profile, so drift has something to compare
    commit_all(git_repo, "schemas")
    assert mlgit(git_repo, "promote").code == 0
    _release(git_repo, mlgit, {"accuracy": 0.85, "loss": 0.4}, "0.2")
    best = git("rev-parse", "HEAD", cwd=git_repo).strip()
    _release(git_repo, mlgit, {"accuracy": 0.845, "loss": 0.4}, "0.3")
    git("checkout", "-q", "-b", "feature", cwd=git_repo)
    _metrics(git_repo, 0.846, 0.4)
    commit_all(git_repo, "feature")
    # `mlgit check --base best`: the gate and the data both compare with the best release.
    res = mlgit(git_repo, "check", "--base", "best", "--json")
    assert res.code == 0, res.out
    doc = json.loads(res.out)
    (base,) = [f for f in doc["findings"] if f["code"] == "model.baseline"]
    assert base["message"].startswith("baseline: clf@v0.2.0 (best accuracy so far)")
    drift = [f for f in doc["findings"] if f["code"] == "data.drift"]
    assert drift and all(best[:8] in f["message"] for f in drift)
    for command in ("data", "schema"):
        res = mlgit(git_repo, "check", command, "--base", "best", "--json")
        assert res.code == 0, res.out
        assert json.loads(res.out)["base"]["rev"] == best, command
    # `mlgit report --base best`: the metric diff is against that release as well.
    res = mlgit(git_repo, "report", "--base", "best", "--format", "json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert (doc["base"]["tag"], doc["base"]["commit"]) == ("clf@v0.2.0", best)
    rows = {r["key"]: (r["old"], r["new"]) for r in doc["models"][0]["metrics"]}
    assert rows["accuracy"] == (0.85, 0.846)
    assert doc["models"][0]["gate"]["baseline"]["tag"] == "clf@v0.2.0"
    # On the default branch the report's base is the policy's first base: `best` there, too.
    git("checkout", "-q", "main", cwd=git_repo)
    _policy(git_repo, "      base: [best, last-release]\n")
    commit_all(git_repo, "policy: the best release first")
    doc = json.loads(mlgit(git_repo, "report", "--format", "json").out)
    assert doc["base"]["tag"] == "clf@v0.2.0" and doc["base"]["label"] == "clf@v0.2.0 (best accuracy so far)"


def test_slices_hold_against_each_base(git_repo: Path, mlgit: Any) -> None:
    def values(overall: float, a: float) -> dict[str, Any]:
        return {"accuracy": overall, "loss": 0.4, "slices": {"region=a": {"accuracy": a}}}

    _release(git_repo, mlgit, values(0.80, 0.90), "0.1")
    _release(git_repo, mlgit, values(0.85, 0.95), "0.2")  # the best release, for the slice too
    _release(git_repo, mlgit, values(0.845, 0.945), "0.3")
    # Overall within 0.01 of both; the slice 0.008 below the last release (allowed) but 0.013 below the best.
    (git_repo / "metrics.json").write_text(json.dumps(values(0.845, 0.937)) + "\n")
    (git_repo / "params.yaml").write_text("train:\n  lr: 0.4\n  depth: 3\n")
    commit_all(git_repo, "slice a a little worse again")
    r = mlgit(git_repo, "promote", "--json")
    doc = json.loads(r.out)
    assert r.code == 1 and doc["status"] == "rejected"
    failed = [(x["metric"], x["base"], x["baseline"]) for x in doc["results"] if not x["passed"]]
    assert failed == [("accuracy [region=a]", "clf@v0.2.0 (best accuracy so far)", 0.95)]
    passed_vs_last = [x for x in doc["results"] if x["slice"] == "region=a" and x["base"] is None]
    assert [(x["rule"], x["passed"]) for x in passed_vs_last] == [("min", True), ("regression", True)]
    # The pull-request check says the same, naming the base the slice failed against.
    found = _policy_findings(mlgit, git_repo)
    (bad,) = [f for f in found["model.metric-regressed"] if f["data"].get("slice")]
    assert bad["message"].startswith("slice region=a: accuracy: vs clf@v0.2.0 (best accuracy so far): 0.937 vs 0.95")
    assert bad["data"]["base"] == "clf@v0.2.0 (best accuracy so far)"
    # With --base, one base only: the slice holds against the last release.
    assert mlgit(git_repo, "promote", "--base", "last-release", "--dry-run").code == 0


def test_a_pull_request_into_a_release_branch_is_judged_against_that_branch(
    git_repo: Path, mlgit: Any, monkeypatch: Any
) -> None:
    git("checkout", "-q", "-b", "release/1.x", cwd=git_repo)
    _metrics(git_repo, 0.95, 0.2)  # the maintenance line is far better than main (0.8)
    target = commit_all(git_repo, "release line: better model")
    git("checkout", "-q", "-b", "fix", cwd=git_repo)
    _metrics(git_repo, 0.85, 0.2)  # better than main, a clear regression against release/1.x
    commit_all(git_repo, "fix: worse than its target")
    for env in ("GITHUB_BASE_REF", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):
        monkeypatch.setenv(env, "release/1.x")
        res = mlgit(git_repo, "check", "model", "--json")
        assert res.code == 1, res.out
        found = {f["code"]: f for f in json.loads(res.out)["findings"]}
        assert found["model.baseline"]["message"] == f"baseline: release/1.x (merge-base {target[:8]}; no release yet)"
        assert found["model.metric-regressed"]["data"]["baseline"] == 0.95
        doc = json.loads(mlgit(git_repo, "report", "--format", "json").out)
        assert doc["models"][0]["gate"]["baseline"]["commit"] == target
        monkeypatch.delenv(env)
    # Locally, the target is named with --base.
    res = mlgit(git_repo, "check", "model", "--base", "release/1.x", "--json")
    assert res.code == 1 and "model.metric-regressed" in res.out
    # A target the clone does not have is a fetch to do, not a first release where anything passes.
    monkeypatch.setenv("GITHUB_BASE_REF", "release/2.x")
    res = mlgit(git_repo, "check", "model")
    assert res.code == 2 and "the base branch 'release/2.x' is not in this clone" in res.err


def test_best_ranks_by_every_gate_so_a_tie_on_the_first_cannot_hide_drift_on_the_next(
    git_repo: Path, mlgit: Any
) -> None:
    cfg = git_repo / "mlgit.yaml"
    text = cfg.read_text().replace("    policy:\n", "    policy:\n      base: best\n", 1)
    cfg.write_text(
        text.replace("          direction: lower\n", "          direction: lower\n          max_regression_rel: 0.05\n")
    )
    commit_all(git_repo, "policy: against the best release, 5 % on the loss")
    assert mlgit(git_repo, "promote").code == 0  # clf@v0.1.0: accuracy 0.8, loss 0.4
    for step, loss in enumerate((0.41, 0.43), start=1):
        _metrics(git_repo, 0.8, loss)  # the same accuracy, the loss a little worse each time
        (git_repo / "params.yaml").write_text(f"train:\n  lr: 0.{step + 1}\n  depth: 3\n")
        commit_all(git_repo, f"loss {loss}")
        r = mlgit(git_repo, "promote")
    # 0.43 is within 5 % of the 0.41 release, not of the 0.4 one: the best by accuracy, then loss.
    assert r.code == 1, r.out
    assert "Baseline: clf@v0.1.0 (best accuracy so far, tie broken by loss)" in r.out
    assert "REJECTED" in r.out
    assert git("tag", "--list", cwd=git_repo).split() == ["clf@v0.1.0", "clf@v0.1.1"]


def test_a_stage_base_before_any_release_is_a_first_release_not_a_deadlock(git_repo: Path, mlgit: Any) -> None:
    commit_policy(git_repo, "base: stage:prod", "policy: compare with what prod serves")
    r = mlgit(git_repo, "promote")
    assert r.code == 0, r.out + r.err
    assert "Baseline: none (first release; no release yet, so stage 'prod' holds none)" in r.out
    assert git("tag", "--list", cwd=git_repo).split() == ["clf@v0.1.0"]
    # Released but not assigned: the next promotion names the command that unblocks it.
    _metrics(git_repo, 0.82, 0.4)
    commit_all(git_repo, "better")
    r = mlgit(git_repo, "promote")
    assert r.code == 2 and "no version of clf is assigned to stage 'prod'" in r.err
    assert "mlgit assign clf prod" in r.err
    assert mlgit(git_repo, "assign", "clf", "prod").code == 0
    r = mlgit(git_repo, "promote")
    assert r.code == 0 and "Baseline: clf@v0.1.0 (stage prod)" in r.out, r.out


def test_with_several_models_the_data_follows_their_release(git_repo: Path, mlgit: Any) -> None:
    cfg = git_repo / "mlgit.yaml"
    second = "  reg:\n    path: model.pkl\n    metrics: [reg.json]\n    policy:\n      gates:\n        r2: {direction: higher}\n"
    cfg.write_text(cfg.read_text().replace("ci:\n", second + "ci:\n"))
    (git_repo / "reg.json").write_text('{"r2": 0.5}\n')
    assert mlgit(git_repo, "schema", "infer").code == 0
    released = commit_all(git_repo, "two models, schemas")
    assert mlgit(git_repo, "promote").code == 0  # both released on the same commit
    (git_repo / "README").write_text("docs\n")
    commit_all(git_repo, "docs after the release")
    git("checkout", "-q", "-b", "feature", cwd=git_repo)
    _metrics(git_repo, 0.81, 0.4)
    commit_all(git_repo, "feature")
    res = mlgit(git_repo, "check", "data", "--base", "last-release", "--json")
    assert res.code == 0, res.out
    doc = json.loads(res.out)
    assert doc["base"]["rev"] == released
    assert not [f for f in doc["findings"] if f["code"] == "check.base"]
    # Released apart, the models name different versions: the default branch, and the note says whose is what.
    git("checkout", "-q", "main", cwd=git_repo)
    (git_repo / "reg.json").write_text('{"r2": 0.6}\n')
    commit_all(git_repo, "better reg")
    assert mlgit(git_repo, "promote", "reg").code == 0
    git("checkout", "-q", "feature", cwd=git_repo)
    doc = json.loads(mlgit(git_repo, "check", "data", "--base", "last-release", "--json").out)
    (note,) = [f["message"] for f in doc["findings"] if f["code"] == "check.base"]
    assert "clf: clf@v0.1.0" in note and "reg: reg@v0.2.0" in note and "compared with the default branch" in note
