"""`mlgit schema infer`: write a reviewable schema file (and the data profile) for each dataset."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgit.actions import profiles
from mlgit.checks import data as datacheck
from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.data import inference, table
from mlgit.errors import MlgitError
from mlgit.render import progress
from mlgit.render.style import Style
from mlgit.render.style import table as text_table
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity


def run(cwd: Path, datasets: list[str], force: bool, json: bool) -> int:
    """Infer every named dataset's schema (all by default); refuse to overwrite one without --force."""
    root = git.toplevel(cwd)
    cfg = config.load(root)
    chosen = _chosen(root, cfg, datasets, force)
    ticker = progress.ticker() if progress.wanted(sys.stderr, json) else None
    skipped: list[Finding] = []
    inferred = _infer_all(root, chosen, ticker, skipped)
    for ds, inf in inferred:
        profiles.write_schema(root, ds, inf.schema, inf.rows)
    # The first check against the new schemas measures each profile (written beside the schema by the action)
    # and fills the result cache.
    repo = RepoState(root, None)
    repo = repo.with_branch(trust.settings(repo, cfg).ci.default_branch)
    report = datacheck.check(repo, cfg, [ds.name for ds, _ in inferred], progress=ticker)
    written = profiles.update(root, [ds for ds, _ in inferred], report.results)
    results = {r.name: r for r in report.results}
    out = [profiles.WrittenSchema.of(ds, inf, (*results[ds.name].findings, *written)) for ds, inf in inferred]
    if json:
        sys.stdout.write(serialize.dumps(profiles.InferredSchemas(tuple(out), tuple(skipped))) + "\n")
    else:
        lines = _lines(out, Style.for_stdout()) if out else []
        lines += [f"skipped {f.subject}: {f.message}" for f in skipped]
        sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FAILED if skipped else EXIT_OK


def _chosen(root: Path, cfg: config.Config, names: list[str], force: bool) -> list[config.Dataset]:
    chosen = datacheck.select(cfg, names)
    if not chosen:
        raise MlgitError(f"{config.CONFIG_NAME} declares no datasets", hint="add one under 'datasets:'")
    existing = [ds.schema_path for ds in chosen if (root / ds.schema_path).exists()]
    if existing and not force:
        raise MlgitError(
            f"schema file{'s' if len(existing) > 1 else ''} already exist{'' if len(existing) > 1 else 's'}: "
            f"{', '.join(existing)}; nothing was written",
            hint="pass --force to replace them (then review the diff before committing)",
        )
    return chosen


def _infer_all(
    root: Path, chosen: list[config.Dataset], ticker: progress.Ticker | None, skipped: list[Finding]
) -> list[tuple[config.Dataset, inference.Inferred]]:
    # Infer everything before writing anything: one unreadable dataset leaves every file as it was. A dataset
    # that is only not pulled (DVC-tracked, absent here) is skipped with a finding; the others are written.
    hashes = table.dvc_hashes(root)
    inferred = []
    for ds in chosen:
        try:
            source = table.locate(root, ds.path, ds.format, hashes.keys())
            if ticker is not None:
                ticker.start(ds.name, source.label, source.size)
            try:
                inferred.append((ds, inference.infer(ds.name, source)))
            finally:
                if ticker is not None:
                    ticker.done(ds.name)
        except table.TableError as exc:
            if exc.code is Code.DATA_NOT_PULLED and len(chosen) > 1:
                skipped.append(
                    Finding(
                        code=exc.code,
                        severity=Severity.ERROR,
                        subject=ds.name,
                        message=exc.message + (f"; {exc.hint}" if exc.hint else ""),
                        file=exc.file or ds.path,
                    )
                )
                continue
            raise MlgitError(f"dataset {ds.name!r}: {exc.message}", hint=exc.hint) from None
    return inferred


def _lines(out: list[profiles.WrittenSchema], style: Style) -> list[str]:
    rows = [[d.name, d.schema, str(d.rows), str(d.columns)] for d in out]
    lines = [style("Schemas written (review them, then commit them with the profiles beside them)", "bold")]
    lines += ["  " + line for line in text_table(["Dataset", "Schema", "Rows", "Columns"], rows)]
    for d in out:
        for note in d.notes:
            lines.append(style(f"  note: {d.name}: {note}", "yellow"))
        for f in d.findings:
            lines.append(style(f"  {f.severity}: {d.name}: {f.message}", "yellow"))
    return lines
