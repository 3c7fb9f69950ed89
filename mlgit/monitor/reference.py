"""What a window is measured against: the release, its training profile and schema, and stored windows.

The release comes from the registry: `vX.Y.Z` in the release grammar (`MODEL@vX.Y.Z`), `last-release`, `best`
or `stage:NAME` through the one baseline resolver; its training profile and schema file are read at the release
commit through git, so no training data is read, ever. Stored windows live under `monitoring/<model in tag form>/<version>/<start>--<end>.json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlgit.config.settings import Config, Dataset, Model
from mlgit.data import profile as profiles
from mlgit.data import schema as schemas
from mlgit.data.profile import Profile
from mlgit.data.schema import Schema
from mlgit.errors import InputError, MlgitError, UsageError
from mlgit.monitor import window as windows
from mlgit.monitor.window import Window
from mlgit.package import release as releases
from mlgit.registry import baseline, tags
from mlgit.registry.semver import Version
from mlgit.repo.state import RepoState
from mlgit.system import atomic

STORE = "monitoring"


@dataclass(frozen=True)
class Reference:
    """The release a window belongs to, the training data's profile and schema there, and a base window."""

    release: releases.Release
    dataset: Dataset
    profile_path: str
    profile: Profile
    schema: Schema | None
    base_window: Window | None  # --base WINDOW: drift of inputs and predictions against it

    @property
    def version(self) -> str:
        """The release's version, `vX.Y.Z`."""
        return str(self.release.version)


def names_a_release(base: str) -> bool:
    """Whether a `--base` names a release (a version, or a model form of the baseline resolver), not a window."""
    return Version.parse(base) is not None or baseline.names_a_version(base)


def named_release(repo: RepoState, model: Model, base: str) -> releases.Release:
    """The release a `--base` names: `vX.Y.Z`, or `last-release`, `best`, `stage:NAME` as every command reads them."""
    if Version.parse(base) is not None:
        return releases.resolve(repo, releases.spec(model.name, version=base))
    if not baseline.names_a_version(base):
        raise UsageError(f"--base {base!r}: expected last-release, best, stage:NAME, vX.Y.Z or a stored window")
    found = baseline.resolve(repo, base, model)
    if found.version is None and found.commit is not None:  # a stage holding a commit that was never released
        raise MlgitError(f"{found.label} is commit {found.commit[:8]} of {model.name}, which has no release")
    if found.version is None:
        raise MlgitError(f"{model.name} has no release yet", hint=f"release one first: mlgit promote {model.name}")
    return releases.resolve(repo, releases.spec(model.name, version=str(found.version)))


def folder(root: Path, store: str, model: str, version: str) -> Path:
    """Where a release's windows are kept."""
    return root / store / tags.tag_name(model) / version


def stored(root: Path, store: str, model: str, version: str) -> list[tuple[Path, Window]]:
    """The release's stored windows, oldest first."""
    where = folder(root, store, model, version)
    if not where.is_dir():
        return []
    out = []
    for path in sorted(where.glob("*.json")):
        out.append((path, windows.loads(path.read_bytes(), str(path))))
    return out


def _window_file(root: Path, store: str, model: str, spec: str) -> Path | None:
    path = Path(spec)
    if path.suffix == ".json" and (path if path.is_absolute() else root / path).is_file():
        return path if path.is_absolute() else root / path
    base = root / store / tags.tag_name(model)
    found = sorted(base.glob(f"*/{spec}.json")) if base.is_dir() else []
    return found[-1] if found else None


def _dataset(cfg: Config, model: Model, name: str | None) -> Dataset:
    candidates = cfg.datasets_of(model)
    if name is not None:
        for d in candidates:
            if d.name == name:
                return d
        raise UsageError(f"models.{model.name}.monitor.reference: {name!r} is not one of the model's datasets")
    if not candidates:
        raise MlgitError(f"{model.name} has no datasets in mlgit.yaml: nothing to measure traffic against")
    trains = [d for d in candidates if "train" in d.name]
    return (trains or list(candidates))[0]


def resolve(repo: RepoState, cfg: Config, model: Model, base: str, store: str) -> Reference:
    """The reference for `mlgit monitor --base BASE`."""
    base_window = None
    wfile = None if names_a_release(base) else _window_file(repo.root, store, model.name, base)
    if wfile is not None:
        base_window = windows.loads(wfile.read_bytes(), str(wfile))
        release = releases.resolve(repo, releases.spec(model.name, version=base_window.release))
    else:
        release = named_release(repo, model, base)
    ds = _dataset(cfg, model, model.monitor.reference)
    rel = schemas.profile_path(ds.schema_path)
    blobs = repo.blobs(release.commit, [rel, ds.schema_path])
    raw = blobs.get(rel)
    if raw is None:
        raise MlgitError(
            f"{release.tag} has no committed data profile {rel}: there is nothing to measure traffic against",
            hint="run 'mlgit schema infer' (or 'mlgit check data --update-profile'), commit, and release again",
        )
    profile = profiles.loads(raw, f"{rel} at {release.tag}")
    raw_schema = blobs.get(ds.schema_path)
    schema = schemas.parse(raw_schema, f"{ds.schema_path} at {release.tag}") if raw_schema is not None else None
    return Reference(release, ds, rel, profile, schema, base_window)


def save(path: Path, w: Window, force: bool) -> bool:
    """Write the window file; True when written. Different contents under the same name need --force."""
    text = windows.dumps(w)
    if path.exists() and not path.is_symlink():
        old = path.read_text(encoding="utf-8", errors="replace")
        if old == text:
            return False
        if not force:
            raise InputError(
                f"{path} already holds another profile of this window",
                hint="pass --force to replace it, or choose another --window",
            )
    atomic.write_text(path, text)
    return True
