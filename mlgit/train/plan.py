"""Whether to retrain, and why: new data since the last release, the latest window's drift, or a schedule.

Loop-safe by construction: a commit carrying the `Mlgit-Retrain:` trailer never triggers another retrain,
and new data is counted from the newer of the last release and the last retrain commit, so merging a
retrain pull request does not look like new data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlgit.config.settings import Config, Model
from mlgit.errors import MlgitError, UsageError
from mlgit.package import release as releases
from mlgit.registry import tags
from mlgit.repo import git
from mlgit.repo.state import RepoState

TRIGGERS = ("manual", "schedule", "new-data", "drift")
TRAILER = "Mlgit-Retrain"
BRANCH_PREFIX = "mlgit/retrain/"


@dataclass(frozen=True)
class RetrainPlan:
    """What `mlgit retrain` would do."""

    model: str
    trigger: str
    run: bool
    reasons: tuple[str, ...]
    branch: str
    head: str
    release: str | None  # the last release's tag
    data_paths: tuple[str, ...]  # datasets whose DVC hash changed (new-data)
    imports: tuple[str, ...]  # .dvc files of imports (`dvc update` refreshes them)

    def steps(self, pr: bool) -> list[str]:
        """The commands the retrain runs, in order."""
        out = [f"git worktree add <temporary> {self.head[:12]}  (never your work tree)", f"git switch -C {self.branch}"]
        if self.imports:
            out.append("dvc update " + " ".join(self.imports))
        out += [
            "dvc repro",
            f'git commit -m "Retrain {self.model}" --trailer "{TRAILER}: {self.trigger}"',
            "mlgit check  (MLGIT_TRUSTED_ARTIFACT=1: the job built the model itself)",
            "mlgit report --format md",
            "dvc push",
            f"git push --force origin {self.branch}",
        ]
        if pr:
            out.append("open or update the one pull request (a draft when the checks fail)")
        return out


def branch_for(model: str) -> str:
    """The retrain branch of a model: `mlgit/retrain/<model in tag form>`."""
    return BRANCH_PREFIX + tags.tag_name(model)


def trailer(root: Path, rev: str) -> str | None:
    """The commit's `Mlgit-Retrain:` trailer value, if it carries one."""
    return git.trailer(root, rev, TRAILER)


def _since(repo: RepoState, release: releases.Release | None) -> str | None:
    """The commit new data is counted from: the later of the last release and the last retrain commit."""
    last = git.last_commit_with_trailer(repo.root, TRAILER)
    if release is None:
        return last
    if last is None:
        return release.commit
    return last if git.is_ancestor(repo.root, release.commit, last) else release.commit


def _imports(repo: RepoState) -> tuple[str, ...]:
    from mlgit.repo import dvc
    from mlgit.system import files, yamlsource

    found = []
    for rel in dvc.walk(repo.root, ".dvc"):
        try:
            data = yamlsource.load(files.read_small(repo.root, rel, limit=files.MAX_PIPELINE_BYTES), rel)
        except (OSError, MlgitError):
            continue
        deps = data.get("deps") if isinstance(data, dict) else None
        if isinstance(deps, list) and any(isinstance(d, dict) and "repo" in d for d in deps):
            found.append(rel)
    return tuple(sorted(found))


def _new_data(
    repo: RepoState, cfg: Config, model: Model, release: releases.Release | None
) -> tuple[list[str], list[str]]:
    since = _since(repo, release)
    paths = [d.path for d in cfg.datasets_of(model)]
    if since is None:
        return [f"no release of {model.name} yet: its data is new"], paths
    assert repo.head is not None
    now, then = repo.dvc_hashes(repo.head), repo.dvc_hashes(since)
    tracked = sorted({*paths, *(p for p in now if p not in then)} & {*now, *then})
    changed = [p for p in tracked if now.get(p) != then.get(p)]
    label = release.tag if release is not None and since == release.commit else f"the last retrain ({since[:8]})"
    if not changed:
        return [], []
    return [f"{p}: DVC hash {str(then.get(p))[:8]} at {label}, {str(now.get(p))[:8]} now" for p in changed], changed


def decide(
    repo: RepoState, cfg: Config, model: Model, trigger: str, drift: tuple[bool, list[str]] | None = None
) -> RetrainPlan:
    """The plan for one model; `run` False says there is nothing to do (with the reason).

    `drift` is the latest window's verdict (monitoring's, `monitor.judge.latest_verdict`), needed for --trigger drift.
    """
    if trigger not in TRIGGERS:
        raise UsageError(f"--trigger {trigger!r}: expected one of {', '.join(TRIGGERS)}")
    if repo.head is None:
        raise MlgitError("the repository has no commits yet: nothing to retrain")
    try:
        release: releases.Release | None = releases.resolve(repo, model.name)
    except MlgitError:
        release = None
    run, changed = True, list[str]()
    carried = trailer(repo.root, repo.head)
    if carried is not None and trigger != "manual":
        run, reasons = False, [f"HEAD is a retrain commit ({TRAILER}: {carried}): it never triggers another retrain"]
    elif trigger == "new-data":
        reasons, changed = _new_data(repo, cfg, model, release)
        run = bool(reasons)
        if not run:
            since = release.tag if release is not None else "the last retrain"
            reasons = [f"no dataset of {model.name} changed since {since}"]
    elif trigger == "drift":
        run, reasons = drift if drift is not None else (False, ["no monitoring verdict to act on"])
    else:
        reasons = [f"{trigger} retrain: the pipeline is re-run on the current data whatever changed"]
    return RetrainPlan(
        model.name,
        trigger,
        run,
        tuple(reasons),
        branch_for(model.name),
        repo.head,
        release.tag if release is not None else None,
        tuple(changed),
        _imports(repo) if trigger == "new-data" else (),
    )
