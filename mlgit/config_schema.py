"""The mlgit.yaml file format (pydantic, imported only when a config must be validated)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

# GTO's artifact-name grammar (gto/constants.py); `dir=name` is its monorepo form inside tags.
NAME_RE = r"^[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?$"
SEMVER_RE = r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$"

RelPath = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Strict):
    path: RelPath
    format: Literal["csv", "parquet", "jsonl"] | None = None

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        return _relative_path(v)


class GateSpec(_Strict):
    direction: Literal["higher", "lower"]
    min: float | None = None
    max: float | None = None
    max_regression: Annotated[float, Field(ge=0)] | None = None
    max_regression_rel: Annotated[float, Field(ge=0)] | None = None
    min_improvement: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> GateSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class PolicySpec(_Strict):
    base: str = "last-release"
    first_version: Annotated[str, StringConstraints(pattern=SEMVER_RE)] = "0.1.0"
    gates: dict[str, GateSpec] = Field(default_factory=dict)


class ModelSpec(_Strict):
    path: RelPath
    metrics: list[RelPath] = Field(min_length=1)
    params: list[RelPath] = Field(default_factory=list)
    datasets: list[str] | None = None
    policy: PolicySpec = Field(default_factory=PolicySpec)

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        return _relative_path(v)

    @field_validator("metrics", "params")
    @classmethod
    def _relatives(cls, v: list[str]) -> list[str]:
        return [_relative_path(p) for p in v]


class CISpec(_Strict):
    forge: Literal["github", "gitlab", "none"] = "github"
    default_branch: str | None = None
    install: str | None = None
    python: str = "3.11"
    remote_secrets: dict[str, str] = Field(default_factory=dict)


class ConfigFile(_Strict):
    version: Literal[1] = 1
    datasets: dict[str, DatasetSpec] = Field(default_factory=dict)
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    ci: CISpec = Field(default_factory=CISpec)

    @field_validator("models", "datasets")
    @classmethod
    def _names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not re.match(NAME_RE, name):
                raise ValueError(
                    f"name {name!r} is not a valid artifact name: letters, digits, '-', '_' and '/', "
                    "starting and ending with a letter or digit"
                )
        return v

    @model_validator(mode="after")
    def _dataset_refs(self) -> ConfigFile:
        for mname, model in self.models.items():
            for ds in model.datasets or []:
                if ds not in self.datasets:
                    raise ValueError(f"models.{mname}.datasets names unknown dataset {ds!r}")
        return self


def _relative_path(v: str) -> str:
    if v.startswith("/") or ".." in v.split("/"):
        raise ValueError(f"{v!r} must be a path relative to the repository root, inside it")
    return v.removeprefix("./")


def validate(data: Any) -> dict[str, Any]:
    """Validate parsed YAML; return the normalized dict or raise pydantic's ValidationError."""
    return ConfigFile.model_validate(data).model_dump(mode="json")
