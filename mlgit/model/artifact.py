"""The model file itself: present, within its size budget, loadable, predicting on a golden input, fast enough.

Loading is where a model file can run code: skops and ONNX files are read as data, while a pickle or joblib
file is only unpickled when the configuration opts in AND the file is known not to come from the change under
review (see `pickle_trust`). Both the opt-in and the revisions that vouch for a file come from the default
branch, never from the change (`mlgit.repo.trust`).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgit.config.settings import CONFIG_NAME, Golden, GoldenOutput, Model, TrustSource
from mlgit.repo import dvc as pipeline
from mlgit.repo import git
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity

if TYPE_CHECKING:
    from mlgit.repo.state import RepoState

TRUST_ENV = "MLGIT_TRUSTED_ARTIFACT"
PICKLE_LOADERS = frozenset({"joblib", "pickle"})
_EXTENSIONS = {".skops": "skops", ".onnx": "onnx", ".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle"}
_EXTRA_HINT = "install the optional extra: pip install 'mlgit[models]'"


def loader_for(model: Model) -> str | None:
    """The declared loader, else the one the file extension implies; None when neither says."""
    if model.loader is not None:
        return model.loader
    return _EXTENSIONS.get(os.path.splitext(model.path)[1].lower())


def entry_file(folder: Path, loader: str | None) -> str | None:
    """The one model file inside a folder artifact (a DVC directory output), relative to it; None if not one.

    A folder model holds exactly one file a loader opens (by extension, or of the declared loader); the other
    files (vocabularies, feature lists, notes) travel with it.
    """
    suffixes = {ext for ext, name in _EXTENSIONS.items() if loader is None or name == loader}
    found = sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
    )
    return found[0] if len(found) == 1 else None


def _folder_entry(root: Path, model: Model, ctx: _Ctx) -> Model:
    """A folder model as its one model file; a finding when the folder holds none or several."""
    from dataclasses import replace

    entry = entry_file(root / model.path, model.loader)
    if entry is None:
        raise _Skip(
            ctx.finding(
                Code.MODEL_LOADER_UNKNOWN,
                Severity.ERROR,
                f"{model.path} is a folder without exactly one model file"
                f" ({', '.join(sorted(_EXTENSIONS))}{'' if model.loader is None else ' of loader ' + model.loader});"
                f" point models.{model.name}.path at the file to load, or declare models.{model.name}.loader",
                file="mlgit.yaml",
            )
        )
    return replace(model, path=f"{model.path}/{entry}")


def skops_types(path: Path) -> list[str]:
    """The types beyond skops' defaults a skops file needs to load (read as data, nothing built)."""
    import skops.io as sio

    return sorted(str(t) for t in sio.get_untrusted_types(file=path))


