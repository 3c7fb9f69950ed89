"""`mlgit check package BUNDLE`: install offline, serve, compare with the golden outputs, hold to budgets."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgit.cli.exit import EXIT_FAILED, EXIT_OK
from mlgit.config import settings as config
from mlgit.config.settings import Budgets, Packaging
from mlgit.errors import MlgitError
from mlgit.render import findings as render
from mlgit.render.style import Style
from mlgit.repo import git
from mlgit.results import serialize
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity, failed
from mlgit.serve import bundles, evaluate


def _root(cwd: Path) -> Path | None:
    try:
        return git.toplevel(cwd)
    except MlgitError:
        return None  # a bundle can be checked anywhere; only the store needs a repository


def _packaging(root: Path | None, model: str) -> Packaging:
    """The model's packaging settings from the work tree's mlgit.yaml (none outside a repository)."""
    if root is None or not (root / config.CONFIG_NAME).is_file():
        return Packaging()
    cfg = config.load(root)
    return next((m.package for m in cfg.models if m.name == model), Packaging())


def run(cwd: Path, bundle: str, json: bool) -> int:
    """Evaluate one bundle; exit 1 with a finding per failure."""
    root = _root(cwd)
    budgets = Budgets()
    written: list[Path] = []
    try:
        with bundles.opened(bundle, cwd) as opened:
            doc = evaluate.require_manifest(opened)
            opened = evaluate.with_noted_digest(root, opened, doc)
            settings = _packaging(root, doc["model"])
            budgets = settings.budgets
            ev = evaluate.evaluate(opened, budgets, settings.requests)
            written = evaluate.write_record(root, opened, ev, budgets)
    except bundles.BadArchive as exc:
        bad = Finding(code=Code.PACKAGE_INTEGRITY, severity=Severity.ERROR, subject=exc.path.name, message=exc.message)
        ev = evaluate.Evaluation(exc.path.name, "", exc.digest, [bad])
    return _show(ev, written, json, budgets)


def _show(ev: evaluate.Evaluation, written: list[Path], json: bool, budgets: Budgets) -> int:
    if json:
        doc = render.document(ev.findings, command="check package", record=ev.record(budgets), written=written)
        sys.stdout.write(serialize.dumps(doc) + "\n")
    else:
        title = f"Package checks: {ev.model} {ev.version} (sha256:{(ev.digest or 'unknown')[:12]})"
        out = render.lines(ev.findings, Style.for_stdout(), title=title)
        out += [f"evaluation record: {p}" for p in written]
        sys.stdout.write("\n".join(out) + "\n")
    return EXIT_FAILED if failed(ev.findings) else EXIT_OK
