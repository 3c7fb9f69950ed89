"""mlgit's state directory is inside the git directory, also where `.git` is a file (worktrees, submodules)."""

from __future__ import annotations

import json
from pathlib import Path

from mlgit.repo.state import RepoState
from mlgit.system import statedir
from testing.datarepo import csv_text, make_repo, rows
from testing.repos import commit_all, git


def test_a_git_file_points_at_the_git_directory(tmp_path: Path) -> None:
    real = tmp_path / "modules" / "sub"
    real.mkdir(parents=True)
    work = tmp_path / "work"
    work.mkdir()
    assert statedir.path(work) is None  # not a repository: nothing is cached
    (work / ".git").write_text("gitdir: ../modules/sub\n")  # how a submodule's checkout points at its git dir
    assert statedir.path(work) == real.resolve() / "mlgit"
    (work / ".git").write_text("not a pointer\n")
    assert statedir.path(work) is None


def test_caches_work_in_a_git_worktree(tmp_path: Path, mlgit) -> None:
    main = make_repo(tmp_path, {"data/t.csv": csv_text(rows())})
    assert mlgit(main, "schema", "infer").code == 0
    commit_all(main, "schema")
    wt = tmp_path / "wt"
    git("worktree", "add", "-q", "-b", "feature", str(wt), cwd=main)
    assert (wt / ".git").is_file()
    gitdir = Path(git("rev-parse", "--absolute-git-dir", cwd=wt).strip())
    state = RepoState(wt)
    assert state.git_dir == gitdir and state.state_dir == gitdir / "mlgit"
    first = json.loads(mlgit(wt, "check", "data", "--json").out)
    second = json.loads(mlgit(wt, "check", "data", "--json").out)
    # The worktree has its own git directory: its first check reads the data, the next is served from the cache.
    assert [d["cached"] for d in (*first["datasets"], *second["datasets"])] == [False, True]
    assert list((gitdir / "mlgit" / "checks").glob("*.json"))
    assert list((gitdir / "mlgit").glob("config-*.json"))  # the validated mlgit.yaml, cached by content
    assert not (wt / ".git").is_dir()
