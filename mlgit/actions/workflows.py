"""CI workflows rendered from mlgit.yaml and the bundled templates (GitHub Actions, GitLab CI)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgit import __version__
from mlgit.actions import generated, pins
from mlgit.config.settings import Config, DeployTarget
from mlgit.errors import MlgitError
from mlgit.registry.tags import safe_name, tag_name
from mlgit.repo import dvc as pipeline
from mlgit.repo import git
from mlgit.system import resources

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

FORGES = ("github", "gitlab")


@dataclass(frozen=True)
class WorkflowTemplate:
    """One file `mlgit ci generate` writes."""

    path: str  # relative to the repository root
    template: str  # relative to workflow_templates/
    needs_models: bool = False  # release and stage assignment exist only when models are declared
    needs_deploy: bool = False  # the deploy workflow exists only when mlgit.yaml declares deploy targets
    needs_monitoring: bool = False  # monitor and retrain exist only when a model declares monitor.logs


TARGETS: dict[str, tuple[WorkflowTemplate, ...]] = {
    "github": (
        WorkflowTemplate(".github/workflows/mlgit-checks.yml", "github/mlgit-checks.yml.j2"),
        WorkflowTemplate(".github/workflows/mlgit-comment.yml", "github/mlgit-comment.yml.j2"),
        WorkflowTemplate(".github/workflows/mlgit-release.yml", "github/mlgit-release.yml.j2", needs_models=True),
        WorkflowTemplate(".github/workflows/mlgit-assign.yml", "github/mlgit-assign.yml.j2", needs_models=True),
        WorkflowTemplate(".github/workflows/mlgit-deploy.yml", "github/mlgit-deploy.yml.j2", needs_models=True, needs_deploy=True),
        WorkflowTemplate(".github/workflows/mlgit-monitor.yml", "github/mlgit-monitor.yml.j2", needs_monitoring=True),
        WorkflowTemplate(".github/workflows/mlgit-retrain.yml", "github/mlgit-retrain.yml.j2", needs_monitoring=True),
    ),
    "gitlab": (WorkflowTemplate(".gitlab-ci.yml", "gitlab/gitlab-ci.yml.j2"),),
}

_SAFE_VALUE = re.compile(r"^[^\n\r]*$")


def remote_warnings(root: Path, paths: list[str]) -> list[str]:
    """What keeps a runner from pulling the DVC-tracked ones of `paths` (no remote, a local path, config.local)."""
    outs = {o.path: "" for o in pipeline.read_project(root).outs if o.cached}
    return pipeline.remote_problems(root) if any(pipeline.hash_for(p, outs) for p in paths) else []


def config_paths(cfg: Config) -> list[str]:
    """The files checks pull: every dataset and model path of mlgit.yaml."""
    return [*(d.path for d in cfg.datasets), *(m.path for m in cfg.models)]


def _release_paths(cfg: Config) -> list[str]:
    # `**/` also matches the root in GitHub's path filters: sub-folder pipelines (monorepos) count too.
    paths = {"mlgit.yaml", "**/dvc.yaml", "**/dvc.lock", "**/*.dvc"}
    for model in cfg.models:
        # Every input a release records: a push that changes none of them has nothing to release.
        paths.update(model.metrics)
        paths.update(model.params)
        for path in (model.path, *(d.path for d in cfg.datasets_of(model))):
            paths.update((path, f"{path}/**"))  # a file or a folder committed in git
    return sorted(paths)


def _checked(key: str, value: str) -> str:
    # A value lands inside YAML that GitHub evaluates: no line breaks, no expressions smuggled in.
    if not _SAFE_VALUE.match(value) or "${{" in value:
        raise MlgitError(f"mlgit.yaml: {key}: {value!r} cannot go into a workflow (line break or '${{{{')")
    return value


# What `pip install` needs for each loader beyond the project's own requirements (which bring scikit-learn etc.).
_LOADER_PACKAGES = {"joblib": "joblib", "skops": "skops", "onnx": "onnxruntime"}
_SAFE_ARG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/\-\[\],<>=!~+]*$")


def project_install(root: Path, cfg: Config) -> list[str]:
    """pip arguments for the project's own dependencies: requirements files (`ci.requirements`, else every
    `requirements*.txt` at the root and at each DVC project root, else `.` for a pyproject.toml with a
    `[project]` table), then `ci.packages`, then the package each gated model's loader needs."""
    from mlgit.model.artifact import loader_for

    if cfg.ci.requirements is not None:
        found = list(cfg.ci.requirements)
    else:
        folders = dict.fromkeys(["", *pipeline.project_roots(root)])
        found = [
            f"{base}/{p.name}" if base else p.name
            for base in folders
            for p in sorted((root / base).glob("requirements*.txt"))
            if p.is_file()
        ]
    args = [a for path in found if _SAFE_ARG.match(path) for a in ("-r", path)]
    if not found and _has_project_table(root / "pyproject.toml"):
        args.append(".")
    loaders = [_LOADER_PACKAGES.get(loader_for(m) or "") for m in cfg.models]
    args += list(dict.fromkeys([*cfg.ci.packages, *(p for p in loaders if p)]))
    return args


