"""mlgit.yaml as typed, frozen values; validated once per content, then read from a small cache."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgit import __version__
from mlgit.errors import ConfigError, MlgitError, Problem, UsageError
from mlgit.results.finding import Severity
from mlgit.system import files, jsoncache, statedir, yamlsource

CONFIG_NAME = "mlgit.yaml"


@dataclass(frozen=True)
class Expectation:
    """One extra data check declared under a dataset's `expectations:` (index: its position there)."""

    kind: str  # not_null | unique | between | in_set | regex | max_null_fraction | rows_between | mean_between | ...
    column: str | None
    severity: Severity
    index: int
    low: float | None = None
    high: float | None = None
    values: tuple[str | int | float | bool, ...] = ()
    pattern: str | None = None
    fraction: float | None = None


@dataclass(frozen=True)
class DriftSettings:
    """How drift against the base revision's committed profile is measured and judged."""

    enabled: bool = True
    numeric: str = "psi"
    categorical: str = "linf"
    numeric_threshold: float | None = None  # None: the method's default, raised to the sampling noise
    categorical_threshold: float | None = None
    columns: tuple[tuple[str, float | None], ...] = ()  # per-column thresholds; None turns a column off
    max_drifted_fraction: float = 0.5
    severity: Severity = Severity.WARNING


@dataclass(frozen=True)
class Dataset:
    """A DVC-tracked table."""

    name: str
    path: str
    format: str | None
    schema: str | None = None  # None: schemas/<name>.schema.yaml
    expectations: tuple[Expectation, ...] = ()
    drift: DriftSettings = DriftSettings()
    fail_on_warning: bool = False

    @property
    def schema_path(self) -> str:
        """The repository-relative path of the dataset's schema file."""
        return self.schema or f"schemas/{self.name}.schema.yaml"


@dataclass(frozen=True)
class Gate:
    """The promotion rule for one metric."""

    metric: str
    direction: str
    min: float | None
    max: float | None
    max_regression: float | None
    max_regression_rel: float | None
    min_improvement: float | None

    @property
    def higher_is_better(self) -> bool:
        """Whether larger values are better."""
        return self.direction == "higher"


@dataclass(frozen=True)
class BaseRule:
    """A baseline every gate holds against; set allowances replace the gates' own against this base."""

    spec: str  # last-release | best | main | stage:NAME | REV
    max_regression: float | None = None
    max_regression_rel: float | None = None


@dataclass(frozen=True)
class Policy:
    """How a model is promoted."""

    bases: tuple[BaseRule, ...]
    first_version: str
    gates: tuple[Gate, ...]
    allow_stale: bool = False  # release even when `dvc status` says the pipeline is stale (recorded in lineage)
    release_branches: tuple[str, ...] = ()  # glob patterns of branches besides the default one that may release
    reproducible: bool = False  # promote runs `mlgit check repro` first and records its verdict in the lineage
    repro_tolerance: float = 1e-6  # what "within tolerance" allows (absolute and relative)

    @property
    def base(self) -> str:
        """The primary baseline: the one versions are bumped against and reports show first."""
        return self.bases[0].spec


@dataclass(frozen=True)
class GoldenOutput:
    """What a prediction on the golden input must look like (None: not checked)."""

    type: str | None = None  # float | int | bool | str
    shape: tuple[int | None, ...] | None = None  # None inside: any size on that axis
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Golden:
    """A small input committed in git that the model must predict on."""

    input: str
    method: str | None = None  # the object's method (default predict), or the ONNX output name
    key: str | None = None  # the estimator's key when the artifact loads as a mapping
    output: GoldenOutput = field(default_factory=GoldenOutput)


@dataclass(frozen=True)
class Latency:
    """The inference latency budget, timed over `calls` predictions on the golden input."""

    calls: int = 50
    p50_ms: float | None = None
    p95_ms: float | None = None


@dataclass(frozen=True)
class Budgets:
    """What `mlgit check package` holds a served bundle to (None: measured, not judged)."""

    spawn_to_ready_ms: float | None = None
    first_request_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_mb: float | None = None


@dataclass(frozen=True)
class Packaging:
    """How a release is packaged and evaluated (`models.<name>.package`)."""

    requirements: tuple[str, ...] = ()
    requests: int = 200  # timed requests in `mlgit check package`
    budgets: Budgets = Budgets()


