"""One resolver for "compared with what?": shared by metrics diff, promote and later checks."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlgit.config.settings import CONFIG_NAME
from mlgit.errors import InputError, MissingRevision, MlgitError
from mlgit.repo import git
from mlgit.results import serialize
from mlgit.results.status import Status

if TYPE_CHECKING:
    from mlgit.config.settings import Model
    from mlgit.registry.semver import Version
    from mlgit.registry.tags import Event
    from mlgit.repo.state import RepoState

_FETCH_HINT = (
    "fetch it first, e.g. 'git fetch origin {branch}:refs/remotes/origin/{branch}'"
    " (in GitHub Actions: actions/checkout with fetch-depth: 0)"
)


class BaselineKind(Status):
    """What a side of a comparison is; `WORKTREE` is the report's head side, never a resolved baseline."""

    RELEASE = "release"
    STAGE = "stage"
    BRANCH = "branch"
    REV = "rev"
    NONE = "none"
    WORKTREE = "worktree"


@dataclass(frozen=True)
class Baseline:
    """The revision a candidate is compared with; `commit` None means there is none (first release)."""

    kind: BaselineKind
    label: str
    commit: str | None
    version: Version | None = field(default=None, metadata=serialize.TEXT)
    tag: str | None = field(default=None, metadata=serialize.OMIT)  # lineage and --json name the version only


@contextmanager
def setting(key: str | None) -> Iterator[None]:
    """A base taken from mlgit.yaml that cannot be resolved names its key (`models.NAME.policy.base`, ...)."""
    try:
        yield
    except MlgitError as exc:
        if key is None or exc.key is not None or type(exc) not in (MlgitError, InputError, MissingRevision):
            raise
        raise type(exc)(exc.reason, hint=exc.hint, file=CONFIG_NAME, key=key) from None


def merge_base_with_default(repo: RepoState, branch: str | None = None, *, key: str | None = None) -> Baseline:
    """The merge-base of HEAD with `branch`, by default the repository's default branch (`key`: the mlgit.yaml
    key the branch came from)."""
    root = repo.root
    branch = branch or repo.default_branch
    # The common case costs one git call; the diagnosis below runs only when it fails.
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        base = git.merge_base(root, "HEAD", ref)
        if base is not None:
            return Baseline(BaselineKind.BRANCH, f"{branch} (merge-base {base[:8]})", base)
    if git.branch_ref(root, branch) is None:
        with setting(key):
            raise MissingRevision(
                f"the base branch '{branch}' is not in this clone", hint=_FETCH_HINT.format(branch=branch)
            )
    if repo.head is None:
        raise MlgitError("the repository has no commits yet", hint="commit your work first")
    if git.is_shallow(root):
        raise MissingRevision(
            f"this shallow clone does not reach the merge-base of HEAD and '{branch}'",
            hint="run 'git fetch --unshallow' (in GitHub Actions: actions/checkout with fetch-depth: 0)",
        )
    raise MlgitError(f"HEAD and '{branch}' have no common history", hint="pass --base REV explicitly")


def revision(root: Path, rev: str) -> Baseline:
    """An explicit revision (branch, tag, SHA)."""
    commit = git.resolve(root, rev)
    if commit is None:
        hint = "check the name, or fetch it: 'git fetch origin REV'"
        meant = _meant(rev)
        if meant is not None:
            hint = f"did you mean '{meant}'? (or, if '{rev}' is a git revision, fetch it: 'git fetch origin {rev}')"
        elif git.is_shallow(root):
            hint = "this is a shallow clone: 'git fetch --unshallow', or fetch that revision"
        raise MissingRevision(f"unknown revision '{rev}'", hint=hint)
    return Baseline(BaselineKind.REV, f"{rev} ({commit[:8]})" if not commit.startswith(rev) else commit[:8], commit)


def _meant(rev: str) -> str | None:
    """The baseline keyword an unknown revision was most likely meant to be (`last-relase`, `stage-prod`)."""
    import difflib

    for sep in ("-", "=", "/", "_"):
        if rev.startswith(f"stage{sep}") and len(rev) > 6:
            return f"stage:{rev[6:]}"
    close = difflib.get_close_matches(rev, ["last-release", "best", "main"], n=1, cutoff=0.75)
    return close[0] if close else None


