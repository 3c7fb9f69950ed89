"""`mlgit check repro`: re-run the pipeline in a temporary worktree and compare every output with dvc.lock.

The worktree gets a DVC cache of its own (the user's cache is only read, never written) and the data DVC
tracks outside the pipeline is copied in from the user's work tree. Every stage is re-run (`dvc repro -f`)
N times; each output is then bit-identical to what dvc.lock records, within tolerance (a model whose bytes
differ but whose predictions on the golden inputs agree; a metrics file whose gated metrics agree), or not
reproducible (a finding naming the stage and the output).
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlgit.config.settings import Model, TrustSource
from mlgit.errors import CommandFailed, MlgitError
from mlgit.model import artifact
from mlgit.repo import dvc, values, worktree
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.results.status import Status


class Reproducibility(Status):
    """How an output (and so the model) reproduced: the worst of its outputs is the model's verdict."""

    IDENTICAL = "bit-identical"
    WITHIN = "within tolerance"
    NOT = "not reproducible"


@dataclass(frozen=True)
class Verdict:
    """The check's answer, as `promote` records it in the lineage."""

    verdict: Reproducibility
    runs: int
    tolerance: float
    outputs: dict[str, Reproducibility]  # output path -> its classification


@dataclass(frozen=True)
class _Trust:
    """Why the recorded model may be unpickled (None: it may not), and where the settings saying so came from."""

    reason: str | None
    source: TrustSource | None


@contextmanager
def _isolated(repo: RepoState, rev: str) -> Iterator[Path]:
    """A detached worktree with its own empty DVC cache and the pipeline's source data copied in."""
    with worktree.temporary(repo.root, rev, cache="own", prefix="mlgit-repro-") as wt:
        produced = {o for s in dvc.read_stages(wt) for o in s.outs}
        for path in repo.dvc_hashes(rev):
            src = repo.root / path
            if path in produced or not src.exists() or (wt / path).exists():
                continue
            (wt / path).parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, wt / path)
            else:
                shutil.copyfile(src, wt / path)
        yield wt


def _outs(root: Path, rev: str | None, repo: RepoState) -> dict[str, str]:
    """Output path -> md5 that dvc.lock records (at `rev`, or in the work tree `root`)."""
    stages = dvc.read_stages(root)
    locks = sorted({s.lock for s in stages})
    if rev is not None:
        raw = repo.blobs(rev, locks)
    else:
        raw = {lock: (root / lock).read_bytes() if (root / lock).is_file() else None for lock in locks}
    return dvc.hashes_in(raw, deps=False)


def _close(a: float, b: float, tol: float) -> bool:
    return math.isclose(a, b, rel_tol=tol, abs_tol=tol)


def _metrics_agree(repo: RepoState, wt: Path, path: str, model: Model, tol: float) -> tuple[bool, str]:
    old = values.parse(path, (repo.root / path).read_bytes())
    new = values.parse(path, (wt / path).read_bytes())
    gated = [g.metric.rsplit(":", 1)[-1] for g in model.policy.gates] or [
        k for k, v in old.items() if isinstance(v, float)
    ]
    worst = []
    for key in gated:
        a, b = old.get(key), new.get(key)
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False, f"{key}: {a!r} recorded, {b!r} reproduced"
        if not _close(float(a), float(b), tol):
            return False, f"{key}: {a} recorded, {b} reproduced (tolerance {tol:g})"
        worst.append(abs(float(a) - float(b)))
    return True, f"gated metrics agree (largest difference {max(worst, default=0.0):.3g})"


def _predictions_agree(repo: RepoState, wt: Path, model: Model, tol: float, trust: _Trust) -> tuple[bool, str]:
    import numpy as np

    if model.golden is None:
        return False, "its bytes differ and no golden.input is declared to compare predictions on"
    try:
        before = artifact.golden_run(repo.root, model, trust.reason, trust.source).output
        after = artifact.golden_run(wt, model, "rebuilt by mlgit check repro itself").output
    except MlgitError as exc:
        return False, f"predictions could not be compared: {exc.message}"
    if before.shape != after.shape:
        return False, f"predictions on {model.golden.input} have shape {after.shape}, recorded {before.shape}"
    diff = float(np.max(np.abs(before.astype(float) - after.astype(float)))) if before.size else 0.0
    if diff > tol:
        return False, f"predictions on {model.golden.input} differ by up to {diff:.3g} (tolerance {tol:g})"
    return True, f"predictions on {model.golden.input} agree (largest difference {diff:.3g})"