@dataclass(frozen=True)
class Monitoring:
    """How `mlgit monitor` judges a model's traffic (`models.<name>.monitor`)."""

    reference: str | None = None  # the dataset whose committed profile is the reference (default: a train set)
    label: str | None = None  # the column of `--labels` holding the true value (default: label)
    max_error_rate: float = 0.05
    p95_ms: float | None = None
    p99_ms: float | None = None
    volume_factor: float = 3.0  # volume anomaly past this factor of the earlier windows' median rate
    min_rows: int = 1  # fewer rows in a window is an error (no traffic)
    logs: tuple[str, ...] = ()  # where the scheduled monitor workflow reads the logs (none: no workflow)
    schedule: str = "17 6 * * *"  # cron of the monitor workflow
    retrain_schedule: str | None = None  # cron of scheduled retrains (none: manual and drift only)
    runner: str = "ubuntu-latest"
    timeout_minutes: int = 60


@dataclass(frozen=True)
class Model:
    """A model artifact with its metrics, params and promotion policy."""

    name: str
    path: str
    metrics: tuple[str, ...]
    params: tuple[str, ...]
    datasets: tuple[str, ...] | None
    policy: Policy
    loader: str | None = None  # skops | onnx | joblib | pickle | none (metrics-only); None: from the extension
    trust_pickle: bool = False
    trusted_types: tuple[str, ...] = ()
    max_size_mb: float | None = None
    golden: Golden | None = None
    latency: Latency | None = None
    slices: bool = True
    package: Packaging = Packaging()
    monitor: Monitoring = Monitoring()


@dataclass(frozen=True)
class CI:
    """Settings for generated CI."""

    forge: str
    default_branch: str | None
    install: tuple[str, ...] | None  # pip specs, each one argument; None: this mlgit's version
    python: str
    remote_secrets: tuple[tuple[str, str], ...]
    packages: tuple[str, ...] = ()  # extra pip requirements the checks need (model loaders' own dependencies)
    requirements: tuple[str, ...] | None = None  # requirements files to install; None: the ones found


@dataclass(frozen=True)
class Registry:
    """Stage rules for the git-tag model registry."""

    stages: tuple[str, ...] = ()  # allowed stages in promotion order; empty: any GTO stage name
    enforce_order: bool = True  # a version must be in the previous declared stage first
    serialize_pushes: bool = True  # pushes also move refs/mlgit/registry/<model>.head (compare-and-swap)


@dataclass(frozen=True)
class DeployTarget:
    """Where a stage's models run (`deploy.<stage>`): a local service, KServe manifests, or a user command."""

    stage: str
    target: str  # local | kserve | command
    auto_rollback: bool = False
    models: tuple[str, ...] | None = None  # None: every model
    host: str = "127.0.0.1"  # local
    port: int = 8080  # local: the stable port
    namespace: str | None = None  # kserve
    storage: str | None = None  # kserve: where bundles are uploaded under their digest (default: the DVC remote)
    folder: str = "deploy"  # kserve: manifests go to <folder>/<stage>/<model>.yaml
    runtime: str | None = None  # kserve: a ServingRuntime name
    model_format: str | None = None  # kserve: default from the model's loader
    resources: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # kserve: (requests|limits, ((cpu, 1), ...))
    min_replicas: int | None = None
    max_replicas: int | None = None
    command: tuple[str, ...] = ()  # command: argv, run in the repository root

    def serves(self, model: str) -> bool:
        """Whether this stage's target deploys the model."""
        return self.models is None or model in self.models


@dataclass(frozen=True)
class TrustSource:
    """Where a config's trust and gate settings come from: mlgit.yaml as the remote's default branch has it.

    `label` None means no trusted mlgit.yaml was found (`problem` says why and how to fix it): then nothing is
    trusted. `ignored` lists the (subject, setting) pairs the change under review sets differently: they do not
    apply until merged.
    """

    label: str | None
    commit: str | None
    problem: str | None = None
    ignored: tuple[tuple[str, str], ...] = ()
    # The change's own models whose policy or slices differ from the default branch's: what applies once merged.
    proposed: tuple[Model, ...] = ()

    def ignored_for(self, subject: str) -> tuple[str, ...]:
        """The settings of one model (or `ci`) that the change sets but that do not apply."""
        return tuple(key for who, key in self.ignored if who == subject)


