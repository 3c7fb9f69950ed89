"""The mlgit.yaml file format (pydantic, imported only when a config must be validated)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlgit.system.filemodel import FileModel

# GTO's artifact-name grammar (gto/constants.py); `dir=name` is its monorepo form inside tags.
NAME_RE = r"^[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?$"
# A model may be GTO's monorepo form `dir:name` (written `dir=name` inside tags).
MODEL_NAME_RE = r"^(?:[a-zA-Z0-9_.\-]+(?:/[a-zA-Z0-9_.\-]+)*:)?[a-zA-Z0-9]([a-zA-Z0-9\-/_]*[a-zA-Z0-9])?$"
SEMVER_RE = r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$"

RelPath = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


Bound = Annotated[list[float | None], Field(min_length=2, max_length=2)]
_EXPECTATION_KINDS = (
    "not_null",
    "unique",
    "between",
    "in_set",
    "regex",
    "max_null_fraction",
    "rows_between",
    "mean_between",
    "std_between",
)


class ExpectationSpec(FileModel):
    column: str | None = None
    severity: Literal["error", "warning"] = "error"
    not_null: Literal[True] | None = None
    unique: Literal[True] | None = None
    between: Bound | None = None
    in_set: Annotated[list[str | int | float | bool], Field(min_length=1)] | None = None
    regex: str | None = None
    max_null_fraction: Annotated[float, Field(ge=0, le=1)] | None = None
    rows_between: Bound | None = None
    mean_between: Bound | None = None
    std_between: Bound | None = None

    @model_validator(mode="after")
    def _one_check(self) -> ExpectationSpec:
        kinds = [k for k in _EXPECTATION_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"give exactly one check per expectation (one of: {', '.join(_EXPECTATION_KINDS)}); got "
                + (", ".join(kinds) or "none")
            )
        kind = kinds[0]
        if kind == "rows_between" and self.column is not None:
            raise ValueError("rows_between is about the whole dataset: remove 'column'")
        if kind != "rows_between" and not self.column:
            raise ValueError(f"{kind} needs 'column'")
        bound = getattr(self, kind) if kind.endswith("between") else None
        if bound is not None:
            low, high = bound
            if low is None and high is None:
                raise ValueError(f"{kind} needs at least one bound: [low, high], null for open")
            if low is not None and high is not None and low > high:
                raise ValueError(f"{kind}: low ({low}) is greater than high ({high})")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        return self


class DriftSpec(FileModel):
    enabled: bool = True
    numeric: Literal["psi", "jensen_shannon", "wasserstein"] = "psi"
    categorical: Literal["linf", "jensen_shannon", "chi2"] = "linf"
    numeric_threshold: Annotated[float, Field(gt=0)] | None = None
    categorical_threshold: Annotated[float, Field(gt=0)] | None = None
    # A threshold per column; `off` (YAML reads it as false) leaves a column out.
    columns: dict[str, Annotated[float, Field(gt=0)] | Literal[False, "off"]] = Field(default_factory=dict)
    max_drifted_fraction: Annotated[float, Field(gt=0, le=1)] = 0.5
    severity: Literal["warning", "error"] = "warning"


class DatasetSpec(FileModel):
    path: RelPath
    format: Literal["csv", "parquet", "jsonl"] | None = None
    schema_: RelPath | None = Field(default=None, alias="schema")
    expectations: list[ExpectationSpec] = Field(default_factory=list)
    drift: DriftSpec = Field(default_factory=DriftSpec)
    fail_on_warning: bool = False

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        return _relative_path(v)

    @field_validator("schema_")
    @classmethod
    def _relative_schema(cls, v: str | None) -> str | None:
        return None if v is None else _relative_path(v)


class GateSpec(FileModel):
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


class BaseSpec(FileModel):
    """One baseline of several, with the allowed regression against it (default: each gate's own)."""

    base: Annotated[str, StringConstraints(min_length=1)]
    max_regression: Annotated[float, Field(ge=0)] | None = None
    max_regression_rel: Annotated[float, Field(ge=0)] | None = None


_DEFAULT_BASES: list[str | BaseSpec] = ["last-release", "best"]


class PolicySpec(FileModel):
    # Both by default: against the last release alone, small regressions compound from release to release.
    base: (
        Annotated[str, StringConstraints(min_length=1)]
        | Annotated[list[Annotated[str, StringConstraints(min_length=1)] | BaseSpec], Field(min_length=1)]
    ) = Field(default_factory=lambda: _DEFAULT_BASES.copy())
    first_version: Annotated[str, StringConstraints(pattern=SEMVER_RE)] = "0.1.0"
    gates: dict[str, GateSpec] = Field(default_factory=dict)
    allow_stale: bool = False
    reproducible: bool = False
    repro_tolerance: Annotated[float, Field(ge=0)] = 1e-6
    release_branches: list[Annotated[str, StringConstraints(min_length=1, pattern=r"^[^\s]+$")]] = Field(
        default_factory=list
    )


class GoldenOutputSpec(FileModel):
    type: Literal["float", "int", "bool", "str"] | None = None
    shape: list[Annotated[int, Field(ge=0)] | None] | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> GoldenOutputSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class GoldenSpec(FileModel):
    input: RelPath
    method: str | None = None
    key: str | None = None
    output: GoldenOutputSpec = Field(default_factory=GoldenOutputSpec)

    @field_validator("input")
    @classmethod
    def _input(cls, v: str) -> str:
        if not v.lower().endswith((".csv", ".json")):
            raise ValueError(f"{v!r}: the golden input must be a .csv or .json file")
        return _relative_path(v)


class LatencySpec(FileModel):
    calls: Annotated[int, Field(ge=2, le=100_000)] = 50
    p50_ms: Annotated[float, Field(gt=0)] | None = None
    p95_ms: Annotated[float, Field(gt=0)] | None = None


class BudgetSpec(FileModel):
    spawn_to_ready_ms: Annotated[float, Field(gt=0)] | None = None
    first_request_ms: Annotated[float, Field(gt=0)] | None = None
    p50_ms: Annotated[float, Field(gt=0)] | None = None
    p95_ms: Annotated[float, Field(gt=0)] | None = None
    p99_ms: Annotated[float, Field(gt=0)] | None = None
    peak_rss_mb: Annotated[float, Field(gt=0)] | None = None


class PackageSpec(FileModel):
    # Distributions the model needs beyond what its file names (e.g. pandas for a DataFrame-fitted model).
    requirements: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]] = Field(
        default_factory=list
    )
    requests: Annotated[int, Field(ge=10, le=100_000)] = 200
    budgets: BudgetSpec = Field(default_factory=BudgetSpec)