def _classify(
    repo: RepoState, wt: Path, model: Model, path: str, tol: float, trust: _Trust
) -> tuple[Reproducibility, str]:
    if path == model.path:
        ok, why = _predictions_agree(repo, wt, model, tol, trust)
    elif path in model.metrics:
        ok, why = _metrics_agree(repo, wt, path, model, tol)
    else:
        return Reproducibility.NOT, "its bytes differ from dvc.lock"
    return (Reproducibility.WITHIN if ok else Reproducibility.NOT), why


def check(
    repo: RepoState, model: Model, runs: int, trusted: str | None, source: TrustSource | None = None
) -> tuple[Verdict, list[Finding]]:
    """Re-run the pipeline `runs` times and classify every output; the verdict and one finding per output.

    `trusted` is why the model dvc.lock records may be unpickled (`artifact.pickle_trust`, None: it may not);
    `source` is where `model`'s trust settings came from (`trust.settings`), named when it is not loaded.
    """
    if repo.head is None:
        raise MlgitError("the repository has no commits: nothing to reproduce")
    tol = model.policy.repro_tolerance
    expected = _outs(repo.root, repo.head, repo)
    stage_of = {o: s.name for s in dvc.read_stages(repo.root) for o in s.outs}
    seen: dict[str, list[str]] = {}
    classes: dict[str, tuple[Reproducibility, str]] = {}
    findings: list[Finding] = []
    with _isolated(repo, repo.head) as wt:
        for n in range(1, runs + 1):
            try:
                dvc.repro(wt, force=True)
            except CommandFailed as exc:
                message = f"dvc repro failed in run {n} of {runs}: {exc.message}"
                failed = Finding(code=Code.REPRO_FAILED, severity=Severity.ERROR, subject=model.name, message=message)
                return Verdict(Reproducibility.NOT, n, tol, {}), [failed]
            for path, md5 in _outs(wt, None, repo).items():
                seen.setdefault(path, []).append(md5)
            for path, md5s in seen.items():
                if path in classes or path not in expected:
                    continue
                if md5s[-1] != expected[path]:
                    classes[path] = _classify(repo, wt, model, path, tol, _Trust(trusted, source))
    findings += _per_output(model.name, expected, seen, classes, stage_of, runs)
    worst = (
        Reproducibility.NOT
        if any(s is Reproducibility.NOT for s, _ in classes.values())
        else Reproducibility.WITHIN
        if any(s is Reproducibility.WITHIN for s, _ in classes.values())
        else Reproducibility.IDENTICAL
    )
    verdict = Verdict(worst, runs, tol, {p: s for p, (s, _) in sorted(classes.items())})
    findings.append(
        Finding(
            code=Code.REPRO_VERDICT,
            severity=Severity.ERROR if worst is Reproducibility.NOT else Severity.INFO,
            subject=model.name,
            message=f"{model.name} at {repo.head[:12]}: {worst} ({runs} run(s) of every stage, tolerance {tol:g})",
            data=serialize.plain(verdict),
        )
    )
    return verdict, findings


def _per_output(
    name: str,
    expected: dict[str, str],
    seen: dict[str, list[str]],
    classes: dict[str, tuple[Reproducibility, str]],
    stage_of: dict[str, str],
    runs: int,
) -> list[Finding]:
    """One finding per output dvc.lock records; `classes` is completed with the identical ones."""
    findings: list[Finding] = []
    for path, want in sorted(expected.items()):
        got = seen.get(path, [])
        stage = stage_of.get(path, "?")
        status, why = classes.get(path, (Reproducibility.IDENTICAL, f"{runs} run(s) gave the md5 dvc.lock records"))
        if status is Reproducibility.IDENTICAL and any(m != want for m in got):
            status, why = Reproducibility.NOT, "a run gave other bytes than dvc.lock"
        classes[path] = (status, why)
        code = {
            Reproducibility.IDENTICAL: Code.REPRO_IDENTICAL,
            Reproducibility.WITHIN: Code.REPRO_WITHIN_TOLERANCE,
            Reproducibility.NOT: Code.REPRO_NOT_REPRODUCIBLE,
        }[status]
        severity = Severity.ERROR if status is Reproducibility.NOT else Severity.INFO
        findings.append(
            Finding(
                code=code,
                severity=severity,
                subject=name,
                file="dvc.lock",
                message=f"stage {stage}, output {path}: {status} ({why})",
                data={"stage": stage, "output": path, "recorded": want, "reproduced": got, "status": status},
            )
        )
    return findings