def stage(root: Path, model: str, name: str, evts: list[Event], *, configured: bool = False) -> Baseline:
    """The version a stage holds now (`stage:prod`), as `gto show` reads it.

    `configured`: the spec is the model's `policy.base`. Before the model's first release no stage can hold a
    version, and none can be assigned until one is released: refusing would leave nothing ever releasable, so
    that is a first release (said in the label); with releases, the hint names the `mlgit assign` to run.
    """
    from mlgit.registry import stages
    from mlgit.registry import tags as registry
    from mlgit.registry.tags import tag_name

    if not name:
        raise MlgitError("'stage:' needs a stage name, e.g. --base stage:prod")
    if not re.fullmatch(r"[a-zA-Z0-9\-_/]+", name):
        raise MlgitError(
            f"'stage:{name}' does not name a stage: letters, digits, '-', '_' or '/', e.g. --base stage:prod"
        )
    art = stages.build(evts).get(tag_name(model))
    held = art.current(name) if art else None
    if held is None:
        if configured and not registry.releases(evts) and not git.is_shallow(root):
            return Baseline(BaselineKind.NONE, f"no release yet, so stage '{name}' holds none", None)
        hint = f"assign one first: mlgit assign {model} {name}"
        if git.is_shallow(root) or not evts:
            # The tags may be in the remote only: the user has to fetch, so it is not a verdict on the model.
            hint = "fetch the registry tags first: 'git fetch --tags' (in GitHub Actions: fetch-depth: 0); or " + hint
            raise MissingRevision(f"no version of {model} is assigned to stage '{name}'", hint=hint)
        raise MlgitError(f"no version of {model} is assigned to stage '{name}'", hint=hint)
    if git.resolve(root, held.commit) is None:
        raise MissingRevision(
            f"{model} {held.label} (stage {name}) is at commit {held.commit[:8]}, which this clone does not have",
            hint=f"fetch it: 'git fetch origin {held.commit}', or 'git fetch --unshallow'",
        )
    reg = art.release(held.version) if art and held.version else None
    tag = reg.tag if reg else held.event.tag
    return Baseline(BaselineKind.STAGE, f"{tag} (stage {name})", held.commit, held.version, tag)


def validate_spec(root: Path, spec: str) -> None:
    """Reject a malformed baseline spec up front, before any early exit could hide the mistake."""
    if not spec.strip():
        raise MlgitError("--base is empty", hint="pass last-release, best, main, stage:NAME or a git revision")
    if spec.startswith("stage:"):
        name = spec.removeprefix("stage:")
        if not name:
            raise MlgitError("'stage:' needs a stage name, e.g. --base stage:prod")
        if not re.fullmatch(r"[a-zA-Z0-9\-_/]+", name):
            raise MlgitError(
                f"'{spec}' does not name a stage: letters, digits, '-', '_' or '/', e.g. --base stage:prod"
            )
    elif spec not in ("last-release", "best", "main"):
        revision(root, spec)


MODEL_FORMS = ("last-release", "best")  # with `stage:NAME`: specs naming a version of one model


def names_a_version(spec: str) -> bool:
    """Whether `spec` names a model's version (`last-release`, `best`, `stage:NAME`) rather than a revision."""
    return spec in MODEL_FORMS or spec.startswith("stage:")


def resolve(
    repo: RepoState,
    spec: str,
    model: Model | str | None = None,
    events: list[Event] | None = None,
    *,
    configured: bool = False,
) -> Baseline:
    """The one resolver: `main` (HEAD's merge-base with the default branch), `last-release`, `best` and
    `stage:NAME` (of `model`: they name a model's version), or any REV. Without a model, a model form is read as
    a REV; `best` needs the model itself (its gates say what "best" means), not only its name. `configured`:
    `spec` is the model's `policy.base` (see `stage`).
    """
    if spec == "main":
        return merge_base_with_default(repo, key=_branch_key(repo))
    name = model if isinstance(model, str) or model is None else model.name
    if name is not None and names_a_version(spec):
        from mlgit.registry import tags as registry

        evts = registry.events(repo, name) if events is None else events
        if spec.startswith("stage:"):
            return stage(repo.root, name, spec.removeprefix("stage:"), evts, configured=configured)
        if spec == "best":
            if isinstance(model, str):
                raise MlgitError(f"'best' needs {name}'s gates to tell which release is best")
            assert model is not None
            return best(repo, model, evts)
        active = registry.releases(evts)
        if not active:
            return Baseline(BaselineKind.NONE, "no release yet", None)
        last = active[-1]
        return Baseline(BaselineKind.RELEASE, last.tag, last.commit, last.version, last.tag)
    return revision(repo.root, spec)


def best(repo: RepoState, model: Model, evts: list[Event]) -> Baseline:
    """The best release so far by all of the model's gates, compared in the order of `policy.gates`.

    Each gate is compared in its own direction; the first gate on which two releases differ decides, so a later
    gate breaks a tie on the earlier ones (a full tie goes to the later release). A release that lacks a gated
    metric ranks below one that has it. With only the first gate, an equal accuracy would let the loss worsen
    release after release unseen.
    """
    from mlgit.registry import tags as registry

    active = registry.releases(evts)
    if not active:
        return Baseline(BaselineKind.NONE, "no release yet", None)
    gates = model.policy.gates
    ranked = [(_rank(repo, model, e.commit, e.tag), i) for i, e in enumerate(active)]
    (top, i), decider = max(ranked), None
    chosen = active[i]
    if gates and top[0][0]:
        # Say which gate made it the best when the first one alone did not.
        rivals = [r for r, _ in ranked if r[0] == top[0]]
        decider = next((gates[k].metric for k in range(1, len(gates)) if any(r[k] != top[k] for r in rivals)), None)
    what = "best so far"
    if gates and top[0][0]:
        what = f"best {gates[0].metric} so far" + (f", tie broken by {decider}" if decider else "")
    return Baseline(BaselineKind.RELEASE, f"{chosen.tag} ({what})", chosen.commit, chosen.version, chosen.tag)


