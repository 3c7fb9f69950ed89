"""One resolver for "compared with what?": shared by metrics diff, promote and later checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlgit import git
from mlgit.errors import MlgitError

if TYPE_CHECKING:
    from mlgit.registry import Event
    from mlgit.semver import Version

_FETCH_HINT = (
    "fetch it first, e.g. 'git fetch origin {branch}:refs/remotes/origin/{branch}'"
    " (in GitHub Actions: actions/checkout with fetch-depth: 0)"
)


@dataclass(frozen=True)
class Baseline:
    """The revision a candidate is compared with; `commit` None means there is none (first release)."""

    kind: str  # release | branch | rev | none
    label: str
    commit: str | None
    version: Version | None = None
    tag: str | None = None


def merge_base_with_default(root: Path, default_branch: str | None) -> Baseline:
    """The merge-base of HEAD with the default branch."""
    branch = git.default_branch(root, default_branch)
    # The common case costs one git call; the diagnosis below runs only when it fails.
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        base = git.merge_base(root, "HEAD", ref)
        if base is not None:
            return Baseline("branch", f"{branch} (merge-base {base[:8]})", base)
    if git.branch_ref(root, branch) is None:
        raise MlgitError(f"the base branch '{branch}' is not in this clone", hint=_FETCH_HINT.format(branch=branch))
    if git.head(root) is None:
        raise MlgitError("the repository has no commits yet", hint="commit your work first")
    if git.is_shallow(root):
        raise MlgitError(
            f"this shallow clone does not reach the merge-base of HEAD and '{branch}'",
            hint="run 'git fetch --unshallow' (in GitHub Actions: actions/checkout with fetch-depth: 0)",
        )
    raise MlgitError(f"HEAD and '{branch}' have no common history", hint="pass --base REV explicitly")


def revision(root: Path, rev: str) -> Baseline:
    """An explicit revision (branch, tag, SHA)."""
    commit = git.resolve(root, rev)
    if commit is None:
        hint = "check the name, or fetch it: 'git fetch origin REV'"
        if git.is_shallow(root):
            hint = "this is a shallow clone: 'git fetch --unshallow', or fetch that revision"
        raise MlgitError(f"unknown revision '{rev}'", hint=hint)
    return Baseline("rev", f"{rev} ({commit[:8]})" if not commit.startswith(rev) else commit[:8], commit)


def for_model(root: Path, model: str, spec: str, default_branch: str | None, evts: list[Event]) -> Baseline:
    """Resolve `last-release`, `main` (the default branch's merge-base) or any REV for a model."""
    if spec == "last-release":
        from mlgit.registry import releases

        active = releases(evts)
        if not active:
            return Baseline("none", "no release yet", None)
        last = active[-1]
        return Baseline("release", last.tag, last.commit, last.version, last.tag)
    if spec == "main":
        return merge_base_with_default(root, default_branch)
    return revision(root, spec)
