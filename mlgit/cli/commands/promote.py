"""`mlgit promote`: gate a model against its baseline and, if it passes, tag a release."""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlgit.actions import tags as release
from mlgit.cli.exit import EXIT_FAILED
from mlgit.config import settings as config
from mlgit.errors import MissingRevision, MlgitError, Refused
from mlgit.registry import baseline, policy, stages
from mlgit.registry import plan as release_plan
from mlgit.registry import tags as registry
from mlgit.registry.plan import PromotionDoc, PromotionStatus
from mlgit.registry.semver import Bump, Version
from mlgit.render import terminal
from mlgit.render.style import Style
from mlgit.repo import dvc as pipeline
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.finding import Severity

if TYPE_CHECKING:
    from mlgit.train.repro import Verdict


@dataclass(frozen=True)
class StaleRelease:
    """What a release's lineage records when it was allowed over a stale pipeline: by what, and the stages."""

    allowed_by: str  # --allow-stale | policy.allow_stale
    stages: dict[str, list[str]]


@dataclass
class Promotion:
    """What promote decided and did, for the renderers."""

    model: str
    commit: str
    status: PromotionStatus = PromotionStatus.REJECTED
    shared_warnings: int = 0  # how many of `warnings` apply to the whole run, not this model
    base: baseline.Baseline | None = None
    decision: policy.Decision | None = None
    version: Version | None = None
    tag: str | None = None
    pushed_to: str | None = None
    bump: Bump | None = None
    warnings: list[str] = field(default_factory=list)
    message: str = ""  # the tag message, once a version is chosen
    stale: StaleRelease | None = None  # the stale stages a release was allowed over (for the lineage)
    reproducibility: Verdict | None = None  # `mlgit check repro`'s verdict when policy.reproducible


def _attempt(repo: RepoState, cfg: config.Config, model: config.Model, base_spec: str | None, out: Promotion) -> None:
    planned = release_plan.plan(repo, cfg, model, base_spec, commit=out.commit)
    out.status, out.version, out.tag, out.bump = (
        PromotionStatus(planned.status.value),
        planned.version,
        planned.tag,
        planned.bump,
    )
    if planned.result is not None:
        out.base, out.decision = planned.result.baseline, planned.result.decision
    if planned.status is not release_plan.ReleaseStatus.WOULD_RELEASE:
        return
    doc = planned.lineage(repo, cfg, out.commit)
    if out.warnings:
        doc["warnings"] = list(out.warnings)
    if out.stale is not None:
        doc["stale"] = serialize.plain(out.stale)
    if out.reproducibility is not None:
        doc["reproducibility"] = serialize.plain(out.reproducibility)
    out.message = release.message(model.name, str(out.version), doc)


def _release(
    repo: RepoState,
    cfg: config.Config,
    model: config.Model,
    base_spec: str | None,
    dry_run: bool,
    push: str | None,
    out: Promotion,
) -> None:
    """Gate and tag through the one registry writer: it re-plans (re-gates) on the remote's tags after a lost race."""

    def plan(_scan: registry.TagScan) -> stages.TagPlan:
        _attempt(repo, cfg, model, base_spec, out)
        if out.status is not PromotionStatus.WOULD_RELEASE or dry_run:
            return stages.TagPlan(out.status, ())
        assert out.tag is not None
        return stages.TagPlan(out.status, (stages.NewTag(out.tag, out.commit, out.message),), out.version, out.commit)

    def lost(pushed: release.PushOutcome, _tags: Sequence[str]) -> str:
        # Kept in `out.warnings` at once: the re-planned tag's lineage records the lost race.
        if pushed.moved:
            text = f"another release of {model.name} reached '{push}' first; re-evaluating against the remote's tags"
        else:
            text = f"{out.tag} was taken on '{push}' meanwhile; re-evaluating against the remote's tags"
        out.warnings.append(text)
        return text

    written = release.write(
        repo,
        model.name,
        push,
        plan,
        cfg.registry.serialize_pushes,
        on_race=lost,
        gave_up=f"gave up after {release.MAX_ATTEMPTS} attempts: other promotions keep taking the next version of {model.name}",
    )
    out.warnings += [w for w in written.warnings if w not in out.warnings]  # races are in already (`lost`)
    if not written.plan.tags:
        return
    if written.unchanged:
        out.status = PromotionStatus.ALREADY_RELEASED  # an identical release reached the remote first
        return
    out.status, out.pushed_to = PromotionStatus.RELEASED, written.pushed_to