def _has_project_table(path: Path) -> bool:
    from mlgit.errors import InputError, MlgitError
    from mlgit.repo import values

    try:
        return isinstance(values.load_toml(path.read_bytes(), path.name).get("project"), dict)
    except InputError:
        raise  # past a bound (a 5,000-digit integer): say where, do not guess the install
    except (OSError, MlgitError):
        return False  # not TOML: no project table to install


def context(root: Path, cfg: Config) -> dict[str, Any]:
    """Everything the templates see, taken from mlgit.yaml and the repository."""
    remote = pipeline.default_remote(root)
    specs = cfg.ci.install or (f"mlgit=={__version__}",)
    install = [_checked(f"ci.install[{i}]" if len(specs) > 1 else "ci.install", s) for i, s in enumerate(specs)]
    # One variable per spec (MLGIT_INSTALL, MLGIT_INSTALL_2, ...), each quoted as one pip argument: a spec may hold
    # spaces (`mlgit @ git+https://...`), and nothing of it is ever shell text.
    install_env = [("MLGIT_INSTALL" + (f"_{i}" if i > 1 else ""), spec) for i, spec in enumerate(install, 1)]
    python = _checked("ci.python", cfg.ci.python)
    secrets = [(env, secret) for env, secret in cfg.ci.remote_secrets]
    return {
        "mlgit_version": __version__,
        "install": install[0],
        "install_env": install_env,
        "install_args": " ".join(f'"${name}"' for name, _ in install_env),
        # One line of pip arguments (validated: no spaces inside one), split by xargs in the job.
        "project_install": _checked("ci.packages/requirements", " ".join(project_install(root, cfg))),
        "dvc_plugin": remote.plugin if remote else None,
        "python": python,
        "image": f"python:{python}",
        "default_branch": _checked("ci.default_branch", git.default_branch(root, cfg.ci.default_branch)),
        "models": [m.name for m in cfg.models],
        # Models with a golden input can be packaged: the release job packages and checks each new release.
        "packaged": {m.name: tag_name(m.name) for m in cfg.models if m.golden is not None},
        "release_paths": [_checked("models.*.metrics/params", p) for p in _release_paths(cfg)],
        "dvc_remote": remote is not None,
        "remote_secrets": secrets,
        # GitLab maps a variable onto itself for free; only renamed ones need a job variable.
        "remote_secrets_mapped": [(env, secret) for env, secret in secrets if env != secret],
        "pins": pins.ACTIONS,
        **_deploy_context(cfg),
        **_monitoring(cfg),
    }


def _deploy_context(cfg: Config) -> dict[str, Any]:
    kinds = {t.target for t in cfg.deploy}
    jobs = []
    if kinds & {"local", "command"}:
        push = any(t.auto_rollback for t in cfg.deploy if t.target != "kserve")
        cond = "needs.target.outputs.kind == 'local' || needs.target.outputs.kind == 'command'"
        jobs.append({"id": "deploy", "name": "mlgit deploy apply", "condition": cond, "pr": False, "push": push})
    if "kserve" in kinds:
        cond = "needs.target.outputs.kind == 'kserve'"
        jobs.append({"id": "manifest", "name": "mlgit deploy apply (kserve: a pull request)", "condition": cond, "pr": True, "push": False})
    return {
        "deploy_stages": [(t.stage, t.target) for t in cfg.deploy],
        "deploy_targets": " ".join(f"{t.stage}={t.target}" for t in cfg.deploy),
        "deploy_folders": sorted({f"{t.folder}/{t.stage}" for t in cfg.deploy if t.target == "kserve"}),
        "deploy_jobs": jobs,
        "deploy_pairs": [_pair(m.name, t) for m in cfg.models for t in cfg.deploy if t.serves(m.name)],
    }


def _pair(model: str, target: DeployTarget) -> dict[str, Any]:
    tagged = tag_name(model)  # GTO's monorepo form inside tags (`dir=name`)
    escaped = re.escape(f"{tagged}#{target.stage}").replace("/", "\\/")
    return {
        "model": model,
        "stage": target.stage,
        "kind": target.target,
        "spec": f"{model}#{target.stage}",
        # A job name and a branch (`mlgit/deploy/SLUG`): the tag form, flattened to one safe word.
        "slug": safe_name(f"{tagged}-{target.stage}", keep="_-", fill="-"),
        "tag_regex": f"/^{escaped}!?#[0-9]+$/",
        "folder": f"{target.folder}/{target.stage}",
        "push": target.auto_rollback,
    }


