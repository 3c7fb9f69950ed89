"""Model checks as findings: a stale pipeline, the promotion policy (overall and per slice), the artifact."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mlgit.checks.check import Context, Family, Stale
from mlgit.config.settings import CONFIG_NAME, Config, Model, TrustSource
from mlgit.errors import MlgitError
from mlgit.model import artifact
from mlgit.registry import baseline, gate, policy
from mlgit.registry import plan as release_plan
from mlgit.registry import tags as registry
from mlgit.repo import cache as checkcache
from mlgit.repo import changes, git, trust
from mlgit.repo import dvc as pipeline
from mlgit.repo.metrics import Snapshot, read
from mlgit.repo.state import RepoState
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.results.serialize import plain
from mlgit.system import yamlsource

# A rule that passed keeps its failure code only in `data["code"]`: a summary must not read "6 regressed".
PASSED = Code.MODEL_RULE_PASSED


__all__ = ["PASSED", "ModelCheck", "Stale", "findings"]


class ModelCheck:
    """The model checks of every declared model, as a `Check`."""

    family = Family.MODEL

    def findings(self, ctx: Context) -> Iterator[Finding]:
        """The pipeline, policy and artifact findings of each model against `ctx.base`."""
        if ctx.cfg.models:
            yield from findings(ctx.repo, ctx.cfg, ctx.cfg.models, ctx.base, stale=ctx.stale)


def findings(
    repo: RepoState, cfg: Config, models: Sequence[Model], base: str | None, *, stale: Stale | None = None
) -> list[Finding]:
    """Every model check for each model; `base` is a baseline spec (last-release, main, REV, ...) or None.

    `stale` passes a `dvc status` result the caller already has (it costs most of a second). Trust and gate
    settings are the default branch's (`trust.settings`), whatever config the caller passes.
    """
    root = repo.root
    cfg = trust.settings(repo, cfg)
    # `repo` may have been made from the change's own ci.default_branch: the trusted one counts.
    repo = repo.with_branch(cfg.ci.default_branch)
    models = [cfg.model(m.name) for m in models]
    if stale is None:
        stale = Stale.asking(root) if models else Stale({})  # runs while the gate and the artifact are checked
    out = settings_findings(cfg, models)
    # Per model, in order: the model when its pipeline is to be judged (None: not evaluated), then its findings.
    evaluated: list[tuple[Model | None, list[Finding]]] = []
    for model in models:
        if len(models) > 1 and (since := _unchanged_since(repo, cfg, model, base)):
            msg = f"{model.name}: inputs unchanged since {since}; not evaluated"
            unchanged = Finding(code=Code.MODEL_UNCHANGED, severity=Severity.INFO, subject=model.name, message=msg)
            evaluated.append((None, [unchanged]))
            continue
        policy_out, result = policy_findings(repo, cfg, model, base)
        trusted = None
        if artifact.loader_for(model) in artifact.PICKLE_LOADERS and model.trust_pickle:
            trusted = artifact.pickle_trust(repo, model, trusted_bases(repo, cfg, model, result))
        evaluated.append((model, policy_out + artifact_findings(root, model, trusted, cfg.trust)))
    status = stale.stages
    stages = pipeline.read_stages(root) if status else []
    for judged, rest in evaluated:
        if judged is not None:
            out.extend(pipeline_findings(root, judged, status, stages))
        out.extend(rest)
    return out


def artifact_findings(root: Path, model: Model, trusted: str | None, source: TrustSource | None) -> list[Finding]:
    """`artifact.check`, cached by what it reads: loading and predicting cost seconds (importing scikit-learn).

    The key holds the model file and the golden input (their bytes; size, mtime and inode for large files), the
    model's settings, the trust decision made this run and where it came from, the installed distributions and
    the interpreter (`checkcache.environment`), and the mlgit version. The trust decision is never cached: it is
    made afresh each run (`pickle_trust`), so a cached result is only served for a file mlgit may load now.
    """
    if not (root / model.path).exists() or not checkcache.enabled():
        return artifact.check(root, model, trusted, source)
    digest = _artifact_key(root, model, trusted, source)
    hit = checkcache.load(root, f"model:{model.name}", digest) if digest is not None else None
    if hit is not None:
        try:
            return [Finding(**f) for f in hit["findings"]]
        except (TypeError, KeyError, ValueError):
            pass  # an entry from another mlgit version, or damaged: check again
    found = artifact.check(root, model, trusted, source)
    if digest is not None:
        checkcache.store(root, f"model:{model.name}", digest, {"findings": [plain(f) for f in found]})
    return found


def _artifact_key(root: Path, model: Model, trusted: str | None, source: TrustSource | None) -> str | None:
    reads = [model.path] + ([model.golden.input] if model.golden is not None else [])
    try:
        content = checkcache.fingerprint(root, reads)
    except checkcache.Uncacheable:
        return None
    where = None if source is None else json.dumps([source.label, source.problem, plain(source.ignored)])
    return checkcache.key(
        "model-artifact/1",
        json.dumps(plain(model), sort_keys=True, default=str),
        trusted,
        where,
        content,
        checkcache.environment(),
    )


def settings_findings(cfg: Config, models: Sequence[Model]) -> list[Finding]:
    """`model.untrusted-settings`: what the change sets that does not apply, or that nothing could be trusted."""
    source = cfg.trust
    if source is None or not models:
        return []
    if source.label is None:
        msg = (
            f"nothing in {CONFIG_NAME} is trusted: {source.problem}. Pickled models are not loaded, skops loads only "
            "its default types, and the promotion gate uses this change's own policy"
        )
        return [_untrusted_settings(CONFIG_NAME, msg, None, source.ignored)]
    out = []
    for subject in [*(m.name for m in models), "ci"]:
        keys = source.ignored_for(subject)
        if not keys:
            continue
        prefix = "ci" if subject == "ci" else f"models.{subject}"
        msg = (
            f"{prefix}: this change's {CONFIG_NAME} sets {', '.join(keys)} differently from the default branch "
            f"({source.label}); the default branch's settings apply: what mlgit unpickles and what the promotion "
            "gate accepts are never taken from the change under review (they apply once merged)"
        )
        out.append(_untrusted_settings(subject, msg, source.label, [(subject, k) for k in keys]))
    return out


def _untrusted_settings(subject: str, msg: str, label: str | None, keys: Sequence[tuple[str, str]]) -> Finding:
    return Finding(
        code=Code.MODEL_UNTRUSTED_SETTINGS,
        severity=Severity.WARNING,
        subject=subject,
        message=msg,
        file=CONFIG_NAME,
        data={"trusted_from": label, "ignored": [f"{who}: {key}" for who, key in keys]},
    )


def _unchanged_since(repo: RepoState, cfg: Config, model: Model, base: str | None) -> str | None:
    """In a multi-model repo, the baseline a model's inputs are unchanged since (None: check it)."""
    try:
        ref = baseline.resolve(repo, base or model.policy.base, model, configured=base is None)
    except MlgitError:
        return None  # the policy check reports an unresolvable baseline
    if ref.commit is None or changes.inputs_changed(repo, cfg, model, ref.commit, None):
        return None
    return ref.label


