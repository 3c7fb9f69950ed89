"""The bundle's own build backend (PEP 517, in-tree): `pip install BUNDLE` makes `python -m <module>` work.

It is copied verbatim into every bundle as `_mlgit_build.py`, beside a `pyproject.toml` that names it with
`backend-path = ["."]` and no build requirements, so pip builds the bundle offline with nothing but this
standard-library file: the wheel holds one package, `<module>/`, with the runtime as its `__main__.py` and the
model, signature and golden files beside it (never the wheelhouse: those are the dependencies, which the
wheel requires at the exact versions `requirements.txt` pins). The module name is `signature.json`'s `module`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import keyword
import os
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

NAME = "_mlgit_build.py"
PYPROJECT = (
    "# Lets `pip install --no-index --find-links wheelhouse .` install this bundle, so that\n"
    "# `python -m MODULE serve` / `predict FILE` run it from anywhere (MODULE: signature.json's `module`).\n"
    "[build-system]\n"
    "requires = []\n"
    'build-backend = "_mlgit_build"\n'
    'backend-path = ["."]\n'
)
# Not the package's data: the dependencies, the build files themselves, and a reader's bytecode.
_LEFT_OUT = ("wheelhouse", "pyproject.toml", NAME, "__pycache__")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # zip's earliest date: the wheel is the same bytes whenever it is built


def module_name(model: str, taken: set[str]) -> str:
    """A Python identifier for `python -m`, from the model's name; never one of `taken` (stdlib, dependencies)."""
    name = re.sub(r"\W", "_", model.lower(), flags=re.ASCII).strip("_") or "model"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "model_" + name
    while name in taken or name in sys.stdlib_module_names:
        name += "_model"
    return name


def wheel_version(version: str) -> str:
    """The release's semver (`v1.2.0-rc.1+b5`) as a PEP 440 version (`1.2.0+rc.1.b5`) pip accepts."""
    core, _, rest = version.removeprefix("v").partition("-")
    core, _, build = core.partition("+")
    local = ".".join(p for p in re.split(r"[^0-9A-Za-z]+", f"{rest}.{build}") if p)
    return f"{core}+{local}" if local else core


def _requires(source: Path) -> list[str]:
    lines = (source / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def _metadata(source: Path, sig: dict[str, Any]) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {sig['module']}", f"Version: {wheel_version(sig['version'])}"]
    lines.append(f"Summary: {sig['model']} {sig['version']}, packaged by mlgit: python -m {sig['module']} serve")
    lines += [f"Requires-Dist: {req}" for req in _requires(source)]
    return "\n".join(lines) + "\n"


def _files(source: Path) -> list[Path]:
    found = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and rel.parts[0] not in _LEFT_OUT and "__pycache__" not in rel.parts:
            found.append(rel)
    return found


def _record_line(arcname: str, raw: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(raw).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(raw)}"


def build_wheel(
    wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    """PEP 517: the bundle as a pure-Python wheel of one package."""
    del config_settings, metadata_directory  # nothing is configurable: the bundle is already built
    source = Path.cwd()
    sig = json.loads((source / "signature.json").read_text(encoding="utf-8"))
    module, version = sig["module"], wheel_version(sig["version"])
    info = f"{module}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = [(f"{module}/__init__.py", b"")]
    entries += [(f"{module}/{rel.as_posix()}", (source / rel).read_bytes()) for rel in _files(source)]
    recorded = source.with_name(source.name + ".tar.gz.sha256")
    if recorded.is_file():  # the archive's digest: what the installed server reports (the runtime reads it)
        entries.append((f"{module}/bundle.sha256", recorded.read_bytes()))
    entries.append((f"{info}/METADATA", _metadata(source, sig).encode()))
    wheel = "Wheel-Version: 1.0\nGenerator: mlgit bundle\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries.append((f"{info}/WHEEL", wheel.encode()))
    record = [_record_line(name, raw) for name, raw in entries] + [f"{info}/RECORD,,"]
    entries.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    filename = f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / filename, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, raw in entries:
            zf.writestr(zipfile.ZipInfo(name, _EPOCH), raw, zipfile.ZIP_DEFLATED)
    return filename


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    """PEP 517: nothing beyond this file."""
    del config_settings
    return []


def _forget_own_bytecode() -> None:
    # Importing this file wrote its bytecode into the bundle, which the manifest does not list: `check package`
    # would then call the bundle changed. Removing it keeps the folder exactly what was packaged.
    cache = Path(__file__).with_name("__pycache__")
    for pyc in cache.glob(Path(__file__).stem + ".*.pyc"):
        pyc.unlink(missing_ok=True)
    if cache.is_dir() and not any(cache.iterdir()):
        os.rmdir(cache)


if __name__ != "__main__" and Path(__file__).name == NAME:
    _forget_own_bytecode()
