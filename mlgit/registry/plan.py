"""The one release planner: what a promotion of a model would do now (gate result, next version, lineage).

`promote` carries the plan out; `report` and `check model` show it, so a pull request predicts the release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlgit.config.settings import Config, Model
from mlgit.registry import baseline, gate, lineage, policy
from mlgit.registry import tags as registry
from mlgit.registry.semver import Bump, Version
from mlgit.repo import changes, metrics
from mlgit.results import serialize
from mlgit.results.status import Status

if TYPE_CHECKING:
    from mlgit.repo.state import RepoState


class ReleaseStatus(Status):
    """What promoting a model now would do."""

    WOULD_RELEASE = "would-release"
    REJECTED = "rejected"
    ALREADY_RELEASED = "already-released"
    UNCHANGED = "unchanged"


class PromotionStatus(Status):
    """What promote did with one model (`would-release`: a dry run that passed)."""

    RELEASED = "released"
    WOULD_RELEASE = "would-release"
    REJECTED = "rejected"
    ALREADY_RELEASED = "already-released"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class PromotionDoc:
    """One model's `promote --json` document."""

    model: str
    commit: str
    status: PromotionStatus
    dry_run: bool
    version: Version | None = field(metadata=serialize.TEXT)
    tag: str | None
    bump: Bump | None
    pushed_to: str | None
    baseline: baseline.Baseline | None
    first_release: bool | None
    passed: bool | None
    improved: tuple[str, ...]
    results: tuple[policy.RuleResult, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Promotions:
    """`promote --json` of several models (one model's is its own `PromotionDoc`)."""

    models: tuple[PromotionDoc, ...]


@dataclass(frozen=True)
class ReleasePlan:
    """A model's release decision: `already-released`, `unchanged` (since the release in `tag`), `rejected` or
    `would-release` (with version and tag)."""

    model: Model
    status: ReleaseStatus
    result: gate.GateResult | None  # None: HEAD is already released, so promote does not gate it again
    version: Version | None = None
    tag: str | None = None
    bump: Bump | None = None

    def lineage(self, repo: RepoState, cfg: Config, commit: str) -> dict[str, Any]:
        """The lineage document the release tag of `commit` carries."""
        assert self.result is not None and self.version is not None
        params = metrics.read(repo, self.model.params, commit, "HEAD", worktree_fallback=True)
        r = self.result
        return lineage.build(repo, cfg, self.model, commit, self.version, r.candidate, params, r.baseline, r.decision)


def plan(
    repo: RepoState, cfg: Config, model: Model, base_spec: str | None, *, commit: str | None = None
) -> ReleasePlan:
    """Plan the release of `model` at `commit` (None: the work tree, as `report` and `check model` see it).

    A committed candidate already released is not gated again; the work tree counts as released only when
    HEAD is and nothing is uncommitted.
    """
    evts = registry.events(repo, model.name)
    on_head = [e for e in registry.releases(evts) if e.commit == repo.head]
    if commit is not None and on_head:
        return ReleasePlan(model, ReleaseStatus.ALREADY_RELEASED, None, on_head[-1].version, on_head[-1].tag)
    last = registry.releases(evts)[-1:] if commit is not None else []
    if last and not changes.inputs_changed(repo, cfg, model, last[0].commit, commit):
        # Same artifact, data, params and metrics as the last release: a new version would be an empty release.
        return ReleasePlan(model, ReleaseStatus.UNCHANGED, None, last[0].version, last[0].tag)
    result = gate.evaluate(repo, cfg, model, commit, base_spec, evts)
    if on_head and not repo.dirty:
        return ReleasePlan(model, ReleaseStatus.ALREADY_RELEASED, result, on_head[-1].version, on_head[-1].tag)
    if not result.decision.passed:
        return ReleasePlan(model, ReleaseStatus.REJECTED, result)
    taken = registry.taken_versions(repo, model.name)
    version, bump = registry.next_version(taken, model.policy.first_version, bool(result.decision.improved))
    return ReleasePlan(
        model, ReleaseStatus.WOULD_RELEASE, result, version, registry.version_tag(model.name, version), bump
    )
