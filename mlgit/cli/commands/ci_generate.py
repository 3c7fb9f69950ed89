"""`mlgit ci generate`: render the CI workflows from mlgit.yaml; files someone edited need --force."""

from __future__ import annotations

import sys
from pathlib import Path

from mlgit.actions import generated, workflows
from mlgit.cli.commands.ci_check import colored_diff, explain
from mlgit.config import settings as config
from mlgit.config.settings import Config
from mlgit.errors import Refused
from mlgit.render.style import Style
from mlgit.repo import git

_WRITTEN = {generated.FileStatus.MISSING: "wrote", generated.FileStatus.STALE: "updated"}


def generate(root: Path, cfg: Config, forge: str, force: bool) -> list[tuple[generated.FileState, str]]:
    """Bring each file up to date; with what was done: wrote, updated, replaced, removed, unchanged or kept.

    A file that holds someone's edits (or was not written by mlgit) is kept unless `force`.
    """
    done = []
    for s in workflows.states(root, cfg, forge):
        if s.needs_force and not force:
            done.append((s, "kept"))
        elif s.expected is None:
            generated.remove(root, s.path)
            done.append((s, "removed"))
        elif s.state is generated.FileStatus.CURRENT:
            done.append((s, "unchanged"))
        else:
            generated.write(root, s.path, s.expected)
            done.append((s, _WRITTEN.get(s.state, "replaced")))
    return done


def report(done: list[tuple[generated.FileState, str]], style: Style) -> str:
    """What generate did, one line per file, with the diff of whatever was replaced or kept."""
    lines = []
    for s, action in done:
        why = explain(s).split(": ", 1)[1]
        if action == "replaced" or (action == "removed" and s.needs_force):
            lines.append(style(f"{action} {s.path} ({why}); what it held:", "yellow"))
            lines.append(colored_diff(s.diff(), style).rstrip("\n"))
        elif action == "kept":
            lines.append(style(f"kept {s.path} ({why}); --force would change it like this:", "red", "bold"))
            lines.append(colored_diff(s.diff(), style).rstrip("\n"))
        elif action == "removed":
            lines.append(f"removed {s.path} (no longer generated)")
        else:
            lines.append(f"{action} {s.path}")
    return "\n".join(lines) + "\n"


def kept(done: list[tuple[generated.FileState, str]]) -> list[str]:
    """The files left as they were because they hold someone's edits."""
    return [s.path for s, action in done if action == "kept"]


def run(cwd: Path, forge: str | None, force: bool) -> int:
    """Render the CI files for the forge named by --forge or ci.forge."""
    root = git.toplevel(cwd)
    cfg = config.load(root)
    chosen = workflows.forge_of(cfg, forge)
    if chosen is None:
        sys.stdout.write("ci.forge is 'none' in mlgit.yaml: nothing to generate (pass --forge github or gitlab)\n")
        return 0
    done = generate(root, cfg, chosen, force)
    sys.stdout.write(report(done, Style.for_stdout()))
    for problem in workflows.remote_warnings(root, workflows.config_paths(cfg)):
        sys.stdout.write(f"warning: {problem}\n")
    if any(action not in {"unchanged", "kept"} for _, action in done):
        sys.stdout.write("Commit the generated files; 'mlgit ci check' tells when they need regenerating.\n")
    left = kept(done)
    if left:
        raise Refused(
            f"not overwriting {', '.join(left)}: {'it holds' if len(left) == 1 else 'they hold'} changes mlgit did not make",
            hint="move the changes into mlgit.yaml, or pass --force to replace (the diff above shows what is lost)",
        )
    return 0
