"""The bundle's dependencies: which distributions the model needs, pinned, hashed, and downloaded as wheels.

Resolution is frozen by pinning: every distribution is taken at the exact version installed in the
environment that packages (the one whose loaders read the model), with its whole requirement closure, so
the same release packaged from the same environment resolves the same wheels whatever the date or index.
Wheels come from a cache (`MLGIT_WHEEL_CACHE`, default `<git dir>/mlgit/wheels`) filled by `pip download`.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickletools
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlgit.errors import MlgitError
from mlgit.system import atomic, process, statedir

WHEEL_CACHE_ENV = "MLGIT_WHEEL_CACHE"
# What each loader imports at start-up; numpy always, as the runtime builds arrays with it.
LOADER_DISTRIBUTIONS = {
    "joblib": ("joblib", "numpy"),
    "pickle": ("numpy",),
    "skops": ("skops", "numpy"),
    "onnx": ("onnxruntime", "numpy"),
}


@dataclass(frozen=True)
class WheelPin:
    """One locked dependency: a wheel and its sha256."""

    name: str
    version: str
    wheel: str
    sha256: str
    size: int = 0

    @property
    def line(self) -> str:
        """Its hash-pinned requirements.txt line."""
        return f"{self.name}=={self.version} --hash=sha256:{self.sha256}"


def model_modules(path: Path, loader: str) -> set[str]:
    """Top-level modules a model file names, read as data (no unpickling)."""
    if loader in ("joblib", "pickle"):
        return _pickle_modules(path)
    if loader == "skops":
        with zipfile.ZipFile(path) as zf:
            schema = json.loads(zf.read("schema.json"))
        found: set[str] = set()
        _skops_modules(schema, found)
        return found
    return set()


def _pickle_modules(path: Path) -> set[str]:
    found: set[str] = set()
    strings: list[str] = []
    with path.open("rb") as fh:
        try:
            for op, arg, _pos in pickletools.genops(fh):
                if op.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                    strings.append(str(arg))
                elif op.name == "GLOBAL":
                    found.add(str(arg).split(" ", 1)[0].split(".", 1)[0])
                elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                    found.add(strings[-2].split(".", 1)[0])
        except Exception:  # noqa: BLE001, S110 - joblib writes raw array bytes mid-stream: what was read is enough
            pass
    return found


def _skops_modules(node: object, found: set[str]) -> None:
    if isinstance(node, dict):
        module = node.get("__module__")
        if isinstance(module, str):
            found.add(module.split(".", 1)[0])
        for value in node.values():
            _skops_modules(value, found)
    elif isinstance(node, list):
        for value in node:
            _skops_modules(value, found)


def distributions(modules: Iterable[str], loader: str, extra: Iterable[str]) -> list[str]:
    """The installed distributions providing the modules, the loader's own, and the declared extras."""
    from importlib import metadata

    by_module = metadata.packages_distributions()
    names = set(LOADER_DISTRIBUTIONS.get(loader, ())) | set(extra)
    for module in modules:
        if module in sys.stdlib_module_names or module == "builtins":
            continue
        names.update(by_module.get(module, ()))
    return sorted(names)


def import_names(names: Iterable[str]) -> set[str]:
    """The top-level modules the installed distributions `names` provide (and the names themselves, as modules)."""
    from importlib import metadata

    from packaging.utils import canonicalize_name

    wanted = {canonicalize_name(n) for n in names}
    found = {n.replace("-", "_") for n in wanted}
    for module, dists in metadata.packages_distributions().items():
        if any(canonicalize_name(d) in wanted for d in dists):
            found.add(module)
    return found


