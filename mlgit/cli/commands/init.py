"""`mlgit init`: detect datasets, models and metrics, and write a commented mlgit.yaml that works as is."""

from __future__ import annotations

import json
import os
import posixpath
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlgit.config import settings as config
from mlgit.errors import MlgitError
from mlgit.registry import tags
from mlgit.repo import dvc as pipeline
from mlgit.repo import git
from mlgit.repo.values import number, parse
from mlgit.system import atomic, files

_TABLE_EXT = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_MODEL_EXT = (
    ".pkl",
    ".pickle",
    ".joblib",
    ".skops",
    ".onnx",
    ".pt",
    ".pth",
    ".h5",
    ".keras",
    ".safetensors",
    ".cbm",
    ".ubj",
    ".bst",
    ".model",
)
_LOWER_TOKENS = frozenset(
    "loss logloss error err mae mse rmse rmsle mape smape latency time duration seconds ms perplexity ppl "
    "fpr fnr far brier wer cer cost memory size bytes distance divergence".split()
)
_PLAIN = re.compile(r"^[A-Za-z0-9_./\-]+$")


def direction_for(metric: str) -> str:
    """Guess whether higher or lower is better from the metric's name."""
    last = metric.rsplit(".", 1)[-1].lower()
    tokens = set(re.split(r"[^a-z0-9]+", last)) | {last}
    if tokens & _LOWER_TOKENS or "loss" in last or "error" in last:
        return "lower"
    return "higher"


_COUNT_TOKENS = frozenset("n num count counts support samples examples instances nobs rows size sizes len".split())


def is_count(metric: str) -> bool:
    """Whether a metric's name says it counts something (`n_test`, `support`, `test_size`, `numSamples`):
    context, not quality."""
    last = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", metric.rsplit(".", 1)[-1]).lower()  # camelCase as words
    return bool(set(re.split(r"[^a-z0-9]+", last)) & _COUNT_TOKENS)


def _q(text: str) -> str:
    return text if _PLAIN.match(text) and not text[0].isdigit() else json.dumps(text)


def _name_in(name: str, taken: set[str]) -> str:
    # Artifact names come from dvc.yaml and already follow GTO's grammar; only make them unique.
    unique, n = name, 2
    while unique in taken:
        unique, n = f"{name}-{n}", n + 1
    taken.add(unique)
    return unique


def _word(text: str) -> str:
    # A name GTO accepts: the one sanitiser, with `-` between the words it keeps and none at either end.
    return tags.safe_name(text, keep="_-", fill="-").strip("-_")


def _name(text: str, taken: set[str]) -> str:
    base = _word(text) or "item"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


@dataclass(frozen=True)
class Detected:
    """What init found in the repository."""

    datasets: list[tuple[str, str, str]]  # name, path, format
    models: list[tuple[str, str, list[str]]]  # name, path, metrics files
    params: dict[str, list[str]]  # model -> params files
    gates: dict[str, list[tuple[str, str]]]  # model -> (metric, direction)
    default_branch: str
    scoped: dict[str, list[str]] = field(default_factory=dict)  # sub-folder model -> its datasets
    loaders: dict[str, str] = field(default_factory=dict)  # model -> declared loader ("none": metrics-only)
    notes: list[str] = field(default_factory=list)  # warnings to print: metrics files, DVC remotes


def _table_format(root: Path, path: str) -> str | None:
    ext = posixpath.splitext(path)[1].lower()
    if ext in _TABLE_EXT:
        return _TABLE_EXT[ext]
    folder = root / path
    if folder.is_dir():
        kinds = {_TABLE_EXT.get(os.path.splitext(f)[1].lower()) for f in os.listdir(folder) if not f.startswith(".")}
        if len(kinds) == 1 and None not in kinds:
            return kinds.pop()
    return None


_NOT_MODELS = re.compile(r"encod|vectori[sz]|scaler|tokeni[sz]|transformer|imputer|vocab|preprocess|featur|label", re.I)


def _path_name(path: str, base: str, taken: set[str]) -> str:
    """A name from the path: the file's stem, or `folder/stem` when another one has that stem (never `stem-2`)."""
    stem = posixpath.splitext(posixpath.basename(path))[0]
    if _word(stem) not in taken:
        return _name(stem, taken)
    folder = base or posixpath.dirname(path)
    qualified = "/".join(p for p in (_word(x) for x in f"{folder}/{stem}".split("/")) if p)
    return _name(qualified, taken)


