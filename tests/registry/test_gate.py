"""The gate over a real history: what a change is compared with, and which baselines hold it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import commit_all, git


def _metrics(repo: Path, accuracy: float, loss: float) -> None:
    (repo / "metrics.json").write_text(json.dumps({"accuracy": accuracy, "loss": loss}) + "\n")


def _policy_findings(mlgit: Any, repo: Path) -> dict[str, list[dict[str, Any]]]:
    res = mlgit(repo, "check", "model", "--json")
    assert res.code in (0, 1), res.err
    found: dict[str, list[dict[str, Any]]] = {}
    for f in json.loads(res.out)["findings"]:
        found.setdefault(f["code"], []).append(f)
    return found


def test_a_pull_request_before_any_release_is_judged_against_its_merge_base(small_repo: Path, mlgit: Any) -> None:
    main = git("rev-parse", "HEAD", cwd=small_repo).strip()
    git("checkout", "-q", "-b", "feature", cwd=small_repo)
    _metrics(small_repo, 0.6, 0.9)  # within the absolute bounds, far worse than the base branch
    commit_all(small_repo, "worse model")
    found = _policy_findings(mlgit, small_repo)
    (base,) = found["model.baseline"]
    assert base["message"] == f"baseline: main (merge-base {main[:8]}; no release yet)"
    assert base["data"]["commit"] == main and base["data"]["kind"] == "branch"
    regressed = {f["data"]["metric"]: f["data"]["baseline"] for f in found["model.metric-regressed"]}
    assert regressed == {"accuracy": 0.8, "loss": 0.4}


def test_first_release_semantics_only_on_the_default_branch(small_repo: Path, mlgit: Any) -> None:
    _metrics(small_repo, 0.6, 0.9)
    commit_all(small_repo, "worse, but on main")
    found = _policy_findings(mlgit, small_repo)
    assert found["model.baseline"][0]["message"].startswith("baseline: none (no release yet)")
    assert "model.metric-regressed" not in found
    r = mlgit(small_repo, "promote", "--json")
    assert r.code == 0 and json.loads(r.out)["first_release"] is True