CRON = r"^[0-9*/,-]+( [0-9A-Za-z*/,-]+){4}$"  # five cron fields, as GitHub's and GitLab's schedules take


class MonitorSpec(FileModel):
    reference: str | None = None
    label: str | None = None
    max_error_rate: Annotated[float, Field(ge=0, le=1)] = 0.05
    p95_ms: Annotated[float, Field(gt=0)] | None = None
    p99_ms: Annotated[float, Field(gt=0)] | None = None
    volume_factor: Annotated[float, Field(gt=1)] = 3.0
    min_rows: Annotated[int, Field(ge=1)] = 1
    # Where the scheduled workflow reads the logs (paths in the checkout, or URLs DVC's filesystems read).
    logs: list[Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^[^\s$`'\"\\]+$")]] = Field(
        default_factory=list
    )
    schedule: Annotated[str, StringConstraints(pattern=CRON)] = "17 6 * * *"
    retrain_schedule: Annotated[str, StringConstraints(pattern=CRON)] | None = None
    runner: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")] = "ubuntu-latest"
    timeout_minutes: Annotated[int, Field(ge=1, le=4320)] = 60


class ModelSpec(FileModel):
    path: RelPath
    metrics: list[RelPath] = Field(min_length=1)
    params: list[RelPath] = Field(default_factory=list)
    datasets: list[str] | None = None
    policy: PolicySpec = Field(default_factory=PolicySpec)
    loader: Literal["skops", "onnx", "joblib", "pickle", "none"] | None = None
    trust_pickle: bool = False
    trusted_types: list[str] = Field(default_factory=list)
    max_size_mb: Annotated[float, Field(gt=0)] | None = None
    golden: GoldenSpec | None = None
    latency: LatencySpec | None = None
    slices: bool = True
    package: PackageSpec = Field(default_factory=PackageSpec)
    monitor: MonitorSpec = Field(default_factory=MonitorSpec)

    @model_validator(mode="after")
    def _latency_needs_golden(self) -> ModelSpec:
        if self.latency is not None and self.golden is None:
            raise ValueError("latency is measured on the golden input: declare golden.input too")
        return self

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        return _relative_path(v)

    @field_validator("metrics", "params")
    @classmethod
    def _relatives(cls, v: list[str]) -> list[str]:
        return [_relative_path(p) for p in v]


def _one_or_many(value: object) -> object:
    # A lone spec is a list of one, so an error in a list names its entry (ci.install.1), never both shapes.
    return [value] if isinstance(value, str) else value


_InstallSpec = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True, pattern=r"^[^\r\n]+$")]


# git check-ref-format's rules for a branch name (man git-check-ref-format), checked without running git.
_BAD_REF = re.compile(r"(\.\.|@\{|//|[\x00-\x20\x7f~^:?*\[\\])")


def _is_branch_name(name: str) -> bool:
    if not name or name == "@" or name.startswith(("-", "/")) or name.endswith(("/", ".", ".lock")):
        return False
    if _BAD_REF.search(name):
        return False
    return not any(part.startswith(".") or part.endswith(".lock") for part in name.split("/"))


class CISpec(FileModel):
    forge: Literal["github", "gitlab", "none"] = "github"
    default_branch: str | None = None
    # What the jobs `pip install` to get mlgit: one spec (`mlgit==0.5.0`, `mlgit @ git+https://...`) or a list of
    # them (`[mlgit==0.5.0, dvc-s3]`), each passed to pip as one argument.
    install: Annotated[list[_InstallSpec], BeforeValidator(_one_or_many)] | None = None
    python: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")] = "3.11"
    remote_secrets: dict[str, str] = Field(default_factory=dict)
    # One pip requirement each (`scikit-learn==1.5.2`, `xgboost>=2`): no spaces, quotes or shell characters.
    packages: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-\[\],<>=!~+]*$")]] = Field(
        default_factory=list
    )
    requirements: list[RelPath] | None = None

    @field_validator("default_branch")
    @classmethod
    def _branch_name(cls, v: str | None) -> str | None:
        # The name goes into git revisions (`origin/NAME`, merge-bases): `a..b` or `x^` would be a range or an
        # ancestor, not a branch, and would judge a change against the wrong base.
        if v is not None and not _is_branch_name(v):
            raise ValueError(f"{v!r} is not a valid git branch name (see `git check-ref-format --branch`)")
        return v

    @field_validator("install")
    @classmethod
    def _install_list(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and not v:
            raise ValueError("an empty list installs nothing: give one pip spec or a list of them, or leave it out")
        return v

    @field_validator("remote_secrets")
    @classmethod
    def _secret_names(cls, v: dict[str, str]) -> dict[str, str]:
        # Both names are written into the generated workflows: they must be plain identifiers.
        for env, secret in v.items():
            for what, name in (("environment variable", env), ("secret", secret)):
                if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                    raise ValueError(f"{name!r} is not a valid {what} name (letters, digits and '_')")
            if secret.upper().startswith("GITHUB_"):
                raise ValueError(f"secret {secret!r}: secret names cannot start with GITHUB_")
        return v


class RegistrySpec(FileModel):
    stages: list[str] = Field(default_factory=list)
    enforce_order: bool = True
    serialize_pushes: bool = True

    @field_validator("stages")
    @classmethod
    def _stage_names(cls, v: list[str]) -> list[str]:
        for stage in v:
            if not re.match(NAME_RE, stage):
                raise ValueError(
                    f"stage {stage!r} is not a valid GTO stage name: letters, digits, '-', '_' and '/', "
                    "starting and ending with a letter or digit"
                )
        if len(set(v)) != len(v):
            raise ValueError(f"stages are listed more than once: {', '.join(sorted({s for s in v if v.count(s) > 1}))}")
        return v


_KSERVE_KEYS = (
    "namespace",
    "storage",
    "folder",
    "runtime",
    "model_format",
    "resources",
    "min_replicas",
    "max_replicas",
)
_LOCAL_KEYS = ("host", "port")
_COMMAND_KEYS = ("command",)
ResourceQuantity = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")]


class ResourcesSpec(FileModel):
    requests: dict[Literal["cpu", "memory"], ResourceQuantity] = Field(default_factory=dict)
    limits: dict[Literal["cpu", "memory"], ResourceQuantity] = Field(default_factory=dict)


class DeploySpec(FileModel):
    """Where one stage's models run: `deploy.<stage>` in mlgit.yaml."""

    target: Literal["local", "kserve", "command"]
    auto_rollback: bool = False
    models: list[Annotated[str, StringConstraints(pattern=MODEL_NAME_RE)]] | None = None
    # local: a supervising front on a stable port of this machine
    host: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.:\-]+$")] | None = None
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    # kserve: an InferenceService manifest per model under <folder>/<stage>/<model>.yaml
    namespace: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)] | None = (
        None
    )
    storage: Annotated[str, StringConstraints(min_length=1, pattern=r"^[^\s]+$")] | None = None
    folder: RelPath | None = None
    runtime: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")] | None = None
    model_format: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")] | None = None
    resources: ResourcesSpec | None = None
    min_replicas: Annotated[int, Field(ge=0, le=1000)] | None = None
    max_replicas: Annotated[int, Field(ge=1, le=1000)] | None = None
    # command: run with MLGIT_MODEL, MLGIT_VERSION, MLGIT_STAGE, MLGIT_BUNDLE, MLGIT_DIGEST in its environment
    command: Annotated[list[Annotated[str, StringConstraints(min_length=1)]], Field(min_length=1)] | None = None

    @field_validator("folder")
    @classmethod
    def _relative_folder(cls, v: str | None) -> str | None:
        return None if v is None else _relative_path(v)

    @model_validator(mode="after")
    def _keys_of_target(self) -> DeploySpec:
        own = {"local": _LOCAL_KEYS, "kserve": _KSERVE_KEYS, "command": _COMMAND_KEYS}[self.target]
        foreign = [
            k for k in (*_LOCAL_KEYS, *_KSERVE_KEYS, *_COMMAND_KEYS) if k not in own and getattr(self, k) is not None
        ]
        if foreign:
            raise ValueError(
                f"{', '.join(foreign)}: not a setting of the {self.target} target (its keys: {', '.join(own)})"
            )
        if self.target == "command" and self.command is None:
            raise ValueError("the command target needs 'command': the program and its arguments, as a list")
        if self.min_replicas is not None and self.max_replicas is not None and self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) is greater than max_replicas ({self.max_replicas})")
        return self


