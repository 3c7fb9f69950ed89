"""Real Python environments for tests: this venv's packages minus some, as a user without an extra has it."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def without(tmp: Path, *packages: str) -> tuple[list[str], dict[str, str]]:
    """The command (`python -m mlgit`) and environment of an interpreter that lacks `packages`.

    Its import path is a folder of links to every entry of this venv's site-packages except the packages'
    own folders and their `.dist-info`, plus the source tree: importing one of them fails exactly as it does
    where it was never installed. `-S` keeps the real site-packages (and its `.pth` files) off the path.
    """
    site = Path(sysconfig.get_paths()["purelib"])
    farm = tmp / "site-packages"
    farm.mkdir(parents=True)
    names = {p.lower().replace("-", "_") for p in packages}
    for entry in site.iterdir():
        top = entry.name.split("-", 1)[0].split(".", 1)[0].lower()
        if top in names or entry.suffix == ".pth":
            continue
        (farm / entry.name).symlink_to(entry)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(farm), str(ROOT)])}
    return [sys.executable, "-S", "-m", "mlgit"], env