@dataclass(frozen=True)
class Config:
    """The whole of mlgit.yaml."""

    root: Path
    datasets: tuple[Dataset, ...]
    models: tuple[Model, ...]
    ci: CI
    registry: Registry = Registry()
    trust: TrustSource | None = None  # None: read from the work tree alone (see mlgit.repo.trust)
    deploy: tuple[DeployTarget, ...] = ()

    def model(self, name: str | None) -> Model:
        """The named model, or the only one when no name is given."""
        names = [m.name for m in self.models]
        if name is None:
            if len(self.models) == 1:
                return self.models[0]
            if not self.models:
                raise ConfigError(
                    f"{CONFIG_NAME} declares no models", hint="add one under 'models:' or run 'mlgit init --force'"
                )
            raise UsageError(f"{CONFIG_NAME} declares several models; name one of: {', '.join(names)}")
        for m in self.models:
            if m.name == name:
                return m
        raise UsageError(f"unknown model {name!r}; {CONFIG_NAME} declares: {', '.join(names) or '(none)'}")

    def deploy_target(self, stage: str) -> DeployTarget | None:
        """The target a stage deploys to, if `deploy:` declares one."""
        return next((t for t in self.deploy if t.stage == stage), None)

    def datasets_of(self, model: Model) -> tuple[Dataset, ...]:
        """The datasets a model's lineage records."""
        if model.datasets is None:
            return self.datasets
        return tuple(d for d in self.datasets if d.name in model.datasets)


def _dataset(name: str, d: dict[str, Any]) -> Dataset:
    expectations = []
    for i, e in enumerate(d.get("expectations") or []):
        kind = next(k for k, v in e.items() if k not in ("column", "severity") and v is not None)
        value = e[kind]
        low, high = (value[0], value[1]) if kind.endswith("between") else (None, None)
        expectations.append(
            Expectation(
                kind,
                e["column"],
                Severity(e["severity"]),
                i,
                low=low,
                high=high,
                values=tuple(value) if kind == "in_set" else (),
                pattern=value if kind == "regex" else None,
                fraction=value if kind == "max_null_fraction" else None,
            )
        )
    dr = d.get("drift") or {}
    drift = DriftSettings(
        enabled=dr.get("enabled", True),
        numeric=dr.get("numeric", "psi"),
        categorical=dr.get("categorical", "linf"),
        numeric_threshold=dr.get("numeric_threshold"),
        categorical_threshold=dr.get("categorical_threshold"),
        columns=tuple((c, None if t in ("off", False) else t) for c, t in (dr.get("columns") or {}).items()),
        max_drifted_fraction=dr.get("max_drifted_fraction", 0.5),
        severity=Severity(dr.get("severity", "warning")),
    )
    return Dataset(
        name,
        d["path"],
        d["format"],
        schema=d.get("schema_"),
        expectations=tuple(expectations),
        drift=drift,
        fail_on_warning=bool(d.get("fail_on_warning", False)),
    )


def _bases(raw: str | list[str | dict[str, Any]]) -> tuple[BaseRule, ...]:
    entries = [raw] if isinstance(raw, str) else raw
    return tuple(
        BaseRule(e) if isinstance(e, str) else BaseRule(e["base"], e["max_regression"], e["max_regression_rel"])
        for e in entries
    )


def _from_dict(root: Path, data: dict[str, Any]) -> Config:
    datasets = tuple(_dataset(name, d) for name, d in data["datasets"].items())
    models = []
    for name, m in data["models"].items():
        pol = m["policy"]
        gates = tuple(Gate(metric=k, **g) for k, g in pol["gates"].items())
        models.append(
            Model(
                name=name,
                path=m["path"],
                metrics=tuple(m["metrics"]),
                params=tuple(m["params"]),
                datasets=tuple(m["datasets"]) if m["datasets"] is not None else None,
                policy=Policy(
                    _bases(pol["base"]),
                    pol["first_version"].removeprefix("v"),
                    gates,
                    pol["allow_stale"],
                    tuple(pol["release_branches"]),
                    pol["reproducible"],
                    pol["repro_tolerance"],
                ),
                loader=m["loader"],
                trust_pickle=m["trust_pickle"],
                trusted_types=tuple(m["trusted_types"]),
                max_size_mb=m["max_size_mb"],
                golden=_golden(m["golden"]),
                latency=Latency(**m["latency"]) if m["latency"] is not None else None,
                slices=m["slices"],
                package=Packaging(
                    tuple(m["package"]["requirements"]), m["package"]["requests"], Budgets(**m["package"]["budgets"])
                ),
                monitor=Monitoring(**{**m["monitor"], "logs": tuple(m["monitor"]["logs"])}),
            )
        )
    ci = data["ci"]
    return Config(
        root=root,
        datasets=datasets,
        models=tuple(models),
        ci=CI(
            ci["forge"],
            ci["default_branch"],
            None if ci["install"] is None else tuple(ci["install"]),
            ci["python"],
            tuple(ci["remote_secrets"].items()),
            tuple(ci.get("packages") or ()),
            None if ci.get("requirements") is None else tuple(ci["requirements"]),
        ),
        registry=Registry(
            tuple(data["registry"]["stages"]), data["registry"]["enforce_order"], data["registry"]["serialize_pushes"]
        ),
        deploy=tuple(_deploy_target(stage, d) for stage, d in (data.get("deploy") or {}).items()),
    )


