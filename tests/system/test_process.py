"""The subprocess door: what it keeps of the caller's git environment."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlgit.system import process


def _repo(tmp_path: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    return tmp_path


def test_config_passed_by_environment_reaches_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CI credential setups pass config this way (git's GIT_CONFIG_COUNT/KEY_n/VALUE_n): it must survive the door.
    monkeypatch.setenv("GIT_CONFIG_COUNT", "2")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "mlgit.probe")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "seen")
    monkeypatch.setenv("GIT_CONFIG_KEY_1", "mlgit.second")
    monkeypatch.setenv("GIT_CONFIG_VALUE_1", "also")
    repo = _repo(tmp_path)
    out = process.run(["git", "config", "--get-regexp", "^mlgit\\."], cwd=repo).out
    assert out.splitlines() == ["mlgit.probe seen", "mlgit.second also"]


def test_a_leaked_git_dir_does_not_redirect_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = _repo(tmp_path / "other")
    repo = _repo(tmp_path / "repo")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    out = process.run(["git", "rev-parse", "--absolute-git-dir"], cwd=repo).out.strip()
    assert Path(out) == (repo / ".git").resolve()
