"""The one baseline resolver, on a real git repository with registry tags (no DVC needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgit.errors import MlgitError
from mlgit.registry import baseline
from mlgit.repo.state import RepoState
from testing.repos import commit_all, git


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    root = tmp_path / "repo"
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    (root / "f").write_text("1")
    first = commit_all(root, "one")
    git("tag", "-a", "-m", "r", "clf@v0.1.0", first, cwd=root)
    git("tag", "-a", "-m", "a", "clf#prod#1", first, cwd=root)
    git("checkout", "-q", "-b", "feature", cwd=root)
    (root / "f").write_text("2")
    second = commit_all(root, "two")
    return root, first, second


def test_every_spec_form(repo: tuple[Path, str, str]) -> None:
    root, first, second = repo
    state = RepoState(root)
    main = baseline.resolve(state, "main")
    assert (main.kind, main.commit, main.label) == ("branch", first, f"main (merge-base {first[:8]})")
    last = baseline.resolve(state, "last-release", "clf")
    assert (last.kind, last.commit, last.tag) == ("release", first, "clf@v0.1.0")
    prod = baseline.resolve(state, "stage:prod", "clf")
    assert (prod.kind, prod.commit, prod.label) == ("stage", first, "clf@v0.1.0 (stage prod)")
    rev = baseline.resolve(state, "HEAD")
    assert (rev.kind, rev.commit) == ("rev", second)
    assert baseline.resolve(state, "last-release", "other") == baseline.Baseline("none", "no release yet", None)
    with pytest.raises(MlgitError, match="unknown revision 'last-release'"):
        baseline.resolve(state, "last-release")  # without a model, a model form is just a revision name


def test_default_of_a_change(repo: tuple[Path, str, str]) -> None:
    root, first, _second = repo
    on_branch = baseline.for_change(RepoState(root), "clf", "last-release", None)
    assert (on_branch.kind, on_branch.commit) == ("branch", first)
    git("checkout", "-q", "main", cwd=root)
    on_main = baseline.for_change(RepoState(root), "clf", "last-release", None)
    assert (on_main.kind, on_main.tag) == ("release", "clf@v0.1.0")
    assert baseline.or_reason(RepoState(root, "gone"), None)[0] is None
    assert "gone" in (baseline.or_reason(RepoState(root, "gone"), None)[1] or "")


def test_a_bad_policy_base_names_its_key(git_repo: Path, mlgit) -> None:
    cfg = git_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("    policy:\n", "    policy:\n      base: no-such-rev\n", 1))
    commit_all(git_repo, "a base that does not exist")
    for args in (("promote", "--dry-run"), ("check", "model"), ("report", "--format", "json")):
        r = mlgit(git_repo, *args)
        assert r.code == 2, (args, r.err)
        assert "error: mlgit.yaml: models.clf.policy.base: unknown revision 'no-such-rev'" in r.err, args
        assert "Traceback" not in r.err


def test_a_misspelt_base_suggests_the_keyword_it_was_meant_to_be(git_repo: Path, mlgit) -> None:
    for typo, meant in (("last-relase", "last-release"), ("bset", "best"), ("stage-prod", "stage:prod")):
        r = mlgit(git_repo, "promote", "--dry-run", "--base", typo)
        assert r.code == 2 and f"unknown revision '{typo}'" in r.err, (typo, r.err)
        assert f"did you mean '{meant}'?" in r.err, (typo, r.err)
    cfg = git_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("    policy:\n", "    policy:\n      base: last-relase\n", 1))
    commit_all(git_repo, "a misspelt base")
    r = mlgit(git_repo, "check", "model")
    assert r.code == 2 and "mlgit.yaml: models.clf.policy.base: unknown revision 'last-relase'" in r.err, r.err
    assert "did you mean 'last-release'?" in r.err and "Traceback" not in r.err


def test_a_default_branch_missing_from_the_clone_names_its_key(git_repo: Path, mlgit) -> None:
    cfg = git_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("  default_branch: main\n", "  default_branch: nope\n"))
    commit_all(git_repo, "a default branch that does not exist")
    git("checkout", "-q", "-b", "feature", cwd=git_repo)
    for args in (("metrics", "diff"), ("report", "--format", "json")):
        r = mlgit(git_repo, *args)
        assert r.code == 2, (args, r.err)
        assert "error: mlgit.yaml: ci.default_branch: the base branch 'nope' is not in this clone" in r.err, args