def _rank(repo: RepoState, model: Model, commit: str, tag: str) -> tuple[tuple[bool, float], ...]:
    """One release's gated values as a sort key: (present, value signed so that greater is better) per gate."""
    from mlgit.repo import metrics
    from mlgit.repo.values import number

    snap = metrics.read(repo, model.metrics, commit, tag)
    key = []
    for g in model.policy.gates:
        raw, where = snap.lookup(g.metric)
        value = number(raw) if where is not None else None
        key.append((False, 0.0) if value is None else (True, value if g.higher_is_better else -value))
    return tuple(key)


def before_first_release(repo: RepoState, base: Baseline) -> Baseline:
    """`base`, unless it is "no release yet" and HEAD is off the branch the change goes into (a pull request's
    target, else the default branch): then the merge-base with that branch.

    A change is always judged against something: "first release, only the bounds apply" holds only for the
    default branch's own history, where there is nothing older to compare with. A pull request into
    `release/1.x` is judged against `release/1.x`, which may be far from the default branch.
    """
    head = repo.head
    if base.commit is not None or head is None:
        return base
    branch = repo.change_target
    ref = git.branch_ref(repo.root, branch)
    if ref is None and repo.target_branch is not None:
        # The forge named the target: judging the change as a first release instead would let anything pass.
        merge_base_with_default(repo, branch)  # raises, saying how to fetch it
    common = git.merge_base(repo.root, head, ref) if ref is not None else None
    if common is None or common == head:
        return base
    return Baseline(BaselineKind.BRANCH, f"{branch} (merge-base {common[:8]}; no release yet)", common)


def or_reason(repo: RepoState, spec: str | None) -> tuple[Baseline | None, str | None]:
    """`spec` resolved (default `main`); without a spec, a missing merge-base is a reason instead of an error."""
    if spec is not None:
        return resolve(repo, spec), None
    try:
        if repo.target_branch is not None:  # a pull request: its data is compared with its own target
            return merge_base_with_default(repo, repo.target_branch), None
        return resolve(repo, "main"), None
    except MlgitError as exc:
        return None, exc.message


def for_change(repo: RepoState, model: Model | str | None, policy_base: str, target_branch: str | None) -> Baseline:
    """The default baseline of a change (the report's): on a pull request (`target_branch`) or a branch off the
    default branch, the merge-base with the target; on the default branch itself, the model's policy base
    (its last release), which is what `promote` compares with.
    """
    head = repo.head
    if head is None:
        raise MlgitError("the repository has no commits yet", hint="commit your work first")
    if target_branch is None and model is not None:
        ref = git.branch_ref(repo.root, repo.default_branch)
        if ref is not None and git.merge_base(repo.root, head, ref) == head:
            with setting(f"models.{model if isinstance(model, str) else model.name}.policy.base"):
                return resolve(repo, policy_base, model, configured=True)
    if target_branch is not None:
        return merge_base_with_default(repo, target_branch)
    return merge_base_with_default(repo, key=_branch_key(repo))


def _branch_key(repo: RepoState) -> str | None:
    return "ci.default_branch" if repo.configured_branch else None


def for_data(repo: RepoState, spec: str | None, models: Sequence[Model]) -> tuple[str | None, str | None]:
    """The revision data and schemas are compared with for a baseline `spec` given in model terms, and a note.

    None: the data checks' own default, the merge-base with the default branch. `main` is that merge-base's
    commit, a REV stays itself; `last-release`, `best` and `stage:NAME` name a model's version: each model's
    own (before its first release, the change's merge-base). When the models agree on one commit (released
    together), the data is compared with it; otherwise the data has no single such version, so the default
    branch is used and the note names each model's base.
    `mlgit check` and `mlgit report` both ask here, so they compare data with the same revision.
    """
    if spec is None:
        return None, None
    if spec == "main":
        return resolve(repo, spec).commit, None
    if not names_a_version(spec):
        return spec, None
    voters = [m for m in models if m.datasets != ()] or list(models)  # `datasets: []`: the model reads none
    bases = [(m.name, before_first_release(repo, resolve(repo, spec, m))) for m in voters]
    commits = {b.commit for _, b in bases}
    if len(bases) == 1 or (len(commits) == 1 and None not in commits):
        return commits.pop(), None
    each = ", ".join(f"{name}: {b.label}" for name, b in bases)
    return (
        None,
        f"--base {spec} names no one version of the models ({each}); data and schema are compared with the default branch",
    )
