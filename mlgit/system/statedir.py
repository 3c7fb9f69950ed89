"""Where mlgit keeps its caches and stores: the folder `mlgit/` inside the repository's git directory.

The git directory is `.git` in a plain clone, but a linked worktree or a submodule has a `.git` *file*
(`gitdir: PATH`) pointing elsewhere: every cache finds its folder here, so none of them rebuilds
`root/.git/mlgit` by hand (which silently disabled caching in worktrees).
"""

from __future__ import annotations

from pathlib import Path

NAME = "mlgit"


def git_dir(root: Path) -> Path | None:
    """The git directory of the work tree at `root`, from its `.git` folder or file; None when there is none."""
    marker = root / ".git"
    if marker.is_dir():
        return marker
    try:
        text = marker.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    found = target if target.is_absolute() else (root / target).resolve()
    return found if found.is_dir() else None


def inside(git_dir: Path) -> Path:
    """The mlgit state directory of a git directory."""
    return git_dir / NAME


def path(root: Path) -> Path | None:
    """The mlgit state directory of the work tree at `root`; None outside a repository (then nothing is cached)."""
    found = git_dir(root)
    return None if found is None else inside(found)
