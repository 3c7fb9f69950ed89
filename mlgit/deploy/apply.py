"""`mlgit deploy apply|stop|status`: converge a stage's target to the version its tags name, and report drift."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlgit.actions import tags as tag_writer
from mlgit.config import settings as config
from mlgit.config.settings import Config, DeployTarget
from mlgit.deploy import blessed as blessing
from mlgit.deploy import command, kserve, local, state
from mlgit.errors import MlgitError, UsageError
from mlgit.package import release, store
from mlgit.registry import stages
from mlgit.repo import dvc
from mlgit.repo.state import RepoState
from mlgit.results.finding import Finding, Severity
from mlgit.results.status import Status
from mlgit.system import atomic


class DeployStatus(Status):
    """What `deploy apply` did."""

    DEPLOYED = "deployed"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    PLANNED = "planned"


class SyncStatus(Status):
    """A stage's target against its tags."""

    IN_SYNC = "in-sync"
    DRIFTED = "drifted"
    DOWN = "down"


@dataclass(frozen=True)
class DeployOutcome:
    """One apply: what was asked, what the target serves now, and why."""

    model: str
    stage: str
    target: str
    version: str
    status: DeployStatus
    message: str
    digest: str | None = None
    previous: str | None = None
    where: str | None = None  # the stable URL, the manifest path, or the command
    findings: tuple[Finding, ...] = ()
    rollback_tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """`deploy status` for one model in one stage."""

    model: str
    stage: str
    target: str
    desired: str | None
    desired_digest: str | None
    serving: str | None
    serving_digest: str | None
    status: SyncStatus
    where: str | None


@dataclass(frozen=True)
class StatusReport:
    """`deploy status`: one row per model and stage with a target."""

    deployments: tuple[Row, ...]


def _config(root: Path) -> Config | None:
    return config.load(root) if (root / config.CONFIG_NAME).is_file() else None


def target_for(cfg: Config | None, stage: str, name: str | None, port: int | None) -> DeployTarget:
    """The stage's configured target, with the command line's --target and --port over it."""
    found = cfg.deploy_target(stage) if cfg else None
    if found is None:
        if name is None:
            raise UsageError(
                f"no deploy target for stage {stage!r}",
                hint=f"declare deploy.{stage}.target in mlgit.yaml, or pass --target local|kserve|command",
            )
        found = DeployTarget(stage=stage, target=name)
    elif name is not None and name != found.target:
        found = DeployTarget(stage=stage, target=name, auto_rollback=found.auto_rollback)
    if found.target == "command" and not found.command:
        raise UsageError(f"the command target of {stage!r} needs deploy.{stage}.command in mlgit.yaml")
    return replace(found, port=port) if port is not None else found


def _noted_digest(notes: dict[str, dict[str, Any]], rel: release.Release) -> str | None:
    entry = notes.get(rel.commit, {}).get(f"{rel.model}@{rel.version}")
    return entry.get("sha256") if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) else None


def apply(
    repo: RepoState,
    model: str,
    stage: str,
    *,
    bundle: str | None,
    target_name: str | None,
    port: int | None,
    auto_rollback: bool,
    dry_run: bool,
    push: str | None,
    on_wait: Callable[[str], None],
) -> DeployOutcome:
    """Converge one model's target in one stage to the version the stage's tags name."""
    cfg = _config(repo.root)
    target = target_for(cfg, stage, target_name, port)
    if cfg is not None and not target.serves(model) and target_name is None:
        raise UsageError(f"deploy.{stage}.models does not list {model!r}")
    rel = release.resolve(repo, release.spec(model, stage=stage))
    if dry_run:
        return _plan(repo, rel, stage, target)
    where = state.folder(repo, rel.model, stage)
    with state.locked(where, on_wait):
        blessed = blessing.obtain(repo, rel, bundle, state.root_of(repo))
        outcome = _converge(repo, blessed, target, where)
        if outcome.status is DeployStatus.FAILED and (auto_rollback or target.auto_rollback):
            outcome = _roll_back(repo, cfg, outcome, push)
    return outcome


