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