def _dirty_tree(repo: RepoState, allow_dirty: bool, dry_run: bool) -> list[str]:
    """The warnings to start with; uncommitted changes refuse a release (a dry run writes nothing, so it may)."""
    dirty = list(repo.dirty)
    if not dirty:
        return []
    shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
    if dry_run:
        return [f"uncommitted changes ignored (dry run of HEAD): {shown}"]
    if not allow_dirty:
        raise MlgitError(
            f"the working tree has uncommitted changes ({shown}); a release must describe a commit",
            hint="commit or stash them, or pass --allow-dirty (the tag still goes on HEAD)",
        )
    return [f"uncommitted changes ignored (--allow-dirty): {', '.join(dirty[:5])}"]


def _untrusted_settings(cfg: config.Config) -> list[str]:
    """What the work tree's mlgit.yaml sets that promote does not apply, said as `check model` says it."""
    source = cfg.trust
    if source is None:
        return []
    if source.label is None:
        return [f"nothing in {config.CONFIG_NAME} is trusted ({source.problem}): the gate uses its own policy"]
    keys = [f"{who}: {key}" for who, key in source.ignored]
    if not keys:
        return []
    return [
        f"{config.CONFIG_NAME} here sets {', '.join(keys)} differently from the default branch ({source.label}): "
        "the default branch's settings apply"
    ]


def _on_release_branch(repo: RepoState, models: Sequence[config.Model], dry_run: bool, warnings: list[str]) -> None:
    """Refuse a release from a commit that no release branch (the default one, `policy.release_branches`) holds.

    A dry run writes nothing, so it still shows what the gate would decide, with a warning.
    """
    assert repo.head is not None
    branches = git.branches_containing(repo.root, repo.head)
    for model in models:
        allowed = (repo.default_branch, *model.policy.release_branches)
        if any(fnmatch.fnmatchcase(b, pattern) for b in branches for pattern in allowed):
            continue
        where = ", ".join(branches) if branches else "no branch"
        others = model.policy.release_branches
        only = f"the default branch or {', '.join(others)} (policy.release_branches)" if others else "the default branch"
        message = (
            f"HEAD ({repo.head[:8]}, on {where}) is not on the default branch '{repo.default_branch}': "
            f"{model.name} is released from {only} only"
        )
        if dry_run:
            warnings.append(message + " (a real promotion would be refused)")
            return
        raise MlgitError(
            message, hint="merge the change first, or allow its branch with policy.release_branches in mlgit.yaml"
        )


def _stale(
    repo: RepoState, models: Sequence[config.Model], allow_stale: bool, dry_run: bool, warnings: list[str]
) -> StaleRelease | None:
    """A stale pipeline refuses the release unless allowed; returns what the lineage records when allowed.

    A dry run writes nothing, so it still shows what the gate would decide, with a warning (as off a release branch).
    """
    stale = pipeline.stale_stages(repo.root, use_cache=False)  # about to tag a release: ask DVC itself
    if stale is None:
        warnings.append("could not tell whether the pipeline is up to date ('dvc status' failed)")
        return None
    if not stale:
        return None
    what = "; ".join(f"{stage}: {', '.join(reasons) or 'changed'}" for stage, reasons in stale.items())
    refused = [m.name for m in models if not (allow_stale or m.policy.allow_stale)]
    if refused and dry_run:
        warnings.append(
            f"the pipeline is stale, so the metrics may not be what it produces ({what}); "
            "a real promotion would be refused: run 'dvc repro', or pass --allow-stale"
        )
        return None
    if refused:
        raise MlgitError(
            f"the pipeline is stale, so the metrics may not be what it produces ({what}); "
            f"{', '.join(refused)} not released",
            hint="run 'dvc repro' and commit dvc.lock and the outputs; or pass --allow-stale "
            "(or set policy.allow_stale: true), which the release's lineage records",
        )
    warnings.append(f"the pipeline is stale, metrics may not match the code (released anyway): {what}")
    return StaleRelease("--allow-stale" if allow_stale else "policy.allow_stale", stale)