def _plan(repo: RepoState, rel: release.Release, stage: str, target: DeployTarget) -> DeployOutcome:
    digest = _noted_digest(store.digests(repo.root), rel)
    current = _observe(repo, rel.model, target)
    base = DeployOutcome(rel.model, stage, target.target, str(rel.version), DeployStatus.PLANNED, "", digest)
    if digest is not None and current[1] == f"sha256:{digest}":
        return replace(base, status=DeployStatus.UNCHANGED, message=f"already serves {rel.version}; nothing to do")
    what = f"sha256:{digest[:12]}" if digest else "its bundle (packaged first)"
    was = f", replacing {current[0]}" if current[0] else ""
    return replace(base, message=f"would deploy {rel.model} {rel.version} ({what}) to {target.target}{was}")


def _converge(repo: RepoState, blessed: blessing.Blessed, target: DeployTarget, where: Path) -> DeployOutcome:
    base = DeployOutcome(
        blessed.model, target.stage, target.target, blessed.version, DeployStatus.DEPLOYED, "", blessed.digest
    )
    record = state.Deployed(
        blessed.model, target.stage, target.target, blessed.version, f"sha256:{blessed.digest}"
    )
    if target.target == "local":
        python = blessing.python_for(blessed, state.venvs(repo))
        switch = local.apply(where, blessed, python, target.host, target.port)
        prev = switch.previous.get("version") if switch.previous else None
        out = replace(base, where=switch.url, previous=prev, findings=switch.findings)
        if switch.unchanged:
            return replace(
                out,
                status=DeployStatus.UNCHANGED,
                message=f"{switch.url} already serves {blessed.version}; nothing to do",
            )
        if not switch.ok:
            why = "; ".join(f.message for f in switch.findings if f.severity is Severity.ERROR)
            kept = f"{prev} keeps serving" if prev else "nothing was serving"
            return replace(
                out,
                status=DeployStatus.FAILED,
                message=f"the smoke test failed ({why}); {kept}, the new version took no traffic",
            )
        state.write(where, replace(record, url=switch.url))
        return replace(out, message=f"{switch.url} now serves {blessed.version}" + (f" (was {prev})" if prev else ""))
    if target.target == "kserve":
        return _kserve(repo.root, blessed, target, base)
    previous = state.read(where)
    if previous is not None and previous.digest == record.digest:
        return replace(
            base,
            status=DeployStatus.UNCHANGED,
            message=f"{blessed.version} was already deployed by the command; nothing to do",
        )
    code = command.run(repo.root, blessed, target)
    if code != 0:
        return replace(
            base,
            status=DeployStatus.FAILED,
            where=" ".join(target.command),
            message=f"the deploy command exited with {code}",
        )
    state.write(where, record)
    return replace(
        base,
        where=" ".join(target.command),
        previous=previous.version if previous else None,
        message=f"the command deployed {blessed.version}",
    )


def _storage(root: Path, target: DeployTarget) -> str:
    if target.storage:
        return target.storage
    remote = dvc.default_remote(root)
    if remote is None:
        raise MlgitError(
            f"deploy.{target.stage} (kserve) has no storage and the repository no default DVC remote",
            hint=f"set deploy.{target.stage}.storage (for example s3://bucket/mlgit-bundles), or dvc remote add -d",
        )
    url = remote.url if "://" in remote.url or remote.url.startswith("/") else str((root / remote.url).resolve())
    return f"{url.rstrip('/')}/mlgit-bundles"


def _kserve(root: Path, blessed: blessing.Blessed, target: DeployTarget, base: DeployOutcome) -> DeployOutcome:
    storage = _storage(root, target)
    doc = kserve.manifest(blessed, target, storage)
    validated = kserve.require_valid(doc)
    rel = kserve.path_of(target, blessed.model)
    text = kserve.render(doc)
    path = root / rel
    note = "" if validated else f" (not validated: {kserve.sdk_available()} not installed; pip install 'mlgit[kserve]')"
    old = kserve.read_annotations(path) if path.is_file() else None
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return replace(
            base,
            status=DeployStatus.UNCHANGED,
            where=rel,
            message=f"{rel} already names {blessed.version}; nothing to do",
        )
    kserve.upload(blessed, storage)
    atomic.write_text(path, text)
    prev = (old or {}).get("version")
    return replace(
        base,
        where=rel,
        previous=prev,
        message=f"wrote {rel} for {blessed.version}; commit it for Argo CD or Flux to sync{note}",
    )