def _monitoring(cfg: Config) -> dict[str, Any]:
    """The monitor and retrain workflows' settings: the models that declare where their logs are."""
    monitored = [m for m in cfg.models if m.monitor.logs]
    first = monitored[0].monitor if monitored else None
    return {
        "monitored": [
            {"name": m.name, "logs": [_checked(f"models.{m.name}.monitor.logs", p) for p in m.monitor.logs]}
            for m in monitored
        ],
        "monitor_crons": sorted({m.monitor.schedule for m in monitored}),
        "retrain_crons": sorted({m.monitor.retrain_schedule for m in monitored if m.monitor.retrain_schedule}),
        "monitor_runner": first.runner if first else "ubuntu-latest",
        "monitor_timeout": first.timeout_minutes if first else 60,
    }


def _quote(value: object) -> str:
    """A YAML scalar that reads back as exactly this string (JSON strings are YAML double-quoted scalars)."""
    return json.dumps(str(value), ensure_ascii=False)


def _environment() -> SandboxedEnvironment:
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # `${{ }}` is GitHub's syntax and `{% %}` reads like it: mlgit's templates use << >> and <% %> instead.
    # No autoescape: the output is YAML, not HTML; values go in through |q, which quotes them for YAML.
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(resources.bundled("workflow_templates"))),
        block_start_string="<%",
        block_end_string="%>",
        variable_start_string="<<",
        variable_end_string=">>",
        comment_start_string="<#",
        comment_end_string="#>",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
        autoescape=False,
    )
    env.filters["q"] = _quote
    return env


def render(root: Path, cfg: Config, forge: str) -> dict[str, str | None]:
    """Path -> the full text generate writes; None for a generated file that should no longer exist."""
    if forge not in TARGETS:
        raise MlgitError(f"unknown forge {forge!r}; choose one of: {', '.join(FORGES)}")
    from jinja2 import TemplateError

    env = _environment()
    ctx = context(root, cfg)
    command = f"mlgit ci generate --forge {forge}"
    files: dict[str, str | None] = {}
    for target in TARGETS[forge]:
        if (
            (target.needs_models and not cfg.models)
            or (target.needs_deploy and not cfg.deploy)
            or (target.needs_monitoring and not any(m.monitor.logs for m in cfg.models))
        ):
            files[target.path] = None
            continue
        try:
            body = env.get_template(target.template).render(ctx)
        except TemplateError as exc:
            # The templates ship with mlgit, so one that does not render is a bug in mlgit: exit 3 with the crash log.
            raise RuntimeError(f"cannot render workflow template {target.template}: {exc}") from exc
        files[target.path] = generated.stamp(body, __version__, command)
    return files


def stray_generated(root: Path, forge: str, known: set[str]) -> list[str]:
    """Files with mlgit's header that this version no longer generates (for example a renamed workflow)."""
    if forge != "github":
        return []
    folder = root / ".github" / "workflows"
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        rel = f".github/workflows/{path.name}"
        if path.suffix in {".yml", ".yaml"} and rel not in known and generated.is_generated(path):
            found.append(rel)
    return found


def states(root: Path, cfg: Config, forge: str) -> list[generated.FileState]:
    """Every file of the forge's CI compared with what generate would write now."""
    files = render(root, cfg, forge)
    result = []
    for rel, text in files.items():
        if text is None and not (root / rel).exists():
            continue  # not generated, not there: nothing to say
        result.append(generated.inspect(root, rel, text))
    result += [generated.inspect(root, rel, None) for rel in stray_generated(root, forge, set(files))]
    return result


def forge_of(cfg: Config, requested: str | None) -> str | None:
    """The forge to work on: the --forge option, else ci.forge (None when that is 'none')."""
    forge = requested or cfg.ci.forge
    return None if forge == "none" else forge


@dataclass(frozen=True)
class FileCheck:
    """One generated file in `ci check --json`: its state and, when it differs, the diff."""

    path: str
    state: generated.FileStatus
    ok: bool
    diff: str | None

    @classmethod
    def of(cls, s: generated.FileState) -> FileCheck:
        """The entry of one file (no diff for a file that is current or missing: there is nothing to compare)."""
        return cls(s.path, s.state, s.ok, None if s.ok or s.state is generated.FileStatus.MISSING else s.diff())


@dataclass(frozen=True)
class CiCheck:
    """`ci check --json`: the forge checked (None: ci.forge is 'none'), each file, and the DVC remote's problems."""

    forge: str | None
    ok: bool
    files: tuple[FileCheck, ...]
    remote_problems: tuple[str, ...]

    @classmethod
    def of(cls, root: Path, cfg: Config, forge: str | None, states: list[generated.FileState]) -> CiCheck:
        """The document of the generated files' `states` for `forge`."""
        files = tuple(FileCheck.of(s) for s in states)
        problems = tuple(remote_warnings(root, config_paths(cfg)))
        return cls(forge, all(s.ok for s in states), files, problems)
