"""The pipeline check: every stage (or `.dvc` file) whose dvc.lock no longer matches the work tree.

The model check reports only the stages a model depends on, as errors; this one is the repository-wide
warning the report shows in its pipeline section. Stage files and lines come from the DVC adapter.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mlgit.repo import dvc as pipeline
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity


def stale_findings(root: Path, stale: dict[str, list[str]] | None) -> list[Finding]:
    """`pipeline.stale` per stale stage, or `pipeline.status-unknown` when `dvc status` could not tell (None)."""
    if stale is None:
        msg = "could not tell whether the pipeline is up to date ('dvc status' failed)"
        return [Finding(code=Code.PIPELINE_STATUS_UNKNOWN, severity=Severity.WARNING, subject="pipeline", message=msg)]
    by_name = {s.name: s for s in pipeline.read_stages(root)} if stale else {}
    out = []
    for name, reasons in stale.items():
        # `dvc status` names a stage `name`, `sub/dvc.yaml:name` (`@item` for foreach), or a `.dvc` file by its path.
        # The DVC adapter resolves foreach/matrix stages (`train@a`); a bare `train` entry also matches its items.
        stage = by_name.get(name)
        stage_name, at, item = name.partition("@")
        if stage is None and at and stage_name in by_name:
            stage = replace(by_name[stage_name], key=f"{by_name[stage_name].key}@{item}")
        file: str | None = name if name.endswith(".dvc") else None
        line = None
        if stage is not None:
            file, line = stage.lock, pipeline.lock_line(root, stage)
        if file is not None and not (root / file).is_file():
            file, line = None, None
        why = ", ".join(reasons) or "changed"
        out.append(
            Finding(
                code=Code.PIPELINE_STALE,
                severity=Severity.WARNING,
                subject=name,
                message=f"stage '{name}' is stale ({why}): the committed outputs and metrics may not match the code; "
                "run 'dvc repro' and commit",
                file=file,
                line=line,
                data={"reasons": list(reasons)},
            )
        )
    return out