def file_md5(path: Path) -> str:
    """The MD5 of a file's bytes: what DVC 3 records for a file output."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pickle_trust(repo: RepoState, model: Model, bases: Sequence[tuple[str, str]]) -> str | None:
    """Why the pickle at `model.path` may be loaded, or None when it may not.

    `model` carries the default branch's `trust_pickle` (`mlgit.repo.trust.settings`); `bases` are (label, commit)
    pairs of revisions the change cannot write (a release tag, the remote's default branch): a file whose bytes
    match what one of them records was not introduced by this change.
    """
    if not model.trust_pickle:
        return None
    if os.environ.get(TRUST_ENV) == "1":
        return f"{TRUST_ENV}=1: produced in this CI run"
    root = repo.root
    path = root / model.path
    if not path.is_file():
        return None
    md5: str | None = None
    blob: str | None = None
    for label, commit in bases:
        recorded = repo.dvc_hashes(commit).get(model.path)
        if recorded is not None:
            md5 = md5 or file_md5(path)
            if recorded.removesuffix(".dir") == md5:
                return f"its DVC hash equals the one recorded at {label}"
            continue
        # A model committed to git directly: compare blob ids instead.
        at_base = git.blob_at(root, commit, model.path)
        if at_base is not None:
            blob = blob or git.hash_object(root, model.path)
            if at_base == blob:
                return f"it is identical to the file committed at {label}"
    return None


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


@dataclass(frozen=True)
class _Ctx:
    model: Model
    source: TrustSource | None = None

    def finding(self, code: Code, severity: Severity, message: str, file: str | None = None, **data: Any) -> Finding:
        return Finding(
            code=code,
            severity=severity,
            subject=self.model.name,
            message=message,
            file=file or self.model.path,
            data=data,
        )


class _Skip(Exception):
    """Stops the artifact checks after a finding that makes the next ones meaningless."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def check(root: Path, model: Model, trusted: str | None, source: TrustSource | None = None) -> list[Finding]:
    """Every artifact check for one model; `trusted` is `pickle_trust`'s answer for pickle-based loaders.

    `source` says where the model's trust settings were read (named in the messages when loading is refused).
    """
    ctx = _Ctx(model, source)
    out: list[Finding] = []
    try:
        _check(root, model, trusted, ctx, out)
    except _Skip as stop:
        out.append(stop.finding)
    return out


def _check(root: Path, model: Model, trusted: str | None, ctx: _Ctx, out: list[Finding]) -> None:
    path = root / model.path
    if not path.exists():
        tracked = any(o.path == model.path or model.path.startswith(o.path + "/") for o in _dvc_outs(root))
        hint = (
            f"it is a DVC-tracked output: run 'dvc pull {model.path}' (or 'dvc repro')"
            if tracked
            else "check models." + model.name + ".path in mlgit.yaml"
        )
        raise _Skip(ctx.finding(Code.MODEL_ARTIFACT_MISSING, Severity.ERROR, f"{model.path} does not exist; {hint}"))
    size = _size(path)
    if model.max_size_mb is not None and size > model.max_size_mb * 1024 * 1024:
        out.append(
            ctx.finding(
                Code.MODEL_ARTIFACT_TOO_LARGE,
                Severity.ERROR,
                f"{model.path} is {_human(size)}; the budget is {model.max_size_mb:g} MB (max_size_mb)",
                size_bytes=size,
                max_size_mb=model.max_size_mb,
            )
        )
    else:
        budget = f" (budget {model.max_size_mb:g} MB)" if model.max_size_mb is not None else ""
        out.append(
            ctx.finding(
                Code.MODEL_ARTIFACT_SIZE, Severity.INFO, f"{model.path} is {_human(size)}{budget}", size_bytes=size
            )
        )
    if path.is_dir():
        model = _folder_entry(root, model, ctx)
    loader = loader_for(model)
    if loader == "none":
        return  # a metrics-only pipeline: `path` is the output the release records, not a model to load
    if loader is None:
        raise _Skip(
            ctx.finding(
                Code.MODEL_LOADER_UNKNOWN,
                Severity.ERROR,
                f"cannot tell how to load {model.path} from its extension; "
                f"declare models.{model.name}.loader (skops, onnx, joblib or pickle) in mlgit.yaml",
                file="mlgit.yaml",
            )
        )
    if loader in PICKLE_LOADERS and trusted is None:
        # A warning, not an error: refusing to run untrusted code says nothing against the model itself, and a
        # red check on every retraining pull request would teach people to ignore the check.
        raise _Skip(
            ctx.finding(
                Code.MODEL_UNTRUSTED_PICKLE,
                Severity.WARNING,
                _untrusted_message(model, loader, ctx.source),
                loader=loader,
                trusted_from=ctx.source.label if ctx.source else None,
            )
        )
    loaded = _load(root, model, loader, ctx)
    how = f"loads with {loader}" + (f" (trusted: {trusted})" if loader in PICKLE_LOADERS else "")
    out.append(ctx.finding(Code.MODEL_LOADS, Severity.INFO, f"{model.path} {how}", loader=loader))
    if model.golden is not None:
        _golden(root, model, model.golden, loaded, ctx, out)


# What `pickle_trust` (with `checks.model.trusted_bases`) accepts, in the words every message and the README use.
_VOUCHERS = (
    "the bytes the default branch records (its tip, or where this branch forked from it), the model's last "
    "release, or the release the gate compares with"
)


def _untrusted_message(model: Model, loader: str, source: TrustSource | None) -> str:
    """Why a pickle was not loaded, and the one way forward that fits (its wording is tested and in the README)."""
    head = f"{model.path} was not loaded (artifact checks skipped): unpickling ({loader}) can run arbitrary code"
    opt_in = (
        f"To opt in, set 'trust_pickle: true' on the model in the default branch's {CONFIG_NAME} (a change cannot "
        f"set it for itself): mlgit then unpickles the file only when it is identical to {_VOUCHERS}, or when "
        f"{TRUST_ENV}=1 says this CI job built it itself."
    )
    if source is not None and source.label is None:
        why, hint = f"no trusted {CONFIG_NAME} allows it: {source.problem}", opt_in
    elif not model.trust_pickle:
        where = f" on the default branch ({source.label})" if source is not None else ""
        why, hint = f"models.{model.name}.trust_pickle is not set in {CONFIG_NAME}{where}", opt_in
        if source is not None and "trust_pickle" in source.ignored_for(model.name):
            why += "; this change sets it, but a change cannot trust its own files: it applies once merged"
    else:
        branch = f"the default branch ({source.label})" if source is not None else "the default branch"
        why = (
            f"trust_pickle is set, but this file differs from the one on {branch} (its tip, or where this branch "
            "forked from it), from the model's last release and from the release the gate compares with (it comes "
            f"from the change under review), and {TRUST_ENV}=1 does not say this CI job built it"
        )
        hint = (
            "It is loaded once the change is merged (the default branch then records these bytes), or in a CI job "
            f"that rebuilt it itself (dvc repro) and sets {TRUST_ENV}=1."
        )
    return f"{head}, and {why}.\n{hint}\nSafer: save the model with skops (skops.io.dump) or export it to ONNX."


def _dvc_outs(root: Path) -> list[pipeline.Out]:
    try:
        return pipeline.read_project(root).outs
    except Exception:  # noqa: BLE001 - a broken dvc.yaml only loses the 'dvc pull' hint here
        return []


Predictor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Loaded:
    obj: Any
    loader: str


def _missing_extra(ctx: _Ctx, loader: str, package: str) -> _Skip:
    return _Skip(
        ctx.finding(
            Code.MODEL_LOADER_MISSING,
            Severity.ERROR,
            f"loading {ctx.model.path} with {loader} needs the '{package}' package, which is not installed; "
            f"{_EXTRA_HINT}",
            loader=loader,
        )
    )


def _load(root: Path, model: Model, loader: str, ctx: _Ctx) -> _Loaded:
    path = root / model.path
    if loader == "skops":
        try:
            import skops.io as sio
        except ImportError:
            raise _missing_extra(ctx, loader, "skops") from None
        try:
            untrusted = [str(t) for t in sio.get_untrusted_types(file=path)]
        except Exception as exc:  # noqa: BLE001 - any malformed file must become a finding, not a crash
            raise _load_failed(ctx, loader, exc) from None
        unknown = [t for t in untrusted if t not in model.trusted_types]
        if unknown:
            # A change that lists the types itself only waits for its merge: like an untrusted pickle, a warning.
            pending = ctx.source is not None and "trusted_types" in ctx.source.ignored_for(model.name)
            raise _Skip(
                ctx.finding(
                    Code.MODEL_UNTRUSTED_TYPES,
                    Severity.WARNING if pending else Severity.ERROR,
                    f"{model.path} holds types skops does not trust by default: {', '.join(unknown)}; "
                    f"after reviewing them, list them under models.{model.name}.trusted_types in mlgit.yaml"
                    + _types_note(ctx),
                    types=unknown,
                )
            )
        return _Loaded(_guard(lambda: sio.load(path, trusted=untrusted or None), ctx, loader), loader)
    if loader == "onnx":
        try:
            import onnxruntime
        except ImportError:
            raise _missing_extra(ctx, loader, "onnxruntime") from None

        def session() -> Any:
            opts = onnxruntime.SessionOptions()
            opts.log_severity_level = 3  # errors only: its warnings would land in the check's output
            return onnxruntime.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

        return _Loaded(_guard(session, ctx, loader), loader)
    if loader == "joblib":
        try:
            import joblib
        except ImportError:
            raise _missing_extra(ctx, loader, "joblib") from None
        return _Loaded(_guard(lambda: joblib.load(path), ctx, loader), loader)

    def unpickle() -> Any:
        import pickle

        with path.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - reached only for trusted files (pickle_trust)

    return _Loaded(_guard(unpickle, ctx, loader), loader)


def _types_note(ctx: _Ctx) -> str:
    source = ctx.source
    if source is None:
        return ""
    if source.label is None:
        return f" on the default branch (no trusted {CONFIG_NAME} now: {source.problem})"
    note = f" on the default branch ({source.label})"
    if "trusted_types" in source.ignored_for(ctx.model.name):
        note += "; this change's own list applies once merged"
    return note


def _load_failed(ctx: _Ctx, loader: str, exc: BaseException) -> _Skip:
    return _Skip(
        ctx.finding(
            Code.MODEL_LOAD_FAILED,
            Severity.ERROR,
            f"{ctx.model.path} does not load with {loader}: {type(exc).__name__}: {exc}",
            loader=loader,
        )
    )


def _guard(fn: Callable[[], Any], ctx: _Ctx, loader: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    except Exception as exc:  # noqa: BLE001 - a model that fails to load is a finding
        raise _load_failed(ctx, loader, exc) from None


# -- the golden input ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldenTable:
    """The golden input: column names (None for a headerless JSON list of lists) and rows."""

    columns: tuple[str, ...] | None
    rows: tuple[tuple[Any, ...], ...]


def read_table(path: Path, rel: str) -> GoldenTable:
    """Read a small CSV (with a header) or JSON (list of records, or list of lists) input; ValueError when bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{rel}: not UTF-8 text") from None
    if rel.lower().endswith(".json"):
        import json

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{rel}:{exc.lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(data, list) or not data:
            raise ValueError(f"{rel}: expected a non-empty list of records (objects) or of rows (lists)")
        if all(isinstance(r, dict) for r in data):
            cols = tuple(dict.fromkeys(str(k) for r in data for k in r))
            return GoldenTable(cols, tuple(tuple(r.get(c) for c in cols) for r in data))
        if all(isinstance(r, list) for r in data):
            widths = {len(r) for r in data}
            if len(widths) != 1:
                raise ValueError(f"{rel}: rows have different lengths ({sorted(widths)})")
            return GoldenTable(None, tuple(tuple(r) for r in data))
        raise ValueError(f"{rel}: expected a list of records (objects) or of rows (lists), not a mix")
    import csv
    import io

    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{rel}: the file is empty") from None
    rows = []
    for n, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise ValueError(f"{rel}:{n}: {len(row)} fields, the header has {len(header)}")
        rows.append(tuple(_cell(v) for v in row))
    if not rows:
        raise ValueError(f"{rel}: a header but no rows")
    return GoldenTable(tuple(header), tuple(rows))


def _cell(v: str) -> Any:
    if v == "":
        return None
    try:
        return float(v)
    except ValueError:
        return v


def _matrix(table: GoldenTable, columns: Sequence[str] | None, rel: str) -> Any:
    import numpy as np

    rows = table.rows
    if columns is not None and table.columns is not None:
        missing = [c for c in columns if c not in table.columns]
        if missing:
            raise ValueError(f"{rel}: the model expects columns missing here: {', '.join(missing)}")
        idx = [table.columns.index(c) for c in columns]
        rows = tuple(tuple(r[i] for i in idx) for r in rows)
    numeric = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for r in rows for v in r)
    if numeric:
        return np.array([[math.nan if v is None else float(v) for v in r] for r in rows], dtype=np.float64)
    return np.array(rows, dtype=object)


def _python_predictor(loaded: Any, golden: Golden, table: GoldenTable, ctx: _Ctx) -> tuple[Predictor, Any]:
    obj = loaded
    rel = golden.input
    if golden.key is not None:
        if not isinstance(obj, Mapping) or golden.key not in obj:
            keys = ", ".join(map(str, obj)) if isinstance(obj, Mapping) else f"a {type(obj).__name__}"
            raise _Skip(
                ctx.finding(
                    Code.MODEL_PREDICT_FAILED,
                    Severity.ERROR,
                    f"golden.key is {golden.key!r}, but the loaded artifact holds: {keys}",
                    file="mlgit.yaml",
                )
            )
        obj = obj[golden.key]
    method_name = golden.method or "predict"
    method = getattr(obj, method_name, None)
    if not callable(method):
        hint = (
            f"it is a mapping with keys {', '.join(map(str, obj))}: set golden.key to the estimator's key"
            if isinstance(obj, Mapping)
            else "set golden.method to the method that predicts"
        )
        raise _Skip(
            ctx.finding(
                Code.MODEL_PREDICT_FAILED,
                Severity.ERROR,
                f"the loaded {type(obj).__name__} has no method {method_name}(); {hint}",
                file="mlgit.yaml",
            )
        )
    names = getattr(obj, "feature_names_in_", None)
    try:
        if names is not None and table.columns is not None:
            # Fitted on a DataFrame: give it one, so column-name based transformers see their columns.
            try:
                import pandas as pd
            except ImportError:
                x = _matrix(table, [str(n) for n in names], rel)
            else:
                x = pd.DataFrame(_matrix(table, [str(n) for n in names], rel), columns=[str(n) for n in names])
        else:
            x = _matrix(table, None, rel)
    except ValueError as exc:
        raise _Skip(ctx.finding(Code.MODEL_GOLDEN_INVALID, Severity.ERROR, str(exc), file=rel)) from None
    return method, x


_ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def _onnx_predictor(session: Any, golden: Golden, table: GoldenTable, ctx: _Ctx) -> tuple[Predictor, Any]:
    import numpy as np

    rel = golden.input
    inputs = session.get_inputs()
    outputs = [o.name for o in session.get_outputs()]
    name = golden.method or outputs[0]
    if name not in outputs:
        raise _Skip(
            ctx.finding(
                Code.MODEL_PREDICT_FAILED,
                Severity.ERROR,
                f"golden.method is {name!r}, but the ONNX graph's outputs are: {', '.join(outputs)}",
                file="mlgit.yaml",
            )
        )
    try:
        feeds: dict[str, Any] = {}
        if len(inputs) == 1:
            feeds[inputs[0].name] = _matrix(table, None, rel).astype(_ONNX_TYPES.get(inputs[0].type, "float32"))
        else:
            # One graph input per column (skl2onnx's form for DataFrames): feed each by name, as a column.
            for inp in inputs:
                col = _matrix(table, [inp.name], rel).astype(_ONNX_TYPES.get(inp.type, "float32"))
                feeds[inp.name] = col
    except ValueError as exc:
        raise _Skip(ctx.finding(Code.MODEL_GOLDEN_INVALID, Severity.ERROR, str(exc), file=rel)) from None

    def predict(x: Any) -> Any:
        return session.run([name], x)[0]

    return predict, {k: np.ascontiguousarray(v) for k, v in feeds.items()}


_KINDS = {"float": "f", "int": "iu", "bool": "b", "str": "USO"}


def _describe(arr: Any) -> str:
    return f"{arr.dtype} array of shape {tuple(arr.shape)}"


def _golden(root: Path, model: Model, golden: Golden, loaded: _Loaded, ctx: _Ctx, out: list[Finding]) -> None:
    rel = golden.input
    table = _golden_table(root, rel, ctx)
    if loaded.loader == "onnx":
        predict, x = _onnx_predictor(loaded.obj, golden, table, ctx)
    else:
        predict, x = _python_predictor(loaded.obj, golden, table, ctx)
    where = f"{rel} ({len(table.rows)} rows)"
    first = _predict_once(predict, x, ctx, rel, where)
    second = _predict_once(predict, x, ctx, rel, where)
    problems = _output_problems(first, golden, ctx, rel)
    out.extend(problems)
    if not _same(first, second):
        out.append(
            ctx.finding(
                Code.MODEL_NONDETERMINISTIC,
                Severity.ERROR,
                f"two predictions on {rel} differ: the model's output is not deterministic",
                file=rel,
            )
        )
    if not problems:
        out.append(_predicts(first, ctx, rel, where))
    if model.latency is not None:
        out.extend(_latency(predict, x, model, ctx, rel, len(table.rows)))


def _golden_table(root: Path, rel: str, ctx: _Ctx) -> GoldenTable:
    if not (root / rel).is_file():
        raise _Skip(
            ctx.finding(
                Code.MODEL_GOLDEN_MISSING,
                Severity.ERROR,
                f"the golden input {rel} does not exist; commit a small sample of model inputs there",
                file=rel,
            )
        )
    try:
        return read_table(root / rel, rel)
    except ValueError as exc:
        raise _Skip(ctx.finding(Code.MODEL_GOLDEN_INVALID, Severity.ERROR, str(exc), file=rel)) from None


def _predict_once(predict: Predictor, x: Any, ctx: _Ctx, rel: str, where: str) -> Any:
    import numpy as np

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(predict(x))
    except Exception as exc:  # noqa: BLE001 - a model that cannot predict is a finding
        raise _Skip(
            ctx.finding(
                Code.MODEL_PREDICT_FAILED,
                Severity.ERROR,
                f"predicting on {where} failed: {type(exc).__name__}: {exc}",
                file=rel,
            )
        ) from None


def _predicts(first: Any, ctx: _Ctx, rel: str, where: str) -> Finding:
    import numpy as np

    values = ""
    if first.dtype.kind in "iuf" and first.size:
        values = f", values {_num(np.nanmin(first))} .. {_num(np.nanmax(first))}"
    return ctx.finding(
        Code.MODEL_PREDICTS,
        Severity.INFO,
        f"predicts on {where}: {_describe(first)}{values}",
        file=rel,
        shape=list(first.shape),
        dtype=str(first.dtype),
    )


def _num(v: Any) -> str:
    return f"{float(v):.6g}"


def _same(a: Any, b: Any) -> bool:
    import numpy as np

    if a.shape != b.shape:
        return False
    try:
        return bool(np.array_equal(a, b, equal_nan=True))
    except TypeError:  # object arrays cannot compare NaNs
        return bool(a.tolist() == b.tolist())


def _output_problems(arr: Any, golden: Golden, ctx: _Ctx, rel: str) -> list[Finding]:
    what = golden.method or "predict"
    found = [
        _type_problem(arr, golden.output, ctx, rel, what),
        _shape_problem(arr, golden.output, ctx, rel, what),
        _range_problem(arr, golden.output, ctx, rel, what),
    ]
    return [f for f in found if f is not None]


def _type_problem(arr: Any, spec: GoldenOutput, ctx: _Ctx, rel: str, what: str) -> Finding | None:
    if spec.type is None:
        return None
    kind = arr.dtype.kind
    ok = kind in _KINDS[spec.type]
    if ok and kind == "O":
        ok = all(isinstance(v, str) for v in arr.ravel().tolist())
    if ok:
        return None
    return ctx.finding(
        Code.MODEL_OUTPUT_TYPE,
        Severity.ERROR,
        f"{what} on {rel} returned a {_describe(arr)}; golden.output.type declares {spec.type}",
        file=rel,
        dtype=str(arr.dtype),
        expected=spec.type,
    )


def _shape_problem(arr: Any, spec: GoldenOutput, ctx: _Ctx, rel: str, what: str) -> Finding | None:
    if spec.shape is None:
        return None
    shape = tuple(arr.shape)
    ok = len(shape) == len(spec.shape) and all(
        want is None or want == got for want, got in zip(spec.shape, shape, strict=True)
    )
    if ok:
        return None
    declared = "(" + ", ".join("any" if d is None else str(d) for d in spec.shape) + ")"
    return ctx.finding(
        Code.MODEL_OUTPUT_SHAPE,
        Severity.ERROR,
        f"{what} on {rel} returned shape {shape}; golden.output.shape declares {declared}",
        file=rel,
        shape=list(shape),
        expected=list(spec.shape),
    )


def _range_problem(arr: Any, spec: GoldenOutput, ctx: _Ctx, rel: str, what: str) -> Finding | None:
    import numpy as np

    if spec.min is None and spec.max is None:
        return None
    if arr.dtype.kind not in "iufb":
        return ctx.finding(
            Code.MODEL_OUTPUT_RANGE,
            Severity.ERROR,
            f"{what} on {rel} returned non-numeric {arr.dtype} values; golden.output.min/max need numbers",
            file=rel,
        )
    values = arr.astype(np.float64)
    nans = int(np.isnan(values).sum())
    lo = float(np.nanmin(values)) if nans < values.size else math.nan
    hi = float(np.nanmax(values)) if nans < values.size else math.nan
    bad: list[str] = []
    if nans:
        bad.append(f"{nans} NaN value{'s' if nans != 1 else ''}")
    if spec.min is not None and lo < spec.min:
        bad.append(f"minimum {lo:.6g} < min {spec.min:g}")
    if spec.max is not None and hi > spec.max:
        bad.append(f"maximum {hi:.6g} > max {spec.max:g}")
    if not bad:
        return None
    return ctx.finding(
        Code.MODEL_OUTPUT_RANGE,
        Severity.ERROR,
        f"{what} on {rel} is out of the declared range: {'; '.join(bad)}",
        file=rel,
        min=None if math.isnan(lo) else lo,
        max=None if math.isnan(hi) else hi,
        nan=nans,
    )


def percentile(sorted_ms: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100) of ascending values."""
    rank = max(1, math.ceil(q / 100 * len(sorted_ms)))
    return sorted_ms[rank - 1]


def _latency(predict: Predictor, x: Any, model: Model, ctx: _Ctx, rel: str, rows: int) -> list[Finding]:
    assert model.latency is not None
    budget = model.latency
    times: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(budget.calls):
            start = time.perf_counter()
            predict(x)
            times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    p50, p95 = percentile(times, 50), percentile(times, 95)
    limits = [
        f"p50 <= {budget.p50_ms:g} ms" if budget.p50_ms else "",
        f"p95 <= {budget.p95_ms:g} ms" if budget.p95_ms else "",
    ]
    declared = ", ".join(x for x in limits if x)
    data = {"p50_ms": round(p50, 4), "p95_ms": round(p95, 4), "calls": budget.calls, "rows": rows}
    found = [
        ctx.finding(
            Code.MODEL_LATENCY,
            Severity.INFO,
            f"p50 {p50:.3g} ms, p95 {p95:.3g} ms over {budget.calls} calls on {rel} ({rows} rows)"
            + (f"; budget {declared}" if declared else ""),
            file=rel,
            **data,
        )
    ]
    for name, measured, limit in (("p50", p50, budget.p50_ms), ("p95", p95, budget.p95_ms)):
        if limit is not None and measured > limit:
            found.append(
                ctx.finding(
                    Code.MODEL_TOO_SLOW,
                    Severity.ERROR,
                    f"{name} latency {measured:.3g} ms is over the budget of {limit:g} ms (latency.{name}_ms)",
                    file="mlgit.yaml",
                    percentile=name,
                    measured_ms=round(measured, 4),
                    budget_ms=limit,
                )
            )
    return found


@dataclass(frozen=True)
class GoldenRun:
    """A model loaded and run on its golden input the way `check` does it (what a bundle records)."""

    loader: str
    table: GoldenTable
    output: Any  # numpy array
    estimator: Any  # the object whose method predicts (after golden.key), or the ONNX session


def golden_run(root: Path, model: Model, trusted: str | None, source: TrustSource | None = None) -> GoldenRun:
    """Load `root/model.path` and predict on `root/golden.input`; MlgitError with the finding's reason.

    `source` (where `model`'s trust settings came from, `trust.settings`) only words the refusal of a pickle.
    """
    import numpy as np

    from mlgit.errors import MlgitError

    ctx = _Ctx(model, source)
    golden = model.golden
    loader = loader_for(model)
    if golden is None or loader is None:
        raise MlgitError(
            f"{model.name} needs golden.input (and a known loader) in mlgit.yaml to be packaged",
            hint="a bundle records the golden input and outputs that `mlgit check package` replays",
        )
    try:
        if loader in PICKLE_LOADERS and trusted is None:
            raise _Skip(
                ctx.finding(Code.MODEL_UNTRUSTED_PICKLE, Severity.ERROR, _untrusted_message(model, loader, source))
            )
        loaded = _load(root, model, loader, ctx)
        try:
            table = read_table(root / golden.input, golden.input)
        except ValueError as exc:
            raise _Skip(ctx.finding(Code.MODEL_GOLDEN_INVALID, Severity.ERROR, str(exc), file=golden.input)) from None
        if loader == "onnx":
            predict, x = _onnx_predictor(loaded.obj, golden, table, ctx)
            estimator = loaded.obj
        else:
            predict, x = _python_predictor(loaded.obj, golden, table, ctx)
            estimator = loaded.obj[golden.key] if golden.key is not None else loaded.obj
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            output = np.asarray(predict(x))
    except _Skip as stop:
        raise MlgitError(stop.finding.message) from None
    return GoldenRun(loader, table, output, estimator)
