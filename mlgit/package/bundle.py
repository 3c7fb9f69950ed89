"""`mlgit package`: build a release's bundle from its commit, never from the work tree.

The model bytes are the ones DVC recorded at the release commit (asked of the DVC adapter: DVC's cache wherever
it lives, else the remote), md5-checked; mlgit.yaml, the golden input and the schema are read through git at that commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from mlgit import __version__
from mlgit.config import settings
from mlgit.config.settings import Config, Model
from mlgit.data import schema as schemas
from mlgit.errors import MlgitError
from mlgit.model import artifact
from mlgit.package import archive, build_backend, deps, manifest, store
from mlgit.package.release import Release
from mlgit.repo import dvc as pipeline
from mlgit.repo import git, trust
from mlgit.repo.state import RepoState
from mlgit.results import serialize
from mlgit.system import atomic

_OIP_TYPES = {"int": "INT64", "float": "FP64", "bool": "BOOL"}
_NUMPY_KINDS = {"f": "FP64", "i": "INT64", "u": "INT64", "b": "BOOL"}


@dataclass(frozen=True)
class Built:
    """A packaged release: its folder, deterministic archive, digest, and the stored copy."""

    JSON_COMPUTED: ClassVar[Mapping[str, str]] = {
        "model": "model",
        "version": "version",
        "commit": "commit",
        "files": "files",
    }

    release: Release = field(metadata=serialize.OMIT)
    folder: Path
    archive: Path
    digest: str = field(metadata=serialize.key("sha256"))
    stored: Path
    manifest: dict[str, Any] = field(metadata=serialize.OMIT)

    @property
    def model(self) -> str:
        """The released model."""
        return self.release.model

    @property
    def version(self) -> str:
        """The release's version."""
        return str(self.release.version)

    @property
    def commit(self) -> str:
        """The release's commit."""
        return self.release.commit

    @property
    def files(self) -> int:
        """How many files the bundle holds."""
        return len(self.manifest["files"])


def build(repo: RepoState, release: Release, output: Path) -> Built:
    """Package `release` into `output/<name>-<version>/` and `output/<name>-<version>.tar.gz`."""
    root = repo.root
    cfg = config_at(repo, release.commit)
    model = cfg.model(release.model)
    if model.golden is None:
        raise MlgitError(
            f"{model.name} at {release.version} declares no golden input; a bundle needs one",
            hint=f"add models.{model.name}.golden.input to mlgit.yaml and release again",
        )
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".mlgit-package-", dir=output) as tmp:
        staging = Path(tmp) / release.slug
        _stage(repo, cfg, model, release, staging)
        final = output / release.slug
        archive_path = output / f"{release.slug}.tar.gz"
        digest = archive.write(staging, Path(tmp) / archive_path.name, git.commit_time(root, release.commit))
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        os.replace(Path(tmp) / archive_path.name, archive_path)
    atomic.write_text(output / f"{release.slug}.tar.gz.sha256", f"{digest}  {archive_path.name}\n")
    stored = store.keep(root, archive_path, digest)
    doc = manifest.read(final)
    store.record_digest(
        root,
        release.commit,
        f"{release.model}@{release.version}",
        {"sha256": digest, "python": doc["python"]["tag"], "platform": doc["platform"]},
    )
    return Built(release, final, archive_path, digest, stored, doc)


def config_at(repo: RepoState, commit: str) -> Config:
    """mlgit.yaml as the release commit has it."""
    raw = repo.blobs(commit, [settings.CONFIG_NAME])[settings.CONFIG_NAME]
    if raw is None:
        raise MlgitError(f"commit {commit[:12]} has no {settings.CONFIG_NAME}")
    return settings.from_bytes(repo.root, raw)


