"""`mlgit retrain` on a real released repository with a bare git remote, a DVC remote and a fake GitHub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from testing import fakegithub
from testing.oip import MODEL
from testing.repos import commit_all, dvc, git, set_param

BRANCH = f"mlgit/retrain/{MODEL}"


@pytest.fixture
def remote_repo(monitored: Path, tmp_path: Path) -> Path:
    """The monitored repository with `origin` (a bare repository) and a default DVC remote."""
    bare = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(bare), cwd=tmp_path)
    git("remote", "add", "origin", str(bare), cwd=monitored)
    dvc("remote", "add", "-d", "local", str(tmp_path / "dvc-remote"), cwd=monitored)
    commit_all(monitored, "DVC remote")
    git("push", "-q", "origin", "main", "--tags", cwd=monitored)
    git("remote", "set-head", "origin", "main", cwd=monitored)
    return monitored


def _retrain(mlgit: Any, repo: Path, *args: str) -> dict[str, Any]:
    res = mlgit(repo, "retrain", *args, "--json")
    doc = dict(json.loads(res.out))
    # A retrained model whose checks fail exits 1 (its pull request is still opened, as a draft).
    failed = doc["outcome"] is not None and not doc["outcome"]["checks_passed"]
    assert res.code == (1 if failed else 0), res.err
    return doc


def _state(repo: Path) -> tuple[str, str, str]:
    """What the user has: HEAD, the work tree's status, the worktree list."""
    return git("rev-parse", "HEAD", cwd=repo), git("status", "--porcelain", cwd=repo), git("worktree", "list", cwd=repo)


def test_new_data_since_the_release_decides_and_dry_run_changes_nothing(monitored: Path, mlgit: Any) -> None:
    doc = _retrain(mlgit, monitored, "--trigger", "new-data", "--dry-run")
    assert not doc["plan"]["run"]
    assert doc["plan"]["reasons"] == [f"no dataset of {MODEL} changed since {MODEL}@v0.1.0"]
    set_param(monitored, "test_size", "0.3")
    dvc("repro", "-q", cwd=monitored)
    commit_all(monitored, "another split")
    before = _state(monitored)
    doc = _retrain(mlgit, monitored, "--trigger", "new-data", "--dry-run")
    assert doc["plan"]["run"] and "data/prepared/train.csv" in doc["plan"]["data_paths"]
    assert any(r.startswith("data/prepared/train.csv: DVC hash") for r in doc["plan"]["reasons"])
    assert "dvc repro" in doc["steps"] and doc["outcome"] is None
    assert _state(monitored) == before and git("branch", "--list", BRANCH, cwd=monitored) == ""
    human = mlgit(monitored, "retrain", "--trigger", "new-data", "--dry-run")
    assert human.code == 0 and "--dry-run: nothing was changed" in human.out and "dvc repro" in human.out


def test_repeated_retrains_keep_one_pull_request_and_never_loop(
    remote_repo: Path, mlgit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = remote_repo
    with fakegithub.serve("acme/cancer") as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/cancer")
        monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
        outcomes = []
        for seed in ("11", "12"):
            set_param(repo, "seed", seed)  # params changed on main without `dvc repro`: the retrain runs it
            commit_all(repo, f"split seed {seed}")
            before = _state(repo)
            doc = _retrain(mlgit, repo, "--pr")
            assert _state(repo) == before  # the user's work tree, HEAD and worktrees as they were
            outcomes.append(doc["outcome"])
        assert [o["pull"] for o in outcomes] == ["created", "updated"]
        assert {o["pull_number"] for o in outcomes} == {1} and len(fake.opened) == 1
        pr = fake.opened[1]
        assert pr["head"]["ref"] == BRANCH and pr["base"]["ref"] == "main"
        assert pr["draft"] == (not outcomes[0]["checks_passed"])
        assert "Mlgit-Retrain" not in pr["body"] and pr["body"].strip()  # the report, not the commit message
        writes = [m for m, p in fake.writes() if "/pulls" in p]
        assert writes == ["POST", "PATCH"]
        assert all(auth == "Bearer t0ken" for _, _, auth in fake.requests)
    tip = git("rev-parse", f"refs/heads/{BRANCH}", cwd=repo).strip()
    assert git("ls-remote", "origin", f"refs/heads/{BRANCH}", cwd=repo).split()[0] == tip == outcomes[1]["commit"]
    message = git("log", "-1", "--format=%B", tip, cwd=repo)
    assert message.rstrip().endswith("Mlgit-Retrain: manual")
    assert git("show", f"{tip}:params.yaml", cwd=repo).count("seed: 12") == 1
    assert git("diff", "--name-only", f"{tip}~1", tip, cwd=repo)  # dvc.lock and the outputs' records changed
    # Merging the retrain branch: its commit carries the trailer, so no trigger retrains again.
    git("merge", "-q", "--ff-only", BRANCH, cwd=repo)
    for trigger in ("new-data", "schedule", "drift"):
        doc = _retrain(mlgit, repo, "--trigger", trigger)
        assert not doc["plan"]["run"] and "never triggers another retrain" in doc["plan"]["reasons"][0]
        assert doc["outcome"] is None


def test_nothing_changed_means_no_commit_and_no_push(remote_repo: Path, mlgit: Any) -> None:
    doc = _retrain(mlgit, remote_repo, "--trigger", "schedule")
    assert doc["plan"]["run"] and doc["outcome"]["changed"] is False and doc["outcome"]["commit"] is None
    assert "dvc repro changed nothing" in doc["outcome"]["notes"][0]
    assert git("ls-remote", "origin", f"refs/heads/{BRANCH}", cwd=remote_repo) == ""


def test_drift_trigger_follows_the_latest_window(monitored: Path, mlgit: Any) -> None:
    doc = _retrain(mlgit, monitored, "--trigger", "drift", "--dry-run")
    assert not doc["plan"]["run"] and "run 'mlgit monitor' first" in doc["plan"]["reasons"][0]
