"""The `command` target: the user's own program (SageMaker, Vertex, a PaaS) run with the release in its env."""

from __future__ import annotations

from pathlib import Path

from mlgit.config.settings import DeployTarget
from mlgit.deploy.blessed import Blessed
from mlgit.system import process


def environment(blessed: Blessed, stage: str) -> dict[str, str]:
    """What the command is told about the release it deploys."""
    return {
        "MLGIT_MODEL": blessed.model,
        "MLGIT_VERSION": blessed.version,
        "MLGIT_STAGE": stage,
        "MLGIT_BUNDLE": str(blessed.archive),
        "MLGIT_BUNDLE_DIR": str(blessed.folder),
        "MLGIT_DIGEST": f"sha256:{blessed.digest}",
    }


def run(root: Path, blessed: Blessed, target: DeployTarget) -> int:
    """Run the command in the repository root with the terminal attached; its exit code."""
    return process.stream(target.command, cwd=root, env=environment(blessed, target.stage))