# -- stale pipeline -----------------------------------------------------------------------------------------


def _covers(a: str, b: str) -> bool:
    return a == b or b.startswith(a + "/") or a.startswith(b + "/")


def _relevant(model: Model, stages: list[pipeline.Stage]) -> tuple[set[str], set[str]] | None:
    """Names of the stages that produce the model's files or feed them, and their deps; None if none do."""
    targets = {model.path, *model.metrics}
    todo = [s for s in stages if any(_covers(o, t) for o in s.outs for t in targets)]
    if not todo:
        return None
    names: set[str] = set()
    deps: set[str] = set()
    while todo:
        stage = todo.pop()
        if stage.name in names:
            continue
        names.add(stage.name)
        deps.update(stage.deps)
        todo.extend(s for s in stages if s.name not in names and any(_covers(o, d) for o in s.outs for d in stage.deps))
    return names, deps


def pipeline_findings(
    root: Path, model: Model, stale: dict[str, list[str]] | None, stages: list[pipeline.Stage]
) -> list[Finding]:
    """`model.pipeline-stale` for each stale stage (or .dvc file) the model depends on."""
    if stale is None:
        return [
            Finding(
                code=Code.MODEL_PIPELINE_UNKNOWN,
                severity=Severity.WARNING,
                subject=model.name,
                message="could not tell whether the pipeline is up to date: 'dvc status' failed (run it to see why)",
            )
        ]
    relevant = _relevant(model, stages)
    by_name = {s.name: s for s in stages}
    out = []
    for name, reasons in stale.items():
        stage = by_name.get(name.split("@", 1)[0])
        if relevant is not None:
            names, deps = relevant
            if name.endswith(".dvc"):
                tracked = name[: -len(".dvc")]
                if not any(_covers(tracked, d) for d in deps):
                    continue
            elif stage is None or stage.name not in names:
                continue
        why = "; ".join(reasons) or "changed"
        hint = "run 'dvc repro' and commit dvc.lock (and push the outputs)"
        if any(r.startswith("outs:") for r in reasons):
            hint = "the outputs differ from dvc.lock: 'dvc checkout' restores them, or 'dvc repro' and commit dvc.lock"
        if name.endswith(".dvc"):
            what, file, line = f"{name} does not match its data", name, None
            hint = f"run 'dvc add {name[: -len('.dvc')]}' and commit {name}"
        else:
            file = stage.lock if stage else "dvc.lock"
            line = pipeline.lock_line(root, stage) if stage else None
            what = f"stage {name} is stale"
        out.append(
            Finding(
                code=Code.MODEL_PIPELINE_STALE,
                severity=Severity.ERROR,
                subject=model.name,
                message=f"{what}: {why}; the committed metrics and model may not come from the committed code, data "
                f"and params: {hint}",
                file=file,
                line=line,
                data={"stage": name, "reasons": list(reasons)},
            )
        )
    return out


