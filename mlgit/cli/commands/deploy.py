"""`mlgit deploy apply|stop|status`: stage tags are the desired state; deploy converges targets to them."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.deploy import apply as deploy
from mlgit.render.style import Style
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.finding import Severity

_APPLIED = {deploy.DeployStatus.DEPLOYED: "green", deploy.DeployStatus.FAILED: "red"}
_SYNCED = {deploy.SyncStatus.IN_SYNC: "green", deploy.SyncStatus.DRIFTED: "yellow", deploy.SyncStatus.DOWN: "red"}


def _waiting(holder: str) -> None:
    sys.stderr.write(f"waiting for the deploy lock: another deploy of this stage runs (pid {holder})\n")
    sys.stderr.flush()


def run_apply(
    cwd: Path,
    model: str,
    stage: str,
    bundle: str | None,
    target: str | None,
    port: int | None,
    auto_rollback: bool,
    dry_run: bool,
    push: str | None,
    json: bool,
) -> int:
    """Deploy the version the stage holds; exit 1 when it was refused or failed its smoke test."""
    out = deploy.apply(
        RepoState.open(cwd),
        model,
        stage,
        bundle=bundle,
        target_name=target,
        port=port,
        auto_rollback=auto_rollback,
        dry_run=dry_run,
        push=push,
        on_wait=_waiting,
    )
    if json:
        sys.stdout.write(serialize.dumps(out) + "\n")
    else:
        style = Style.for_stdout()
        color = _APPLIED.get(out.status, "")
        head = f"{out.model} {out.version} -> {out.stage} ({out.target}): {out.status}"
        sys.stdout.write((style(head, color) if color else head) + f"\n  {out.message}\n")
        for f in out.findings:
            if f.severity is Severity.ERROR:
                sys.stdout.write(f"  {f.code}: {f.message}\n")
    return EXIT_FAILED if out.status is deploy.DeployStatus.FAILED else EXIT_OK


def run_stop(cwd: Path, model: str, stage: str, json: bool) -> int:
    """Stop a local deployment (nothing to do when none runs)."""
    done = deploy.stop(RepoState.open(cwd), model, stage)
    if json:
        sys.stdout.write(serialize.dumps(done) + "\n")
    else:
        sys.stdout.write(
            f"stopped {model} in {stage}\n" if done.stopped else f"{model} is not running in {stage}; nothing to stop\n"
        )
    return EXIT_OK


def run_status(cwd: Path, model: str | None, json: bool) -> int:
    """Desired (tags) against served, per stage; exit 1 when anything is out of sync."""
    rows = deploy.status(RepoState.open(cwd), model)
    if json:
        sys.stdout.write(serialize.dumps(deploy.StatusReport(tuple(rows))) + "\n")
    else:
        style = Style.for_stdout()
        for r in rows:
            served = r.serving or "nothing"
            line = f"{r.model} {r.stage} ({r.target}{', ' + r.where if r.where else ''}): desired {r.desired or 'none'}, serving {served}"
            sys.stdout.write(f"{style(str(r.status), _SYNCED[r.status])}  {line}\n")
    return EXIT_OK if all(r.status is deploy.SyncStatus.IN_SYNC for r in rows) else EXIT_FAILED