def _reproducible(
    repo: RepoState, cfg: config.Config, model: config.Model, base: str | None, commit: str
) -> Verdict | None:
    """With policy.reproducible, `mlgit check repro` first: a model that does not reproduce is not released.

    Only when the gate would release: re-running the whole pipeline to say "nothing to release" helps nobody.
    """
    if not model.policy.reproducible:
        return None
    if release_plan.plan(repo, cfg, model, base, commit=commit).status is not release_plan.ReleaseStatus.WOULD_RELEASE:
        return None
    from mlgit.checks import model as model_check
    from mlgit.model import artifact
    from mlgit.train import repro

    # As `mlgit check repro`: the default branch's trust_pickle and bytes it or a release records, never HEAD's.
    trusted_cfg = trust.settings(repo, cfg)
    judged = trusted_cfg.model(model.name)
    trusted = artifact.pickle_trust(repo, judged, model_check.trusted_bases(repo, trusted_cfg, judged, None))
    verdict, found = repro.check(repo, judged, 1, trusted, trusted_cfg.trust)
    if verdict.verdict is repro.Reproducibility.NOT:
        why = "; ".join(f.message for f in found if f.severity is Severity.ERROR)
        raise Refused(
            f"{model.name} is not reproducible (policy.reproducible: true): {why}",
            hint="run 'mlgit check repro' to see every output; make the pipeline deterministic, "
            "or raise policy.repro_tolerance",
        )
    return verdict


def run(
    cwd: Path,
    model_name: str | None,
    base: str | None,
    dry_run: bool,
    push: str | None,
    allow_dirty: bool,
    as_json: bool,
    allow_stale: bool = False,
) -> int:
    """Gate the model (or, with several and none named, each of them) and tag a release of each whose inputs
    changed since its last release and that passes its policy."""
    root = git.toplevel(cwd)
    # The gate, release branches and default branch as mlgit.yaml has them on the default branch: a change, merged
    # or not, cannot loosen its own gate at release time (issue 12).
    untrusted = RepoState(root)
    cfg = trust.settings(untrusted, config.load(root))
    repo = untrusted.with_branch(cfg.ci.default_branch)
    models = list(cfg.models) if model_name is None and len(cfg.models) > 1 else [cfg.model(model_name)]
    head = repo.head
    if head is None:
        raise MlgitError("the repository has no commits yet", hint="commit your work first")
    warnings = _dirty_tree(repo, allow_dirty, dry_run) + _untrusted_settings(cfg)
    if base is not None:
        baseline.validate_spec(root, base)
    if push is not None and push not in git.remotes(root):
        raise MlgitError(f"no remote named '{push}'", hint=f"remotes here: {', '.join(git.remotes(root)) or '(none)'}")
    _on_release_branch(repo, models, dry_run, warnings)
    stale = _stale(repo, models, allow_stale, dry_run, warnings)
    if git.is_shallow(root) and push is None:
        _shallow(repo, models, base, warnings)
    outcomes = []
    for model in models:
        out = Promotion(model.name, head, warnings=list(warnings), shared_warnings=len(warnings), stale=stale)
        if push is not None and len(models) > 1:
            release.fetch_registry(root, push, registry.tag_name(model.name))
            repo.tags_changed()
        out.reproducibility = _reproducible(repo, cfg, model, base, out.commit)
        _release(repo, cfg, model, base, dry_run, push, out)
        outcomes.append(out)
    _render(outcomes, as_json, dry_run)
    return EXIT_FAILED if any(o.status is PromotionStatus.REJECTED for o in outcomes) else 0


