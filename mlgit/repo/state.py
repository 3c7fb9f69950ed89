"""The repository as one command sees it: made once, passed down, each git read done at most once.

Commands build one `RepoState` and hand it to the checks, the registry and the report instead of a bare root:
the tags (one `git for-each-ref`), blobs at a revision (one `git cat-file --batch` per request) and DVC hashes
per revision are memoised inside it. Higher layers cache what they derive from those reads with `derive`
(the registry parses its events once per command that way).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

from mlgit.repo import git
from mlgit.system import statedir

T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class RepoState:
    """Root, git dir, HEAD, dirty paths and default branch, with memoised per-revision reads.

    The scalar facts are read on first use (a command that never needs the dirty paths pays no `git status`).
    Only mlgit's own tag writes change what it memoises; they call `tags_changed`.
    """

    root: Path
    configured_branch: str | None = None
    # The branch a pull/merge request goes into (`target_branch(env)`); None: the default branch. A PR into
    # `release/1.x` is judged against that branch, not against the default one.
    target_branch: str | None = None
    _reads: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    _tag_derived: dict[Hashable, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def open(cls, cwd: Path, configured_branch: str | None = None) -> RepoState:
        """The state of the work tree containing `cwd`."""
        return cls(git.toplevel(cwd), configured_branch)

    # The facts below sit in `_reads` rather than in cached properties so that `with_branch` copies share them.
    @property
    def git_dir(self) -> Path:
        """The repository's git directory."""
        return self.remember("git-dir", lambda: git.git_dir(self.root))

    @property
    def state_dir(self) -> Path:
        """mlgit's own folder in the git directory (caches, stores), also in a worktree or submodule."""
        return self.remember("state-dir", lambda: statedir.inside(self.git_dir))

    @property
    def head(self) -> str | None:
        """The HEAD commit, or None before the first commit."""
        return self.remember("head", lambda: git.head(self.root))

    @property
    def dirty(self) -> tuple[str, ...]:
        """Tracked files with uncommitted changes."""
        return self.remember("dirty", lambda: tuple(git.dirty_paths(self.root)))

    @cached_property
    def default_branch(self) -> str:
        """The default branch: configured, else origin's HEAD, else main/master."""
        return git.default_branch(self.root, self.configured_branch)

    def with_branch(self, configured_branch: str | None) -> RepoState:
        """This state with another configured default branch (the trusted mlgit.yaml's `ci.default_branch`).

        The copy shares every read and derived value, made so far or later, with this one: none of them depends
        on which branch is the default.
        """
        if configured_branch == self.configured_branch:
            return self
        return RepoState(self.root, configured_branch, self.target_branch, self._reads, self._tag_derived)

    @property
    def change_target(self) -> str:
        """The branch this change is judged against: the pull request's target, else the default branch."""
        return self.target_branch or self.default_branch

    def tag_records(self) -> tuple[git.TagRecord, ...]:
        """Every tag with its message, from one `git for-each-ref` per command (until `tags_changed`)."""
        if "tags" not in self._tag_derived:
            self._tag_derived["tags"] = tuple(git.tags(self.root))
        return cast("tuple[git.TagRecord, ...]", self._tag_derived["tags"])

    def derive(self, key: Hashable, make: Callable[[], T]) -> T:
        """A value computed from the tags once, e.g. the registry's events; dropped by `tags_changed`."""
        if key not in self._tag_derived:
            self._tag_derived[key] = make()
        return cast("T", self._tag_derived[key])

    def remember(self, key: Hashable, make: Callable[[], T]) -> T:
        """A value read from the repository (parsed metrics of a revision, say), made once per command."""
        if key not in self._reads:
            self._reads[key] = make()
        return cast("T", self._reads[key])

    def tags_changed(self) -> None:
        """Forget the tags and all derived from them: this process created, deleted or fetched tags."""
        self._tag_derived.clear()

    def blobs(self, rev: str, paths: Iterable[str]) -> dict[str, bytes | None]:
        """File contents at a commit (None where absent); each (rev, path) read once, the misses in one batch."""
        wanted = list(dict.fromkeys(paths))
        missing = [p for p in wanted if ("blob", rev, p) not in self._reads]
        for path, data in git.show_files(self.root, rev, missing).items():
            self._reads["blob", rev, path] = data
        return {p: self._reads["blob", rev, p] for p in wanted}

    def dvc_hashes(self, rev: str | None) -> dict[str, str]:
        """path -> DVC md5 recorded in dvc.lock and .dvc files at `rev` (None: the work tree), read once."""
        key = ("dvc-hashes", rev)
        if key not in self._reads:
            from mlgit.repo import dvc  # only commands that read DVC files pay for the parser

            self._reads[key] = dvc.hashes_at(self.root, rev)
        return cast("dict[str, str]", self._reads[key])


def target_branch(env: Mapping[str, str]) -> str | None:
    """The branch a pull/merge request targets, when running for one (GitHub, then GitLab)."""
    return env.get("GITHUB_BASE_REF") or env.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME") or None