def pickle_trust(repo: RepoState, cfg: Config, release: Release) -> tuple[Model, str | None]:
    """The release's model with its trust settings as the remote's default branch has them (never the release
    commit's own mlgit.yaml), and why its pickle may be loaded: only when that branch trusts pickles AND the
    release commit is on it (or on a branch its `policy.release_branches` allows). A release tag on a change's
    own commit (one fetched from a fork, or made by hand) vouches for nothing (issue 12)."""
    trusted_cfg = trust.settings(repo, cfg)
    model = trusted_cfg.model(release.model)
    source = trusted_cfg.trust
    if not model.trust_pickle or source is None or not trust.vouches(repo.root, trusted_cfg, model, release.commit):
        return model, None
    return model, f"its bytes are the ones DVC recorded at {release.tag}, a release on {source.label}"


def _stage(repo: RepoState, cfg: Config, model: Model, release: Release, staging: Path) -> None:
    assert model.golden is not None
    files, md5 = artifact_files(repo, release.commit, model)
    golden_raw = repo.blobs(release.commit, [model.golden.input])[model.golden.input]
    if golden_raw is None:
        raise MlgitError(f"the golden input {model.golden.input} is not committed at {release.commit[:12]}")
    golden = replace(model.golden, input="golden/input" + Path(model.golden.input).suffix)
    bundled = replace(model, path=f"model/{Path(model.path).name}", golden=golden)
    (staging / "golden").mkdir(parents=True)
    for rel, raw in files.items():
        target = staging / bundled.path / rel if rel else staging / bundled.path
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(target, raw)
    if md5.endswith(".dir"):  # a folder model: the runtime and the loaders open its one model file
        entry = artifact.entry_file(staging / bundled.path, model.loader)
        if entry is None:
            raise MlgitError(
                f"{model.path} at {release.tag} is a folder without exactly one model file to load",
                hint=f"point models.{model.name}.path at the model file inside it, or declare models.{model.name}.loader",
            )
        bundled = replace(bundled, path=f"{bundled.path}/{entry}")
    assert bundled.golden is not None
    atomic.write_bytes(staging / bundled.golden.input, golden_raw)
    trusted_model, trusted = pickle_trust(repo, cfg, release)
    judged = replace(bundled, trust_pickle=trusted_model.trust_pickle, trusted_types=trusted_model.trusted_types)
    run = artifact.golden_run(staging, judged, trusted)
    (staging / bundled.golden.input).unlink()
    sig = signature(release, bundled, run, _schema_types(repo, cfg, model, release.commit))
    if run.loader == "skops":  # golden_run loaded it: every type it needs is among the release's trusted_types
        sig["trusted_types"] = artifact.skops_types(staging / bundled.path)
    modules = deps.model_modules(staging / bundled.path, run.loader)
    names = deps.distributions(modules, run.loader, model.package.requirements)
    pins = deps.wheelhouse(deps.closure(names), deps.wheel_cache(repo.git_dir), staging / "wheelhouse")
    sig["module"] = build_backend.module_name(release.model, deps.import_names(p.name for p in pins))
    _write_json(staging / "signature.json", sig)
    _write_json(staging / "golden" / "input.json", golden_request(sig, run))
    _write_json(staging / "golden" / "output.json", {"outputs": [_output(sig, run.output)]})
    atomic.write_text(staging / "requirements.txt", "".join(p.line + "\n" for p in pins))
    atomic.write_text(staging / deps.PYLOCK_NAME, deps.pylock(pins, f"mlgit {__version__}"))
    _entry_points(staging)
    _write_json(staging / manifest.NAME, _manifest(repo.root, release, run.loader, md5, model, bundled, pins, staging))


def _entry_points(staging: Path) -> None:
    """`python BUNDLE serve` (the runtime as `__main__.py`), and `pip install BUNDLE` for `python -m MODULE`."""
    package = resources.files("mlgit.package")
    atomic.write_bytes(staging / "__main__.py", package.joinpath("runtime.py").read_bytes())
    atomic.write_bytes(staging / build_backend.NAME, package.joinpath("build_backend.py").read_bytes())
    atomic.write_text(staging / "pyproject.toml", build_backend.PYPROJECT)