def _line(root: Path, rel: str, keys: list[str]) -> int | None:
    try:
        raw = (root / rel).read_bytes()
    except OSError:
        return None
    return yamlsource.line_of(raw, keys)


# -- policy and slices ----------------------------------------------------------------------------------------


def _rule_data(r: policy.RuleResult) -> dict[str, Any]:
    return {
        "code": r.code,
        "metric": r.metric,
        "rule": r.rule,
        "passed": r.passed,
        "candidate": r.candidate,
        "baseline": r.baseline,
        "threshold": r.threshold,
        "base": r.base,
    }


def policy_findings(
    repo: RepoState, cfg: Config, model: Model, base: str | None
) -> tuple[list[Finding], gate.GateResult | None]:
    """The promotion gate on the work tree, exactly as `promote` applies it, plus its per-slice rules."""
    if not read(repo, model.metrics, None, "work tree").any_present:
        return [
            Finding(
                code=Code.MODEL_METRICS_MISSING,
                severity=Severity.ERROR,
                subject=model.name,
                message=f"none of the metrics files exist: {', '.join(model.metrics)}; run the pipeline (dvc repro)",
                file=model.metrics[0],
            )
        ], None
    result = release_plan.plan(repo, cfg, model, base).result
    assert result is not None  # the work tree is always gated
    out = [_baseline_finding(repo, model, result)]
    for r in result.decision.results:
        if r.slice is not None:
            continue  # reported below with the slice's own details
        out.append(
            Finding(
                code=r.code if not r.passed or r.notice else PASSED,
                severity=Severity.INFO if r.passed else Severity.ERROR,
                subject=model.name,
                message=f"{r.metric}: {r.message}",
                file=CONFIG_NAME if r.line else _file_of(result.candidate, r.metric) or model.metrics[0],
                line=r.line,
                data=_rule_data(r),
            )
        )
    if model.slices:
        out += _slice_findings(model, result)
    return out, result


def _baseline_finding(repo: RepoState, model: Model, result: gate.GateResult) -> Finding:
    b = result.baseline
    if result.decision.first_release:
        first = f"baseline: none ({b.label}): a first release, only the absolute bounds (min/max) apply"
        if git.remotes(repo.root):
            # CI checkouts often come without tags: say how to get them rather than gate as a first release.
            first += "; if the remote has release tags, fetch them first: git fetch --tags"
    else:
        first = f"baseline: {b.label}" + (f" at {b.commit[:8]}" if b.commit and b.commit[:8] not in b.label else "")
    if result.others:
        first += "; every gate also holds against " + ", ".join(o.label for o in result.others)
    return Finding(
        code=Code.MODEL_BASELINE,
        severity=Severity.INFO,
        subject=model.name,
        message=first,
        data={**plain(b), "others": plain(result.others)},
    )


