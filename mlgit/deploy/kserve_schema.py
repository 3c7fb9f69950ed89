"""Offline validation of a rendered InferenceService: the `kserve` SDK's models, and Kubernetes' schemas.

The SDK's generated models (`V1beta1InferenceService` and everything under it) declare each field's type and
JSON key; a manifest is walked against them (an unknown key or a wrong type is a problem with its path) and
then built as SDK objects, whose constructors enforce the required fields. The Kubernetes parts (metadata,
the model container's resources) are checked by `kubernetes-validate` as the Pod the predictor becomes.
"""

from __future__ import annotations

import re
from typing import Any

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\((\w+), (.+)\)$")
_PRIMITIVES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "object": (object,),
    "ResourceQuantity": (str, int, float),
}


def _model_class(name: str) -> Any:
    import kserve
    import kubernetes.client

    for module in (kserve, kubernetes.client):
        found = getattr(module, name, None)
        if found is not None and hasattr(found, "openapi_types"):
            return found
    return None


def _check(value: Any, kind: str, path: str, problems: list[str]) -> Any:
    """The value as SDK objects (None where it is wrong, with a problem recorded)."""
    if (m := _LIST.match(kind)) is not None:
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list")
            return None
        return [_check(v, m.group(1), f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if (m := _DICT.match(kind)) is not None:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a mapping")
            return None
        return {k: _check(v, m.group(2), f"{path}.{k}", problems) for k, v in value.items()}
    if kind in _PRIMITIVES:
        if not isinstance(value, _PRIMITIVES[kind]) or (kind != "bool" and isinstance(value, bool) and kind != "object"):
            problems.append(f"{path}: expected {kind}, got {type(value).__name__}")
        return value
    cls = _model_class(kind)
    if cls is None:
        return value  # a type the SDK names but does not model: taken as it is
    return _build(value, cls, path, problems)


def _build(value: Any, cls: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(value, dict):
        problems.append(f"{path}: expected a mapping ({cls.__name__})")
        return None
    by_key = {json_key: attr for attr, json_key in cls.attribute_map.items()}
    kwargs = {}
    for key, item in value.items():
        attr = by_key.get(key)
        if attr is None:
            problems.append(f"{path}.{key}: not a field of {cls.__name__}")
            continue
        kwargs[attr] = _check(item, cls.openapi_types[attr], f"{path}.{key}", problems)
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        problems.append(f"{path}: {exc}")
        return None


def against_sdk(doc: dict[str, Any]) -> list[str]:
    """Problems of the manifest as the SDK's `V1beta1InferenceService`."""
    from kserve import V1beta1InferenceService, constants

    problems: list[str] = []
    _build(doc, V1beta1InferenceService, "InferenceService", problems)
    want = f"{constants.KSERVE_GROUP}/{constants.KSERVE_V1BETA1_VERSION}"
    if doc.get("apiVersion") != want:
        problems.append(f"apiVersion: {doc.get('apiVersion')!r}, the SDK's is {want!r}")
    if doc.get("kind") != constants.KSERVE_KIND_INFERENCESERVICE:
        problems.append(f"kind: {doc.get('kind')!r}, expected {constants.KSERVE_KIND_INFERENCESERVICE!r}")
    predictor = (doc.get("spec") or {}).get("predictor") or {}
    if not (predictor.get("model") or {}).get("storageUri"):
        problems.append("spec.predictor.model.storageUri: missing")
    return problems


def against_kubernetes(doc: dict[str, Any], version: str) -> list[str]:
    """Problems of the manifest's Kubernetes parts, as the Pod its predictor becomes."""
    import kubernetes_validate

    model = ((doc.get("spec") or {}).get("predictor") or {}).get("model") or {}
    container: dict[str, Any] = {"name": "kserve-container", "image": "kserve-runtime"}
    if "resources" in model:
        container["resources"] = model["resources"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": doc.get("metadata") or {}, "spec": {"containers": [container]}}
    try:
        kubernetes_validate.validate(pod, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = ".".join(str(p) for p in exc.path)
        return [f"{where or 'metadata'}: {exc.message}"]
    return []