def _deploy_target(stage: str, d: dict[str, Any]) -> DeployTarget:
    res = d.get("resources") or {}
    resources = tuple(
        (kind, tuple(sorted((res.get(kind) or {}).items()))) for kind in ("requests", "limits") if res.get(kind)
    )
    optional = {k: d[k] for k in ("host", "port", "folder") if d.get(k) is not None}
    return DeployTarget(
        stage=stage,
        target=d["target"],
        auto_rollback=bool(d.get("auto_rollback")),
        models=tuple(d["models"]) if d.get("models") is not None else None,
        namespace=d.get("namespace"),
        storage=d.get("storage"),
        runtime=d.get("runtime"),
        model_format=d.get("model_format"),
        resources=resources,
        min_replicas=d.get("min_replicas"),
        max_replicas=d.get("max_replicas"),
        command=tuple(d.get("command") or ()),
        **optional,
    )


def _golden(g: dict[str, Any] | None) -> Golden | None:
    if g is None:
        return None
    out = g["output"]
    shape = tuple(out["shape"]) if out["shape"] is not None else None
    return Golden(g["input"], g["method"], g["key"], GoldenOutput(out["type"], shape, out["min"], out["max"]))


def _cache_file(root: Path, raw: bytes) -> Path | None:
    state = statedir.path(root)
    if state is None:
        return None
    # The schema's own source is part of the key so a changed default never reads a stale entry.
    schema = Path(__file__).with_name("schema.py").read_bytes()
    key = hashlib.sha256(__version__.encode() + b"\0" + schema + b"\0" + raw).hexdigest()[:32]
    return state / f"config-{key}.json"


def _validate(raw: bytes) -> dict[str, Any]:
    data = yamlsource.load(raw, CONFIG_NAME)
    if data is None:
        raise ConfigError(f"{CONFIG_NAME} is empty", hint="run 'mlgit init --force' to write a working one")
    if not isinstance(data, dict):
        raise ConfigError(
            "the top level must be a mapping of keys (version, datasets, models, ci)", file=CONFIG_NAME, line=1
        )
    dups = yamlsource.duplicate_keys(raw)
    if dups:
        raise ConfigError(
            "invalid configuration",
            problems=[
                Problem("duplicate key (YAML would keep only the last)", file=CONFIG_NAME, line=line, key=path)
                for path, line in dups
            ],
        )
    from pydantic import ValidationError

    from mlgit.config import schema as config_schema

    try:
        normalized = config_schema.validate(data)
    except ValidationError as exc:
        problems = yamlsource.validation_problems(
            raw, CONFIG_NAME, exc.errors(), "the README's mlgit.yaml reference", config_schema.ConfigFile
        )
        raise ConfigError("invalid configuration", problems=problems) from None
    refs = config_schema.cross_reference_errors(normalized)
    if refs:
        problems = [
            Problem(msg, file=CONFIG_NAME, line=yamlsource.line_of(raw, list(loc)), key=".".join(map(str, loc[:-1])))
            for loc, msg in refs
        ]
        raise ConfigError("invalid configuration", problems=problems)
    return normalized


def load(root: Path) -> Config:
    """Load and validate mlgit.yaml at the repository root."""
    path = root / CONFIG_NAME
    try:
        raw = files.read_small(root, CONFIG_NAME, limit=files.MAX_CONFIG_BYTES)
    except FileNotFoundError:
        raise MlgitError(f"no {CONFIG_NAME} in {root}", hint="run 'mlgit init' to create one") from None
    except OSError as exc:
        raise MlgitError(f"cannot read {path}: {exc.strerror}") from None
    return from_bytes(root, raw)


def from_bytes(root: Path, raw: bytes) -> Config:
    """Validate mlgit.yaml given as bytes (the work tree's, or a revision's read through git)."""
    cache = _cache_file(root, raw)
    cached = jsoncache.get(cache)
    if isinstance(cached, dict):
        try:
            return _from_dict(root, cached)
        except (KeyError, TypeError, ValueError):
            pass  # written by another build of the same version: validate again
    data = _validate(raw)
    jsoncache.put(cache, data)
    return _from_dict(root, data)