def _shallow(repo: RepoState, models: Sequence[config.Model], base: str | None, warnings: list[str]) -> None:
    """In a shallow clone the registry tags may simply not have been fetched: with none of a model's tags here,
    "first release" would be a guess (and would tag v0.1.0 over a history it cannot see), so that is refused."""
    bare = [m.name for m in models if not registry.scan(repo, m.name).events]
    if bare:
        raise MissingRevision(
            f"this shallow clone has no registry tags of {', '.join(bare)}: it cannot tell a first release"
            " from tags it did not fetch",
            hint="fetch them: 'git fetch --tags' or 'git fetch --unshallow' (in GitHub Actions: actions/checkout"
            " with fetch-depth: 0), or pass --push REMOTE to read them from the remote",
        )
    if (base or "last-release") == "last-release":
        warnings.append("shallow clone: release tags may be missing locally; use --push to read them from the remote")


def _doc(out: Promotion, dry_run: bool) -> PromotionDoc:
    """The document of what promote did with one model."""
    d = out.decision
    return PromotionDoc(
        out.model,
        out.commit,
        out.status,
        dry_run,
        out.version,
        out.tag,
        out.bump,
        out.pushed_to,
        out.base,
        d.first_release if d else None,
        d.passed if d else None,
        d.improved if d else (),
        d.results if d else (),
        tuple(out.warnings),
    )


def _render(outcomes: list[Promotion], as_json: bool, dry_run: bool) -> None:
    if as_json:
        docs = tuple(_doc(o, dry_run) for o in outcomes)
        sys.stdout.write(serialize.dumps(docs[0] if len(docs) == 1 else release_plan.Promotions(docs)) + "\n")
        return
    for w in outcomes[0].warnings[: outcomes[0].shared_warnings] if outcomes else []:
        sys.stderr.write(f"warning: {w}\n")
    for out in outcomes:
        _render_one(out)


def _render_one(out: Promotion) -> None:
    style = Style.for_stdout()
    for w in out.warnings[out.shared_warnings :]:
        sys.stderr.write(f"warning: {out.model}: {w}\n")
    if out.status is PromotionStatus.UNCHANGED:
        sys.stdout.write(
            f"{out.model}: inputs unchanged since {out.tag} (artifact, data, params, metrics); nothing to release\n"
        )
        return
    if out.status is PromotionStatus.ALREADY_RELEASED:
        sys.stdout.write(f"{out.model}: HEAD ({out.commit[:8]}) is already released as {out.tag}; nothing to do\n")
        return
    assert out.base is not None and out.decision is not None
    lines = [style(f"Promote {out.model} at {out.commit[:8]}", "bold")]
    if out.decision.first_release:
        why = "" if out.base.label == "no release yet" else f"; {out.base.label}"
        lines.append(f"Baseline: none (first release{why}): only absolute bounds (min/max) apply")
    else:
        lines.append(f"Baseline: {out.base.label}" + (f" at {out.base.commit[:8]}" if out.base.commit else ""))
    lines += terminal.decision(out.decision, style)
    if out.status is PromotionStatus.REJECTED:
        n = len(out.decision.failures)
        lines.append(style(f"REJECTED: {n} rule{'s' if n != 1 else ''} failed; no tag created", "red", "bold"))
    else:
        why = {
            Bump.FIRST: "first release",
            Bump.MINOR: f"minor: improved {', '.join(out.decision.improved)}",
            Bump.PATCH: "patch: no gated metric improved",
        }[out.bump or Bump.FIRST]
        if out.status is PromotionStatus.WOULD_RELEASE:
            lines.append(style(f"PASSED: would tag {out.tag} ({why}); dry run, nothing written", "green", "bold"))
        else:
            where = f" and pushed to '{out.pushed_to}'" if out.pushed_to else ""
            lines.append(style(f"PASSED: tagged {out.tag} on {out.commit[:8]}{where} ({why})", "green", "bold"))
    sys.stdout.write("\n".join(lines) + "\n")
