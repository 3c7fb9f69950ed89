"""The `kserve` target: an InferenceService manifest per model and stage, for Argo CD or Flux to sync.

The manifest names the blessed bundle by digest (its storage URI is `<storage>/<digest>/model`), and carries
the model, version, digest, tag and commit as annotations, which is what `mlgit deploy status` reads back.
It is validated offline against the `kserve` SDK's InferenceService models (unknown keys and wrong types
refused) and its Kubernetes parts (metadata, resources) with `kubernetes-validate`, when those are installed
(`pip install 'mlgit[kserve]'`). KServe itself never runs here: that is all that is claimed about it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from mlgit.config.settings import DeployTarget
from mlgit.deploy.blessed import Blessed
from mlgit.errors import MlgitError
from mlgit.registry import tags

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
K8S_VERSION = "1.30.0"
ANNOTATION = "mlgit.dev"
# The SDK's formats for what mlgit's loaders read (KServe's sklearn server loads joblib and pickle files).
_FORMATS = {"joblib": "sklearn", "pickle": "sklearn", "onnx": "onnx", "skops": "sklearn"}


def name_of(model: str, stage: str) -> str:
    """A DNS-1035 name for the InferenceService: `<model>-<stage>`, shortened with a hash past 45 characters."""
    raw = re.sub(r"[^a-z0-9-]+", "-", f"{model}-{stage}".lower()).strip("-")
    raw = raw if raw[:1].isalpha() else f"m-{raw}"
    if len(raw) <= 45:
        return raw
    return f"{raw[:36].rstrip('-')}-{hashlib.sha256(raw.encode()).hexdigest()[:8]}"


def path_of(target: DeployTarget, model: str) -> str:
    """Where the manifest goes, relative to the repository root."""
    return f"{target.folder}/{target.stage}/{tags.tag_name(model)}.yaml"


def manifest(blessed: Blessed, target: DeployTarget, storage: str) -> dict[str, Any]:
    """The InferenceService for one blessed bundle in one stage."""
    doc = blessed.manifest
    model: dict[str, Any] = {
        "modelFormat": {"name": target.model_format or _FORMATS.get(str(doc["loader"]), str(doc["loader"]))},
        "storageUri": f"{storage.rstrip('/')}/{blessed.digest}/model",
    }
    if target.runtime:
        model["runtime"] = target.runtime
    if target.resources:
        model["resources"] = {kind: dict(values) for kind, values in target.resources}
    predictor: dict[str, Any] = {"model": model}
    if target.min_replicas is not None:
        predictor["minReplicas"] = target.min_replicas
    if target.max_replicas is not None:
        predictor["maxReplicas"] = target.max_replicas
    metadata: dict[str, Any] = {
        "name": name_of(blessed.model, target.stage),
        "labels": {"app.kubernetes.io/managed-by": "mlgit"},
        "annotations": {
            f"{ANNOTATION}/model": blessed.model,
            f"{ANNOTATION}/stage": target.stage,
            f"{ANNOTATION}/version": blessed.version,
            f"{ANNOTATION}/digest": f"sha256:{blessed.digest}",
            f"{ANNOTATION}/tag": str(doc["tag"]),
            f"{ANNOTATION}/commit": str(doc["commit"]),
        },
    }
    if target.namespace:
        metadata["namespace"] = target.namespace
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": {"predictor": predictor}}


def render(doc: dict[str, Any]) -> str:
    """The manifest as reviewable YAML with a header saying who wrote it."""
    import yaml

    head = (
        "# Written by `mlgit deploy apply`: the stage's release as KServe serves it. Edit mlgit.yaml, not this file.\n"
    )
    return head + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def read_annotations(path: Path) -> dict[str, str] | None:
    """The mlgit annotations of a rendered manifest (None when there is none, or it is not one)."""
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(notes, dict):
        return None
    return {str(k).removeprefix(f"{ANNOTATION}/"): str(v) for k, v in notes.items() if str(k).startswith(ANNOTATION)}


def sdk_available() -> str | None:
    """None when both validators are installed, else what is missing."""
    missing = []
    for module, dist in (("kserve", "kserve"), ("kubernetes_validate", "kubernetes-validate")):
        try:
            __import__(module)
        except ImportError:
            missing.append(dist)
    return ", ".join(missing) or None


def validate(doc: dict[str, Any]) -> list[str]:
    """Problems of a manifest against the SDK's InferenceService models and Kubernetes' own schemas."""
    from mlgit.deploy.kserve_schema import against_kubernetes, against_sdk

    return [*against_sdk(doc), *against_kubernetes(doc, K8S_VERSION)]


def require_valid(doc: dict[str, Any]) -> bool:
    """Validate when the validators are installed (True), refusing an invalid manifest; False when skipped."""
    if sdk_available() is not None:
        return False
    problems = validate(doc)
    if problems:
        raise MlgitError(
            "the rendered InferenceService is not valid: " + "; ".join(problems[:10]),
            hint="check deploy.<stage> (runtime, resources, replicas) in mlgit.yaml",
        )
    return True


def upload(blessed: Blessed, storage: str) -> str:
    """Copy the unpacked bundle to `<storage>/<digest>/` through fsspec (what DVC's remotes use); skip if there."""
    import fsspec

    fs, base = fsspec.core.url_to_fs(storage.rstrip("/"))
    dest = f"{base}/{blessed.digest}"
    if fs.exists(f"{dest}/manifest.json"):
        return dest
    files = sorted(p for p in blessed.folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    for path in files:
        rel = path.relative_to(blessed.folder).as_posix()
        fs.makedirs(f"{dest}/{rel}".rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(path), f"{dest}/{rel}")
    # The manifest last: its presence says the upload is complete.
    fs.put_file(str(blessed.folder / "manifest.json"), f"{dest}/manifest.json")
    return dest