def _slice_findings(model: Model, result: gate.GateResult) -> list[Finding]:
    """Every gate's rules per slice; a slice gone from the candidate warns, a new slice gets its bounds only."""
    label, out = result.baseline.label, []
    new_slices: dict[str, str] = {}
    for s in result.slices:
        if s.result is None:
            out.append(
                Finding(
                    code=Code.MODEL_SLICE_MISSING,
                    severity=Severity.WARNING,
                    subject=model.name,
                    message=f"slice {s.slice}: {s.metric} is in the baseline ({label}) but not in the candidate",
                    file=s.file,
                    data={"slice": s.slice, "metric": s.metric},
                )
            )
            continue
        if not s.compared and result.base_metrics is not None:
            new_slices.setdefault(s.slice, s.file)
        r = s.result
        out.append(
            Finding(
                code=r.code if not r.passed else PASSED,
                severity=Severity.INFO if r.passed else Severity.ERROR,
                subject=model.name,
                message=f"slice {s.slice}: {s.metric}: {r.message}",
                file=CONFIG_NAME if r.line else s.file,
                line=r.line,
                data={"slice": s.slice, **_rule_data(r), "metric": s.metric},
            )
        )
    out += [
        Finding(
            code=Code.MODEL_SLICE_NEW,
            severity=Severity.INFO,
            subject=model.name,
            message=f"slice {name} has no baseline ({label}): only absolute bounds apply to it",
            file=file,
            data={"slice": name},
        )
        for name, file in new_slices.items()
    ]
    return out


def _file_of(snap: Snapshot, metric: str) -> str | None:
    try:
        return snap.lookup(metric)[1]
    except MlgitError:
        return None


# -- the gate's verdict as findings (the report's gate section) ---------------------------------------------


def gate_findings(
    root: Path, model: Model, failures: Sequence[policy.RuleResult], candidate: Snapshot | None, error: str | None
) -> list[Finding]:
    """`model.gate-error` when the gate could not be evaluated, and one error per failing rule, tied to the line a
    reviewer would change: the bound in mlgit.yaml, else the metric in its metrics file."""
    out = []
    if error is not None:
        msg = f"{model.name}: {error}"
        out.append(
            Finding(
                code=Code.MODEL_GATE_ERROR, severity=Severity.ERROR, subject=model.name, message=msg, file=CONFIG_NAME
            )
        )
    for r in failures:
        file: str | None = model.metrics[0] if model.metrics else None
        line = None
        if r.rule in {"min", "max"}:
            file = CONFIG_NAME
            line = r.line or _line(root, CONFIG_NAME, ["models", model.name, "policy", "gates", r.metric, r.rule])
        elif candidate is not None and (where := _file_of(candidate, r.metric)) is not None:
            file, line = where, _line(root, where, r.metric.rpartition(":")[2].split("."))
        data = {"metric": r.metric, "rule": r.rule, "candidate": r.candidate, "baseline": r.baseline}
        out.append(
            Finding(
                code=r.code,
                severity=Severity.ERROR,
                subject=model.name,
                message=f"{model.name}: {r.metric}: {r.message}",
                file=file,
                line=line,
                data={**data, "threshold": r.threshold},
            )
        )
    return out


# -- which revisions vouch for a pickle -----------------------------------------------------------------------


def trusted_bases(repo: RepoState, cfg: Config, model: Model, result: gate.GateResult | None) -> list[tuple[str, str]]:
    """(label, commit) of revisions the change cannot write: release tags and the remote's default branch.

    `cfg` and `model` are `trust.settings`' result. The gate's baseline counts only when it is a release or stage
    tag: a baseline REV or branch may be the change itself (`policy.base: HEAD`); a tag counts only on a commit of
    the default branch (`trust.vouches`): the change may have tagged itself.
    """
    found: list[tuple[str, str]] = []
    base = result.baseline if result is not None else None
    if (
        base is not None
        and base.kind in {baseline.BaselineKind.RELEASE, baseline.BaselineKind.STAGE}
        and base.commit is not None
    ):
        if trust.vouches(repo.root, cfg, model, base.commit):
            found.append((base.label, base.commit))
    # The latest release the default branch holds (a later, forged one does not hide it).
    for rel in reversed(registry.releases(registry.events(repo, model.name))):
        if trust.vouches(repo.root, cfg, model, rel.commit):
            found.append((rel.tag, rel.commit))
            break
    source = cfg.trust
    if source is not None and source.label is not None and source.commit is not None:
        found.append((source.label, source.commit))
        # A branch made before the default branch moved on still holds the bytes of where it forked.
        fork = git.merge_base(repo.root, "HEAD", source.commit)
        if fork is not None and fork != source.commit:
            found.append((f"{source.label} (merge-base {fork[:8]})", fork))
    return list(dict.fromkeys(found))