def _datasets(root: Path, project: pipeline.Project) -> list[tuple[str, str, str]]:
    """Tables the pipelines write (DVC outs, .dvc files) and git-tracked tables they read (deps no stage writes)."""
    taken: set[str] = set()
    datasets: list[tuple[str, str, str]] = []
    candidates = [(o.path, o.base) for o in project.outs if not (o.metrics or o.plots)]
    written = [o.path for o in project.outs]
    inputs = [
        (dep, posixpath.dirname(stage.lock))
        for stage in project.stages
        for dep in stage.deps
        if not any(dep == w or dep.startswith(f"{w}/") for w in written)
    ]
    tracked = set(git.work_tree_files(root, [p for p, _b in inputs])) if inputs else set()
    candidates += [(p, b) for p, b in inputs if p in tracked or any(t.startswith(f"{p}/") for t in tracked)]
    for path, base in candidates:
        fmt = _table_format(root, path)
        if fmt and path not in {d[1] for d in datasets}:
            datasets.append((_path_name(path, base, taken), path, fmt))
    return datasets


def _pipeline_models(project: pipeline.Project) -> list[tuple[str, str, str]]:
    """Models of pipelines without `artifacts:`: the rule in the README ("How init finds models").

    A model-like output (a model file extension, or `model` in its name) is a model when a stage that writes
    metrics reads it, or when no stage reads it; and never when another model-like output is built from it
    (an encoder, vectorizer or scaler feeding the training stage) or its name says it is such a transformer.
    """
    likes = [o for o in project.outs if not (o.metrics or o.plots) and _model_like(o.path)]
    readers: dict[str, list[pipeline.Stage]] = {}
    for stage in project.stages:
        for dep in stage.deps:
            readers.setdefault(dep, []).append(stage)
    metric_stages = {o.stage for o in project.outs if o.metrics}
    like_paths = {o.path for o in likes}
    found: list[tuple[str, str, str]] = []
    taken: dict[str, set[str]] = {}  # per project folder: `dir:name` keeps the folders apart
    for out in likes:
        users = readers.get(out.path, [])
        feeds_model = any(p in like_paths and p != out.path for s in users for p in s.outs)
        if feeds_model or _NOT_MODELS.search(posixpath.basename(out.path)):
            continue
        if users and not any(s.key in metric_stages for s in users):
            continue
        name = _path_name(out.path, "", taken.setdefault(out.base, set()))
        found.append((f"{out.base}:{name}" if out.base else name, out.path, out.base))
    return found


def _model_like(path: str) -> bool:
    base = posixpath.basename(path).lower()
    return base.endswith(_MODEL_EXT) or "model" in base


def _metrics_only(project: pipeline.Project) -> list[tuple[str, str, str]]:
    """A pipeline with metrics but no model file: gate it as a model whose release records its main output."""
    found: list[tuple[str, str, str]] = []
    taken: set[str] = set()
    for base, mfiles in project.metrics_by_base.items():
        if not mfiles:
            continue
        metric_stage = next((o.stage for o in project.outs if o.path in mfiles and o.stage), None)
        outs = [o.path for o in project.outs if o.base == base and not (o.metrics or o.plots)]
        mine = [o.path for o in project.outs if o.stage == metric_stage and not (o.metrics or o.plots)]
        path = (mine or outs or mfiles)[0]
        name = _name(posixpath.basename(base) or "pipeline", taken)
        found.append((f"{base}:{name}" if base else name, path, base))
    return found


def detect(root: Path) -> Detected:
    """Read the DVC projects (as DVC resolves them) and the metrics files in the work tree."""
    project = pipeline.read_project(root)
    datasets = _datasets(root, project)
    model_taken: set[str] = set()
    # (name, artifact path, folder of the declaring dvc.yaml): GTO names sub-folder artifacts `dir:name`.
    found = [
        (_name_in(a.model_name, model_taken), a.path, a.base) for a in project.artifacts if a.type in (None, "model")
    ]
    loaders: dict[str, str] = {}
    if not found:
        found = _pipeline_models(project)
    if not found:
        found = _metrics_only(project)
        loaders = {name: "none" for name, _p, _b in found}
    models = []
    gates: dict[str, list[tuple[str, str]]] = {}
    params_of: dict[str, list[str]] = {}
    for name, path, base in found:
        mine = project.metrics_by_base.get(base) or project.metrics
        params_of[name] = [p for p in (project.params_by_base.get(base) or project.params) if (root / p).is_file()]
        models.append((name, path, mine))
        gates[name] = _gates(root, mine)
    # A model in a sub-folder's dvc.yaml records only that folder's datasets in its lineage, so a change in one
    # project does not re-release the others.
    scoped = {name: [d[0] for d in datasets if d[1].startswith(f"{base}/")] for name, _path, base in found if base}
    detected = Detected(datasets, models, params_of, gates, git.default_branch(root, None), scoped)
    detected.loaders.update(loaders)
    detected.notes.extend(_metrics_notes(root, project))
    return detected