def artifact_bytes(repo: RepoState, commit: str, model: Model) -> tuple[bytes, str]:
    """The model file's bytes as DVC recorded them at `commit`, md5-checked (or git's, if committed directly).

    A file inside a DVC-tracked folder is found through the folder's listing; a folder model has no single
    file's bytes: use `artifact_files`.
    """
    files, md5 = artifact_files(repo, commit, model)
    if md5.endswith(".dir"):
        raise MlgitError(f"{model.path} is a folder (a DVC directory output): it has files, not bytes")
    return files[""], md5


def artifact_files(repo: RepoState, commit: str, model: Model) -> tuple[dict[str, bytes], str]:
    """The artifact as DVC recorded it at `commit`: {"": bytes} for a file, {relpath: bytes} for a folder.

    Every file is md5-checked against DVC's record; the md5 returned is DVC's for the artifact (a folder's ends
    in `.dir`; a file inside a tracked folder gets its own, from the folder's listing).
    """
    recorded = pipeline.hash_for(model.path, repo.dvc_hashes(commit))
    if recorded is None:
        raw = repo.blobs(commit, [model.path])[model.path]
        if raw is None:
            raise MlgitError(f"{model.path} is neither DVC-tracked nor committed at {commit[:12]}")
        return {"": raw}, hashlib.md5(raw, usedforsecurity=False).hexdigest()
    md5 = recorded["md5"]
    if "via" in recorded:  # a file inside a DVC-tracked folder: its md5 is in the folder's listing
        inner = posixpath.relpath(model.path, recorded["via"])
        listing = _dir_listing(repo.root, commit, recorded["via"], md5)
        if inner not in listing:
            raise MlgitError(f"{model.path} is not in the DVC-tracked folder {recorded['via']} at {commit[:12]}")
        md5 = listing[inner]
        return {"": _file(repo.root, commit, model.path, md5)}, md5
    if md5.endswith(".dir"):
        listing = _dir_listing(repo.root, commit, model.path, md5)
        got = _files(repo.root, commit, {f"{model.path}/{rel}": sub for rel, sub in listing.items()})
        return {rel: got[f"{model.path}/{rel}"] for rel in sorted(listing)}, md5
    return {"": _file(repo.root, commit, model.path, md5)}, md5


def _file(root: Path, commit: str, path: str, md5: str) -> bytes:
    return _files(root, commit, {path: md5})[path]


def _files(root: Path, commit: str, wanted: dict[str, str]) -> dict[str, bytes]:
    """path -> bytes of DVC's objects at `commit`, each checked against the md5 DVC recorded for it."""
    found = pipeline.objects(root, commit, wanted)
    for path, md5 in wanted.items():
        got = hashlib.md5(found[path], usedforsecurity=False).hexdigest()
        if got != md5:
            raise MlgitError(f"{path}: the bytes found hash to {got}, but DVC recorded {md5} at {commit[:12]}")
    return found


def _dir_listing(root: Path, commit: str, path: str, md5: str) -> dict[str, str]:
    """relpath -> md5 of a DVC directory output, from its `.dir` object (fetched through DVC if not cached)."""
    raw = pipeline.objects(root, commit, {path: md5})[path]
    if hashlib.md5(raw, usedforsecurity=False).hexdigest() != md5.removesuffix(".dir"):
        raise MlgitError(
            f"{path} at {commit[:12]}: DVC's listing of the folder ({md5}) does not match its hash",
            hint="dvc fetch the release's commit, or configure the remote",
        )
    try:
        listing = {str(e["relpath"]): str(e["md5"]) for e in json.loads(raw)}
    except (ValueError, TypeError, KeyError) as exc:
        raise MlgitError(f"{path} at {commit[:12]}: DVC's listing of the folder ({md5}) is not valid: {exc}") from None
    for rel in listing:  # each is written under the bundle's model/ folder: never outside it
        if not rel or rel.startswith("/") or ".." in rel.split("/") or "\\" in rel:
            raise MlgitError(f"{path} at {commit[:12]}: DVC's listing of the folder names {rel!r}, outside the folder")
    return listing


