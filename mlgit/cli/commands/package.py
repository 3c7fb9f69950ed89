"""`mlgit package RELEASE`: build a release's bundle (folder + deterministic .tar.gz) from its commit."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgit.package import bundle, release
from mlgit.repo.state import RepoState
from mlgit.results import serialize


def run(cwd: Path, release_spec: str, output: str | None, json: bool) -> int:
    """Package one release into `output` (default dist/) and the local store."""
    repo = RepoState.open(cwd)
    rel = release.resolve(repo, release_spec)
    out = Path(output) if output else repo.root / "dist"
    built = bundle.build(repo, rel, out if out.is_absolute() else cwd / out)
    if json:
        sys.stdout.write(serialize.dumps(built) + "\n")
        return 0
    sys.stdout.write(
        f"packaged {rel.model} {rel.version} (commit {rel.commit[:8]})\n"
        f"  folder:  {built.folder}\n  archive: {built.archive}\n  sha256:  {built.digest}\n"
        f"  stored:  {built.stored}\n"
        f"next: mlgit check package {built.archive}\n"
    )
    return 0
