"""Helpers for the data and schema check tests: small real git repositories holding tables."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from testing.repos import commit_all, git

CONFIG = """\
version: 1
datasets:
  t:
    path: data/t.csv
    format: csv
ci:
  default_branch: main
"""


def rows(n: int = 200, seed: int = 0, shift: float = 0.0) -> list[list[str]]:
    """Deterministic rows of id, x (float), y (float), cat (a/b/c), label (0/1)."""
    rng = random.Random(seed)
    out = []
    for i in range(1, n + 1):
        x = round(rng.uniform(0, 10) + shift, 4)
        y = round(rng.gauss(5, 1), 4)
        out.append([str(i), repr(x), repr(y), rng.choice("abc"), str(rng.randint(0, 1))])
    return out


def csv_text(data: list[list[str]], header: str = "id,x,y,cat,label") -> str:
    """CSV text with a header."""
    return header + "\n" + "".join(",".join(r) + "\n" for r in data)


def make_repo(root: Path, files: dict[str, str | bytes], config: str = CONFIG) -> Path:
    """A git repository on main with mlgit.yaml and the given files, committed."""
    repo = root / "repo"
    repo.mkdir()
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "mlgit.yaml").write_text(config)
    write(repo, files)
    commit_all(repo, "base")
    return repo


def write(repo: Path, files: dict[str, str | bytes]) -> None:
    """Write files (text or bytes) under the repository."""
    for rel, content in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def bad_batch(path: Path) -> None:
    """Spoil the example's breast-cancer CSV: out-of-range radii, an unseen size class, a dropped column."""
    with path.open(newline="") as fh:
        table = list(csv.reader(fh))
    header = table[0]
    drop, radius, size = header.index("worst_symmetry"), header.index("mean_radius"), header.index("size_class")
    for row in table[1:4]:
        row[radius] = "250.0"
    for row in table[4:6]:
        row[size] = "huge"
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([[v for i, v in enumerate(r) if i != drop] for r in table])
