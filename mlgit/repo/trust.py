"""The settings a change under review cannot widen for itself, read from mlgit.yaml on the remote's default branch.

A pull request writes its own mlgit.yaml. Whatever in it decides what mlgit unpickles (`trust_pickle`,
`trusted_types`), what the promotion gate accepts (`policy`: base, gates, first version; `slices`) or which
branch is the base (`ci.default_branch`) would let the change vouch for itself: a branch with a malicious
pickle, `trust_pickle: true` and `policy.base: HEAD` was unpickled because it equals itself (issue 12). So
those settings come from mlgit.yaml as the default branch has it on the remote (see `git.remote_default_branch`);
everything else (paths, golden inputs, data checks) stays the change's own.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import fields, replace
from pathlib import Path

from mlgit.config.settings import CONFIG_NAME, Config, Gate, Model, Policy, TrustSource, from_bytes
from mlgit.errors import MlgitError
from mlgit.repo import git
from mlgit.repo.state import RepoState

# GitLab names the project's default branch itself; the change cannot set it.
_FORGE_DEFAULT_BRANCH = "CI_DEFAULT_BRANCH"
# An event payload is a few KB; a bigger file is not one the runner wrote.
_EVENT_MAX_BYTES = 8 * 1024 * 1024
_FIX = "fetch it: 'git fetch origin' and 'git remote set-head origin --auto' (in CI: check out with fetch-depth: 0)"


def settings(repo: RepoState, cfg: Config) -> Config:
    """`cfg` (the change's mlgit.yaml) with its trust and gate settings taken from the remote's default branch.

    When no default branch or no valid mlgit.yaml on it can be found, nothing is trusted: pickles are not loaded,
    skops loads only its default types, and `cfg.trust.problem` says why and how to fix it.
    """
    if cfg.trust is not None:
        return cfg
    root = repo.root
    found = git.remote_default_branch(root, forge_branches())
    if found is None:
        where = (
            "the forge's variables, the remote's HEAD here or as the remote says"
            if git.remotes(root)
            else "a local main or master branch"
        )
        return _untrusted(cfg, f"this clone has no default branch to read them from ({where}); {_FIX}")
    base = _read(repo, *found)
    if isinstance(base, str):
        return _untrusted(cfg, base)
    label, commit = found
    # The default branch's own mlgit.yaml may name another branch as the default (ci.default_branch): follow it
    # once; the change's ci.default_branch never counts.
    named = base.ci.default_branch
    if named is not None and label.partition("/")[2] not in ("", named):
        moved = git.remote_default_branch(root, [named])
        if moved is not None and moved[0].partition("/")[2] == named:
            base = _read(repo, *moved)
            if isinstance(base, str):
                return _untrusted(cfg, base)
            label, commit = moved
    return _merged(cfg, base, label, commit)


def forge_branches() -> list[str]:
    """The default branch as the CI platform names it, in order of precedence; none outside CI.

    GitHub: the pull request's base branch (`GITHUB_BASE_REF`, set on pull_request events), then the event
    payload's `repository.default_branch`; GitLab: `CI_DEFAULT_BRANCH`. The runner sets these, not the change.
    """
    out = []
    if os.environ.get("GITHUB_EVENT_NAME", "").startswith("pull_request"):
        out.append(os.environ.get("GITHUB_BASE_REF", ""))
    out.append(_event_default_branch(os.environ.get("GITHUB_EVENT_PATH")))
    out.append(os.environ.get(_FORGE_DEFAULT_BRANCH, ""))
    return [b for b in out if b]


def _event_default_branch(path: str | None) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_EVENT_MAX_BYTES + 1)
        event = json.loads(raw) if len(raw) <= _EVENT_MAX_BYTES else None
    except (OSError, ValueError, RecursionError):
        return ""
    repo = event.get("repository") if isinstance(event, dict) else None
    branch = repo.get("default_branch") if isinstance(repo, dict) else None
    return branch if isinstance(branch, str) else ""


def _read(repo: RepoState, label: str, commit: str) -> Config | str:
    """mlgit.yaml at `commit`, or why nothing in it can be trusted."""
    raw = repo.blobs(commit, [CONFIG_NAME])[CONFIG_NAME]
    if raw is None:
        return f"{label} has no {CONFIG_NAME} yet; they are trusted once it is merged there"
    try:
        return from_bytes(repo.root, raw)
    except MlgitError as exc:
        return f"{CONFIG_NAME} on {label} is invalid ({exc.reason}); fix it on {label}"


def vouches(root: Path, cfg: Config, model: Model, commit: str) -> bool:
    """Whether a release (or stage) tag on `commit` may vouch for the bytes it records: only when `commit` is on
    the default branch `cfg.trust` was read from, or on a branch the default branch's `policy.release_branches`
    allows (with a remote: its branches, not local ones). A change can tag its own commit (a tag fetched with a fork's branch, or made by hand): such a tag
    vouches for nothing (issue 12). `cfg` and `model` are `settings`' result, never the change's own."""
    source = cfg.trust
    if source is None or source.commit is None:
        return False
    if git.is_ancestor(root, commit, source.commit):
        return True
    # With a remote, only its branches count: a change can create a local `release/x` in its own job (issue 12).
    # Without one (a laptop), the local branches are the repository.
    branches = git.branches_containing(root, commit, remote_only=bool(git.remotes(root)))
    return any(fnmatch.fnmatchcase(b, p) for b in branches for p in model.policy.release_branches)


def _untrusted(cfg: Config, problem: str) -> Config:
    models = tuple(replace(m, trust_pickle=False, trusted_types=()) for m in cfg.models)
    ignored = tuple((m.name, key) for m in cfg.models for key in _widening(m))
    return replace(cfg, models=models, trust=TrustSource(None, None, problem, ignored))


def _widening(model: Model) -> list[str]:
    return [key for key, on in (("trust_pickle", model.trust_pickle), ("trusted_types", model.trusted_types)) if on]


def _merged(change: Config, base: Config, label: str, commit: str) -> Config:
    on_base = {m.name: m for m in base.models}
    models: list[Model] = []
    ignored: list[tuple[str, str]] = []
    proposed: list[Model] = []
    for m in change.models:
        b = on_base.get(m.name)
        if b is None:
            # A model the default branch does not declare yet: nothing vouches for its files; its gate is new.
            ignored += [(m.name, key) for key in _widening(m)]
            models.append(replace(m, trust_pickle=False, trusted_types=()))
            continue
        ignored += [(m.name, key) for key in differences(m, b)]
        if (m.policy, m.slices) != (b.policy, b.slices):
            proposed.append(m)
        models.append(
            replace(m, trust_pickle=b.trust_pickle, trusted_types=b.trusted_types, policy=b.policy, slices=b.slices)
        )
    ci = change.ci
    if ci.default_branch != base.ci.default_branch:
        ignored.append(("ci", "default_branch"))
        ci = replace(ci, default_branch=base.ci.default_branch)
    return replace(
        change, models=tuple(models), ci=ci, trust=TrustSource(label, commit, None, tuple(ignored), tuple(proposed))
    )


def differences(change: Model, base: Model) -> list[str]:
    """The trust and gate settings (as key paths) that `change` sets differently from `base`."""
    out = [key for key in ("trust_pickle", "trusted_types", "slices") if getattr(change, key) != getattr(base, key)]
    return out + _policy_differences(change.policy, base.policy)


def _policy_differences(change: Policy, base: Policy) -> list[str]:
    # mlgit.yaml key -> Policy field (`base` may be a list, every entry of which counts).
    keys = {"base": "bases", "first_version": "first_version", "allow_stale": "allow_stale"}
    keys["release_branches"] = "release_branches"
    out = [f"policy.{key}" for key, attr in keys.items() if getattr(change, attr) != getattr(base, attr)]
    mine = {g.metric: g for g in change.gates}
    theirs = {g.metric: g for g in base.gates}
    for metric in dict.fromkeys([*theirs, *mine]):
        if metric not in mine:
            out.append(f"policy.gates.{metric} (removed)")
        elif metric not in theirs:
            out.append(f"policy.gates.{metric} (added)")
        else:
            out += [
                f"policy.gates.{metric}.{f.name}"
                for f in fields(Gate)
                if getattr(mine[metric], f.name) != getattr(theirs[metric], f.name)
            ]
    return out