def closure(names: Iterable[str]) -> list[tuple[str, str]]:
    """(name, installed version) of the distributions and everything they require here, sorted."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen: dict[str, str] = {}
    todo = [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise MlgitError(
                f"the bundle needs {name}, which is not installed here",
                hint=f"install it (pip install {name}) in the environment that packages, so its version can be pinned",
            ) from None
        seen[name] = dist.version
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return sorted(seen.items())


def wheel_cache(git_dir: Path) -> Path:
    """Where downloaded wheels are kept between packagings."""
    configured = os.environ.get(WHEEL_CACHE_ENV)
    return Path(configured) if configured else statedir.inside(git_dir) / "wheels"


def wheelhouse(pins: list[tuple[str, str]], cache: Path, dest: Path) -> list[WheelPin]:
    """Copy (downloading what the cache lacks) one compatible wheel per pin into `dest`."""
    cache.mkdir(parents=True, exist_ok=True)
    found = {pin: _cached_wheel(cache, *pin) for pin in pins}
    missing = [f"{name}=={version}" for (name, version), wheel in found.items() if wheel is None]
    if missing:
        res = process.run(
            (
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--only-binary=:all:",
                "--dest",
                str(cache),
                *missing,
            ),
            check=False,
        )
        if res.returncode != 0:
            raise MlgitError(f"could not download wheels for {', '.join(missing)}:\n{res.err.strip()[-2000:]}")
        found = {pin: _cached_wheel(cache, *pin) for pin in pins}
    dest.mkdir(parents=True, exist_ok=True)
    locked = []
    for (name, version), wheel in found.items():
        if wheel is None:
            raise MlgitError(f"no wheel of {name}=={version} for this Python and platform")
        raw = wheel.read_bytes()
        atomic.write_bytes(dest / wheel.name, raw)
        locked.append(WheelPin(name, version, wheel.name, hashlib.sha256(raw).hexdigest(), len(raw)))
    return locked


PYLOCK_NAME = "pylock.toml"


def pylock(pins: list[WheelPin], created_by: str) -> str:
    """The pins as a PEP 751 lock file (`pylock.toml`) for this Python and platform, wheels under wheelhouse/.

    The lock holds exactly what requirements.txt holds (same versions, wheels and sha256), in the standard
    format lock-aware tools read (`uv pip sync pylock.toml`); requirements.txt stays for pip, which installs
    the bundle. It is checked with `packaging.pylock` where the installed packaging has it.
    """
    import platform

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    env = (
        f"python_version == '{python}' and sys_platform == '{sys.platform}'"
        f" and platform_machine == '{platform.machine()}' and implementation_name == '{sys.implementation.name}'"
    )
    lines = [
        'lock-version = "1.0"',
        f"environments = [{_toml(env)}]",
        f"requires-python = {_toml('==' + python + '.*')}",
        f"created-by = {_toml(created_by)}",
        "",
    ]
    for pin in sorted(pins, key=lambda p: p.name):
        lines += [
            "[[packages]]",
            f"name = {_toml(pin.name)}",
            f"version = {_toml(pin.version)}",
            "",
            "[[packages.wheels]]",
            f"name = {_toml(pin.wheel)}",
            f"path = {_toml('wheelhouse/' + pin.wheel)}",
            f"size = {pin.size}",
            f"hashes = {{sha256 = {_toml(pin.sha256)}}}",
            "",
        ]
    text = "\n".join(lines)
    _validate_pylock(text)
    return text


def _toml(value: str) -> str:
    # A JSON string with ASCII escapes is a valid TOML basic string.
    return json.dumps(value, ensure_ascii=True)


def _validate_pylock(text: str) -> None:
    try:
        import tomllib
        from packaging.pylock import Pylock, PylockValidationError
    except ImportError:  # Python 3.10, or packaging before 25.1: the structure is tested instead
        return
    try:
        Pylock.from_dict(tomllib.loads(text))
    except PylockValidationError as exc:  # a bug in the writer above, never bad user input
        raise AssertionError(f"mlgit wrote an invalid {PYLOCK_NAME}: {exc}") from exc


def _cached_wheel(cache: Path, name: str, version: str) -> Path | None:
    from packaging.tags import sys_tags
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
    from packaging.version import Version

    rank = {tag: i for i, tag in enumerate(sys_tags())}
    best: tuple[int, Path] | None = None
    for wheel in sorted(cache.glob("*.whl")):
        try:
            wname, wversion, _build, wtags = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename:
            continue
        if wname != canonicalize_name(name) or wversion != Version(version):
            continue
        score = min((rank[t] for t in wtags if t in rank), default=None)
        if score is not None and (best is None or score < best[0]):
            best = (score, wheel)
    return best[1] if best else None