def _roll_back(repo: RepoState, cfg: Config | None, outcome: DeployOutcome, push: str | None) -> DeployOutcome:
    rules = stages.rules_of(cfg)
    try:
        written = tag_writer.write(
            repo,
            outcome.model,
            push,
            lambda scan: stages.plan_rollback(stages.require(repo, scan, outcome.model, cfg), outcome.stage, rules),
            rules.serialize_pushes,
        )
    except MlgitError as exc:
        return replace(outcome, message=f"{outcome.message}; no rollback recorded: {exc.message}")
    names = tuple(t.name for t in written.plan.tags)
    back = written.plan.version
    return replace(
        outcome,
        rollback_tags=names,
        message=f"{outcome.message}; rolled {outcome.stage} back to {back} ({', '.join(names)})",
    )


@dataclass(frozen=True)
class Stopped:
    """What `deploy stop` did."""

    model: str
    stage: str
    stopped: bool  # False: nothing was running


def stop(repo: RepoState, model: str, stage: str) -> Stopped:
    """Stop a local deployment (its front and every server behind it)."""
    where = state.folder(repo, model, stage)
    stopped = local.stop(where)
    (where / state.STATE).unlink(missing_ok=True)
    return Stopped(model, stage, stopped)


def _observe(repo: RepoState, model: str, target: DeployTarget) -> tuple[str | None, str | None]:
    """(version, digest) the target serves now, (None, None) when nothing does."""
    if target.target == "local":
        host, port = _address(repo, model, target)
        seen = local.served(host, port, model)
        return (seen["version"], seen["digest"]) if seen else (None, None)
    if target.target == "kserve":
        notes = kserve.read_annotations(repo.root / kserve.path_of(target, model))
        return (notes.get("version"), notes.get("digest")) if notes else (None, None)
    doc = state.read(state.folder(repo, model, target.stage))
    return (doc.version, doc.digest) if doc else (None, None)


def _address(repo: RepoState, model: str, target: DeployTarget) -> tuple[str, int]:
    """Where a local deployment listens: as it was started (a --port override), else as configured."""
    return local.recorded_address(state.folder(repo, model, target.stage)) or (target.host, target.port)


def status(repo: RepoState, model: str | None) -> list[Row]:
    """Every configured stage of every model (or one), desired against served."""
    from mlgit.registry import tags as registry

    cfg = _config(repo.root)
    if cfg is None or not cfg.deploy:
        raise UsageError("mlgit.yaml declares no deploy targets", hint="add a deploy: section (see the README)")
    names = [model] if model else [m.name for m in cfg.models]
    rows = []
    notes = store.digests(repo.root)  # one read of the digest notes for every row
    for name in names:
        art = stages.require(repo, registry.scan(repo, name), name, cfg)
        for target in cfg.deploy:
            if target.serves(name):
                rows.append(_row(repo, art, target, notes))
    return rows


def _row(repo: RepoState, art: stages.ModelState, target: DeployTarget, notes: dict[str, dict[str, Any]]) -> Row:
    held = art.current(target.stage)
    desired = str(held.version) if held and held.version else None
    digest = None
    if desired is not None:
        rel = release.resolve(repo, release.spec(art.display, version=desired))
        noted = _noted_digest(notes, rel)
        digest = f"sha256:{noted}" if noted else None
    version, served = _observe(repo, art.display, target)
    host, port = _address(repo, art.display, target)
    where = f"http://{host}:{port}" if target.target == "local" else None
    if target.target == "kserve":
        where = kserve.path_of(target, art.display)
    if desired is None:
        sync = SyncStatus.IN_SYNC if version is None else SyncStatus.DRIFTED
    elif version is None:
        sync = SyncStatus.DOWN
    elif version == desired and (digest is None or served == digest):
        sync = SyncStatus.IN_SYNC
    else:
        sync = SyncStatus.DRIFTED
    return Row(art.display, target.stage, target.target, desired, digest, version, served, sync, where)
