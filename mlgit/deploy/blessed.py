"""The bundle a deploy may roll out: the stage's release, packaged, unchanged, with a passing evaluation.

A bundle is named by its archive's sha256. It is deployed only when that digest is the one recorded at
packaging (beside the archive, in the store's file name or in the git note) and `mlgit check package` left a
passing evaluation record for exactly that digest in the local store. What runs is the archive unpacked into
the deploy folder, never a folder someone could have edited after the check.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgit.errors import MlgitError, Refused
from mlgit.package import archive, release, store
from mlgit.repo.state import RepoState
from mlgit.results.finding import Severity
from mlgit.serve import bundles, evaluate
from mlgit.serve.bundles import Opened


@dataclass(frozen=True)
class Blessed:
    """A verified bundle, unpacked where deployments run it from."""

    model: str
    version: str
    digest: str  # hex sha256 of the archive
    archive: Path  # the store's copy
    folder: Path  # unpacked under <git dir>/mlgit/deploy/bundles/<digest>/
    manifest: dict[str, Any]
    record: Path

    @property
    def opened(self) -> Opened:
        """The bundle as the serving checks take it."""
        return Opened(self.folder, self.archive, self.digest, self.digest)


def obtain(repo: RepoState, rel: release.Release, given: str | None, deploy_root: Path) -> Blessed:
    """The stage's release as a blessed bundle: the given one, one packaged before, or packaged now."""
    arg = given or f"{rel.model}@{rel.version}"
    path = Path(arg) if Path(arg).is_absolute() else repo.root / arg
    if given is not None and path.is_dir():
        beside = path.with_name(path.name + ".tar.gz")
        if not beside.is_file():
            raise Refused(f"{arg}: a bundle folder without its archive cannot be verified", hint="deploy the .tar.gz")
        arg = str(beside)
    try:
        with bundles.opened(arg, repo.root, repo) as opened:
            doc = evaluate.require_manifest(opened)
            opened = evaluate.with_noted_digest(repo.root, opened, doc)
            return _bless(repo.root, rel, opened, doc, deploy_root)
    except bundles.BadArchive as exc:
        raise Refused(f"{exc.path.name}: {exc.message}; refusing to deploy it") from None


def _bless(root: Path, rel: release.Release, opened: Opened, doc: dict[str, Any], deploy_root: Path) -> Blessed:
    assert opened.archive is not None and opened.digest is not None
    digest = opened.digest
    if opened.recorded is not None and opened.recorded != digest:
        raise Refused(
            f"{opened.archive.name} was changed after it was packaged: its sha256 is {digest}, "
            f"{opened.recorded} was recorded; refusing to deploy it",
            hint=f"package the release again: mlgit package {rel.model}@{rel.version}",
        )
    if doc["model"] != rel.model or doc["version"] != str(rel.version):
        raise Refused(
            f"the bundle is {doc['model']} {doc['version']}, but the stage holds {rel.model} {rel.version}",
            hint="deploy the stage's own release, or assign this version first (mlgit assign)",
        )
    stored = store.keep(root, opened.archive, digest)
    record = store.folder(root) / f"{digest}.evaluation.json"
    _require_pass(record, digest, stored)
    folder = _unpacked(stored, digest, unpacked_root(deploy_root))
    return Blessed(rel.model, str(rel.version), digest, stored, folder, doc, record)


def _require_pass(record: Path, digest: str, archive_path: Path) -> None:
    hint = f"mlgit check package {archive_path}"
    try:
        doc = json.loads(record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Refused(
            f"bundle sha256:{digest[:12]} has no evaluation record; refusing to deploy it", hint=hint
        ) from None
    except (OSError, ValueError) as exc:
        raise Refused(f"{record}: unreadable evaluation record ({exc}); refusing to deploy", hint=hint) from None
    bound = (doc.get("bundle") or {}).get("sha256") if isinstance(doc, dict) else None
    if bound != digest:
        raise Refused(f"{record.name} is not the evaluation of sha256:{digest[:12]}; refusing to deploy", hint=hint)
    if doc.get("passed") is not True:
        failed = [f.get("message", "") for f in doc.get("findings") or [] if f.get("severity") == Severity.ERROR]
        why = f": {failed[0]}" if failed else ""
        raise Refused(f"bundle sha256:{digest[:12]} failed its evaluation{why}; refusing to deploy it", hint=hint)


def unpacked_root(deploy_root: Path) -> Path:
    """Where deployed bundles are unpacked, one folder per digest (shared by every stage)."""
    return deploy_root / "bundles"


def _unpacked(archive_path: Path, digest: str, bundles_dir: Path) -> Path:
    dest = bundles_dir / digest
    if not dest.is_dir():
        bundles_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=bundles_dir))
        archive.extract(archive_path, tmp)
        try:
            os.rename(tmp, dest)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)  # another deploy unpacked the same digest first
    return next(p for p in dest.iterdir() if p.is_dir())


def python_for(blessed: Blessed, venvs: Path) -> Path:
    """A virtualenv with the bundle's locked requirements, shared by every bundle locking the same ones."""
    # The lock and the interpreter the venv is made from (a venv belongs to one Python build).
    seed = (blessed.folder / "requirements.txt").read_bytes() + sys.version.encode() + sys.executable.encode()
    key = hashlib.sha256(seed).hexdigest()[:24]
    venv = venvs / key
    python = venv / "bin" / "python"
    if python.is_file():
        return python
    venvs.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=venvs))
    ev = evaluate.Evaluation(blessed.model, blessed.version, blessed.digest)
    made = evaluate.install(blessed.folder, tmp / "venv", ev)
    if made is None:
        shutil.rmtree(tmp, ignore_errors=True)
        raise MlgitError("; ".join(f.message for f in ev.findings if f.severity is Severity.ERROR))
    try:
        os.rename(tmp / "venv", venv)
    except OSError:
        pass  # made by another deploy meanwhile: use that one
    shutil.rmtree(tmp, ignore_errors=True)
    return python