class ConfigFile(FileModel):
    version: Literal[1] = 1
    datasets: dict[str, DatasetSpec] = Field(default_factory=dict)
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    ci: CISpec = Field(default_factory=CISpec)
    registry: RegistrySpec = Field(default_factory=RegistrySpec)
    deploy: dict[str, DeploySpec] = Field(default_factory=dict)

    @field_validator("deploy")
    @classmethod
    def _deploy_stages(cls, v: dict[str, DeploySpec]) -> dict[str, DeploySpec]:
        for stage in v:
            if not re.match(NAME_RE, stage):
                raise ValueError(f"stage {stage!r} is not a valid GTO stage name: letters, digits, '-', '_' and '/'")
        return v

    @field_validator("models", "datasets")
    @classmethod
    def _names(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        for name in v:
            if not re.match(MODEL_NAME_RE if info.field_name == "models" else NAME_RE, name):
                raise ValueError(
                    f"name {name!r} is not a valid artifact name: letters, digits, '-', '_' and '/', "
                    "starting and ending with a letter or digit"
                )
        return v


MAX_PATH_CHARS = 1024  # far beyond any real layout, and within every file system's limit
MAX_NAME_BYTES = 255  # one path component, as ext4, APFS and NTFS allow


def _relative_path(v: str) -> str:
    if len(v) > MAX_PATH_CHARS:
        raise ValueError(f"a path of {len(v):,} characters; at most {MAX_PATH_CHARS:,}")
    if any(len(part.encode()) > MAX_NAME_BYTES for part in v.split("/")):
        raise ValueError(f"{v[:60]!r}...: a path component longer than {MAX_NAME_BYTES} bytes")
    if v.startswith("/") or ".." in v.split("/"):
        raise ValueError(f"{v!r} must be a path relative to the repository root, inside it")
    return v.removeprefix("./")


def validate(data: Any) -> dict[str, Any]:
    """Validate parsed YAML; return the normalized dict or raise pydantic's ValidationError."""
    return ConfigFile.model_validate(data).model_dump(mode="json")


def cross_reference_errors(normalized: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Errors between sections (a model naming an undeclared dataset), each with its key path."""
    declared = normalized["datasets"]
    errors: list[tuple[tuple[str | int, ...], str]] = [
        (("models", mname, "datasets", i), f"names unknown dataset {ds!r} (declared: {', '.join(declared) or 'none'})")
        for mname, model in normalized["models"].items()
        for i, ds in enumerate(model["datasets"] or [])
        if ds not in declared
    ]
    return errors + _deploy_reference_errors(normalized)


def _deploy_reference_errors(normalized: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    stages = normalized["registry"]["stages"]
    models = normalized["models"]
    errors: list[tuple[tuple[str | int, ...], str]] = []
    for stage, spec in normalized["deploy"].items():
        if stages and stage not in stages:
            errors.append(
                (("deploy", stage, "target"), f"stage {stage!r} is not in registry.stages ({', '.join(stages)})")
            )
        for i, name in enumerate(spec["models"] or []):
            if name not in models:
                errors.append(
                    (
                        ("deploy", stage, "models", i),
                        f"names unknown model {name!r} (declared: {', '.join(models) or 'none'})",
                    )
                )
    ports: dict[tuple[str, int], str] = {}
    for stage, spec in normalized["deploy"].items():
        if spec["target"] == "local" and spec["port"] is not None:
            key = (spec["host"] or "127.0.0.1", spec["port"])
            if key in ports:
                errors.append((("deploy", stage, "port"), f"port {key[1]} is also the port of stage {ports[key]!r}"))
            ports.setdefault(key, stage)
    return errors