def _schema_types(repo: RepoState, cfg: Config, model: Model, commit: str) -> dict[str, str]:
    paths = [ds.schema_path for ds in cfg.datasets_of(model)]
    types: dict[str, str] = {}
    for rel, raw in repo.blobs(commit, paths).items():
        if raw is not None:
            for column in schemas.parse(raw, rel).columns:
                types.setdefault(column.name, _OIP_TYPES.get(column.type, "BYTES"))
    return types


def signature(release: Release, model: Model, run: artifact.GoldenRun, types: dict[str, str]) -> dict[str, Any]:
    """Inputs from the golden columns, typed by the dataset schema (else by the golden values); the output."""
    assert model.golden is not None
    columns = run.table.columns or tuple(f"input_{i}" for i in range(len(run.table.rows[0])))
    inputs = []
    for i, name in enumerate(columns):
        values = [r[i] for r in run.table.rows]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None)
        inputs.append({"name": name, "datatype": types.get(name, "FP64" if numeric else "BYTES"), "shape": [-1]})
    out = run.output
    method = model.golden.method or ("predict" if run.loader != "onnx" else "")
    return {
        "model": release.model,
        "version": str(release.version),
        "platform": "onnx" if run.loader == "onnx" else type(run.estimator).__module__.split(".", 1)[0],
        "loader": run.loader,
        "file": model.path,
        "key": model.golden.key,
        "method": method,
        "inputs": inputs,
        "outputs": [
            {
                "name": method or "output",
                "datatype": _NUMPY_KINDS.get(out.dtype.kind, "BYTES"),
                "shape": [-1, *out.shape[1:]],
            }
        ],
    }


def golden_request(sig: dict[str, Any], run: artifact.GoldenRun) -> dict[str, Any]:
    """The golden input as an OIP infer request, one tensor per column."""
    tensors = []
    for i, spec in enumerate(sig["inputs"]):
        cast = {"INT64": int, "FP64": float, "BOOL": bool}.get(spec["datatype"], str)
        data = [None if r[i] is None else cast(r[i]) for r in run.table.rows]
        tensors.append({"name": spec["name"], "datatype": spec["datatype"], "shape": [len(data)], "data": data})
    return {"id": "golden", "inputs": tensors}


def _output(sig: dict[str, Any], out: Any) -> dict[str, Any]:
    spec = sig["outputs"][0]
    return {"name": spec["name"], "datatype": spec["datatype"], "shape": list(out.shape), "data": out.ravel().tolist()}


def _manifest(
    root: Path,
    release: Release,
    loader: str,
    md5: str,
    model: Model,
    bundled: Model,
    pins: list[deps.WheelPin],
    staging: Path,
) -> dict[str, Any]:
    files = {p.relative_to(staging).as_posix(): archive.sha256_of(p) for p in sorted(staging.rglob("*")) if p.is_file()}
    doc = {
        "schema": manifest.SCHEMA,
        "model": release.model,
        "version": str(release.version),
        "tag": release.tag,
        "commit": release.commit,
        "created": git.commit_time(root, release.commit),
        "loader": loader,
        "artifact": {"path": model.path, "md5": md5, "bundled": bundled.path},
        "lineage": release.lineage,
        "python": {
            "implementation": sys.implementation.name,
            "version": f"{sys.version_info.major}.{sys.version_info.minor}",
            "tag": f"cp{sys.version_info.major}{sys.version_info.minor}",
        },
        "platform": sysconfig.get_platform(),
        "entry": "__main__.py",
        "requirements": [p.line for p in pins],
        "files": files,
        "mlgit": __version__,
    }
    return manifest.validate(doc, "manifest")


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    atomic.write_text(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")