def _gates(root: Path, mine: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for mfile in mine:
        try:
            values = parse(
                mfile, files.read_small(root, mfile, limit=files.MAX_VALUES_BYTES, links_into=pipeline.cache_dirs(root))
            )
        except (OSError, MlgitError):
            continue
        qualify = len(mine) > 1
        for key, value in values.items():
            # A count (test-set size, support) changes with the data, not with how good the model is.
            if number(value) is not None and not is_count(key):
                out.append((f"{mfile}:{key}" if qualify else key, direction_for(key)))
    return out


def _metrics_notes(root: Path, project: pipeline.Project) -> list[str]:
    """What keeps a metrics file from being read at a release: gitignored and not DVC-tracked, or DVC-cached."""
    tracked = {o.path: "" for o in project.outs if o.cached}
    cached = {m for m in project.metrics if pipeline.hash_for(m, tracked)}
    declared = [m for m in project.metrics if m not in cached]
    notes = []
    for path in sorted(git.ignored(root, declared)):
        notes.append(
            f"warning: {path} is ignored by .gitignore and DVC does not cache it, so no commit holds it and later "
            f"pull requests would have no baseline; un-ignore it (e.g. add '!{path}' to .gitignore) and commit it"
        )
    for path in sorted(cached):
        notes.append(
            f"note: {path} is a DVC-cached metrics output (cache: true): baselines are read from the DVC cache or "
            "remote, so 'dvc push' after each release; or mark it 'cache: false' in dvc.yaml and commit it"
        )
    return notes


def render(d: Detected, forge: str = "github") -> str:
    """The commented mlgit.yaml text."""
    out = [
        '# mlgit configuration: see the README\'s "mlgit.yaml reference" for every key.',
        "# Written by 'mlgit init'; edit freely (re-running init needs --force and replaces this file).",
        "version: 1",
        "",
        "# DVC-tracked tables that the checks read and that release lineage records (by DVC hash).",
        *_datasets_block(d),
        "",
        "# Models: the artifact, its metrics and params files, and the promotion policy.",
        *_models_block(d),
        "",
        "# Generated CI (mlgit ci generate).",
        "ci:",
        f"  forge: {forge:<21}# github | gitlab | none",
        f"  default_branch: {_q(d.default_branch)}",
        "",
    ]
    return "\n".join(out)


def _datasets_block(d: Detected) -> list[str]:
    if not d.datasets:
        return [
            "datasets: {}",
            "#  my-table:",
            "#    path: data/table.csv",
            "#    format: csv    # csv | parquet | jsonl",
        ]
    out = ["datasets:"]
    for name, path, fmt in d.datasets:
        out += [f"  {_q(name)}:", f"    path: {_q(path)}", f"    format: {fmt}"]
    return out


def _models_block(d: Detected) -> list[str]:
    if not d.models:
        return [
            "# None detected: declare one like this, or add an 'artifacts:' section to dvc.yaml and re-run init.",
            "models: {}",
            "#  my-model:",
            "#    path: models/model.pkl",
            "#    metrics: [metrics.json]",
            "#    params: [params.yaml]",
        ]
    out = ["models:"]
    for name, path, mfiles in d.models:
        out += [f"  {_q(name)}:", f"    path: {_q(path)}"]
        out.append(
            f"    metrics: [{', '.join(_q(m) for m in mfiles)}]"
            if mfiles
            else "    metrics: [metrics.json]  # none detected: point this at your metrics file"
        )
        out.append(f"    params: [{', '.join(_q(p) for p in d.params.get(name, []))}]")
        if d.loaders.get(name) == "none":
            out.append("    loader: none   # metrics-only pipeline: the release records this output; nothing is loaded")
        if name in d.scoped:
            out.append(f"    datasets: [{', '.join(_q(n) for n in d.scoped[name])}]  # the datasets in its lineage")
        out += _policy_block(d.gates.get(name, []))
    return out


def _policy_block(gates: list[tuple[str, str]]) -> list[str]:
    out = [
        "    policy:",
        "      # Each gate holds against the last release AND the best release so far, so small regressions",
        "      # cannot compound from release to release. Also: 'main', 'stage:NAME', any git revision.",
        "      base: [last-release, best]",
        "      first_version: 0.1.0",
        "      # One gate per metric. direction was guessed from the name: check it.",
        "      # Optional per gate: min / max (absolute bounds), max_regression (absolute),",
        "      # max_regression_rel (fraction of the baseline), min_improvement (absolute).",
        "      # Without max_regression*, a gated metric may not get worse than the baseline at all;",
        "      # init allows 2 % (max_regression_rel: 0.02) so an overall better model may trade a little.",
    ]
    if not gates:
        return [*out, "      gates: {}   # no numeric metrics found yet: run the pipeline, then 'mlgit init --force'"]
    out.append("      gates:")
    for metric, direction in gates:
        out += [f"        {_q(metric)}:", f"          direction: {direction}", "          max_regression_rel: 0.02"]
    return out


def run(cwd: Path, force: bool, forge: str | None = None) -> int:
    """Write mlgit.yaml (refusing to replace one without --force) and the CI files; run `dvc init` if needed."""
    root = git.toplevel(cwd)
    target = root / config.CONFIG_NAME
    if target.exists() and not force:
        raise MlgitError(f"{target} already exists; not overwriting it", hint="pass --force to replace it")
    if forge is None:
        forge = _previous_forge(root) if target.exists() else "github"
    # Only where no DVC project exists: sub-projects (`dvc init --subdir`) are each handled in their own root.
    if not pipeline.project_roots(root) and pipeline.init(root):
        sys.stdout.write("initialized DVC (.dvc/)\n")
    detected = detect(root)
    text = render(detected, forge)
    from mlgit.config import schema as config_schema
    from mlgit.system import yamlsource

    config_schema.validate(yamlsource.load(text, config.CONFIG_NAME))  # what init writes must load as is
    atomic.write_text(target, text)
    sys.stdout.write(f"{'replaced' if force else 'wrote'} {config.CONFIG_NAME}:\n")
    sys.stdout.write(f"  datasets: {', '.join(f'{n} ({p})' for n, p, _ in detected.datasets) or 'none found'}\n")
    for name, path, _m in detected.models:
        gates = ", ".join(f"{m} ({d} is better)" for m, d in detected.gates.get(name, []))
        sys.stdout.write(f"  model {name}: {path}; gates: {gates or 'none yet'}\n")
    if not detected.models:
        sys.stdout.write("  models: none found (declare one in mlgit.yaml)\n")
    for note in [*detected.notes, *(f"warning: {p}" for p in _remote_problems(root, detected))]:
        sys.stdout.write(f"  {note}\n")
    sys.stdout.write("Review the metric directions, then commit mlgit.yaml.\n")
    if detected.datasets:
        sys.stdout.write(
            "Next: 'mlgit schema infer' writes a schema file per dataset (mlgit check needs them); review and commit.\n"
        )
    if forge != "none":
        _generate_ci(root, forge)
    return 0


def _remote_problems(root: Path, d: Detected) -> list[str]:
    # Only when CI has something to pull: a dataset or model that DVC tracks.
    from mlgit.actions import workflows

    return workflows.remote_warnings(root, [p for _n, p, _f in d.datasets] + [p for _n, p, _m in d.models])


def _previous_forge(root: Path) -> str:
    # `init --force` rewrites mlgit.yaml: the forge chosen before stays unless --forge says otherwise.
    try:
        return config.load(root).ci.forge
    except MlgitError:
        return "github"


def _generate_ci(root: Path, forge: str) -> None:
    from mlgit.cli.commands import ci_check, ci_generate
    from mlgit.render.style import Style

    done = ci_generate.generate(root, config.load(root), forge, force=False)
    sys.stdout.write(f"generated CI ({forge}):\n")
    for s, action in done:
        if action == "kept":
            # mlgit.yaml is written either way; someone's edited workflow is left for them to decide.
            why = ci_check.explain(s).split(": ", 1)[1]
            sys.stdout.write(f"  kept {s.path} ({why}); 'mlgit ci generate --force' replaces it\n")
        else:
            sys.stdout.write(f"  {ci_generate.report([(s, action)], Style(False)).splitlines()[0]}\n")
    sys.stdout.write("Commit these files too; 'mlgit ci check' tells when they need regenerating.\n")
