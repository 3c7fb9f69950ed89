from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlgit.errors import MlgitError
from mlgit.system import atomic


def test_writes_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    atomic.write_text(target, "a\r\nb\n")
    assert target.read_bytes() == b"a\r\nb\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_keeps_mode_of_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_text("old")
    target.chmod(0o750)
    atomic.write_text(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o750


def test_new_file_is_readable_like_any_new_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    atomic.write_text(target, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


def test_refuses_to_follow_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    link = tmp_path / "link.txt"
    link.symlink_to(outside)
    with pytest.raises(MlgitError, match="symbolic link"):
        atomic.write_text(link, "overwrite")
    assert outside.read_text() == "keep"
    assert link.is_symlink()
