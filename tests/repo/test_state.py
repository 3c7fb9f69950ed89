from __future__ import annotations

from pathlib import Path

from mlgit.registry import tags as registry
from mlgit.repo.state import RepoState
from mlgit.system import process
from testing.repos import commit_all, git


def _repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "a.txt").write_text("one\n")
    (repo / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  train:\n    cmd: 'true'\n    outs:\n    - path: m.pkl\n      md5: abc\n"
    )
    return repo, commit_all(repo, "first")


def _git_reads(commands: list[tuple[str, ...]], verb: str) -> int:
    return sum(1 for c in commands if c[:2] == ("git", verb))


def test_scalar_facts(tmp_path: Path) -> None:
    repo, head = _repo(tmp_path)
    (repo / "a.txt").write_text("two\n")
    state = RepoState.open(repo / ".", "trunk")
    assert (state.root, state.head, state.dirty, state.default_branch) == (repo, head, ("a.txt",), "trunk")
    assert state.git_dir == repo / ".git"


def test_blobs_and_dvc_hashes_are_read_once_per_revision(tmp_path: Path) -> None:
    repo, head = _repo(tmp_path)
    state = RepoState(repo)
    with process.recording() as commands:
        assert state.blobs(head, ["a.txt", "missing"]) == {"a.txt": b"one\n", "missing": None}
        assert state.blobs(head, ["a.txt"]) == {"a.txt": b"one\n"}
        assert state.dvc_hashes(head) == {"m.pkl": "abc"}
        assert state.dvc_hashes(head) == {"m.pkl": "abc"}
    assert _git_reads(commands, "cat-file") == 2  # the two files, then dvc.lock: never a path twice
    assert _git_reads(commands, "ls-tree") == 1


def test_registry_events_parse_one_tag_read_until_tags_change(tmp_path: Path) -> None:
    repo, head = _repo(tmp_path)
    git("tag", "-a", "-m", "r", "clf@v0.1.0", head, cwd=repo)
    git("tag", "-a", "-m", "r", "other@v1.0.0", head, cwd=repo)
    state = RepoState(repo)
    with process.recording() as commands:
        assert [e.tag for e in registry.events(state, "clf")] == ["clf@v0.1.0"]
        assert [e.tag for e in registry.scan(state).events] == ["clf@v0.1.0", "other@v1.0.0"]
        assert registry.taken_versions(state, "clf") == {registry.Version(0, 1, 0)}
    assert _git_reads(commands, "for-each-ref") == 1
    git("tag", "-a", "-m", "r", "clf@v0.2.0", head, cwd=repo)
    assert [e.tag for e in registry.events(state, "clf")] == ["clf@v0.1.0"]  # a value: the command's own view
    state.tags_changed()
    assert [e.tag for e in registry.events(state, "clf")] == ["clf@v0.1.0", "clf@v0.2.0"]


def test_with_branch_repoints_the_default_branch_and_shares_every_read(tmp_path: Path) -> None:
    repo, head = _repo(tmp_path)
    git("tag", "-a", "-m", "r", "clf@v0.1.0", head, cwd=repo)
    state = RepoState(repo, "feature")
    with process.recording() as commands:
        assert state.head == head and state.blobs(head, ["a.txt"]) == {"a.txt": b"one\n"}
        assert [e.tag for e in registry.events(state, "clf")] == ["clf@v0.1.0"]
        trusted = state.with_branch("trunk")
        assert (trusted.default_branch, state.default_branch) == ("trunk", "feature")
        assert trusted.head == head and trusted.blobs(head, ["a.txt"]) == {"a.txt": b"one\n"}
        assert [e.tag for e in registry.events(trusted, "clf")] == ["clf@v0.1.0"]
        assert trusted.dvc_hashes(head) == state.dvc_hashes(head)
    assert _git_reads(commands, "rev-parse") == 1 and _git_reads(commands, "for-each-ref") == 1
    assert _git_reads(commands, "cat-file") == 2  # a.txt once, dvc.lock once
    assert state.with_branch("feature") is state
