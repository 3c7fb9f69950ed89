"""The one door to subprocess: every external command runs through `run`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mlgit.errors import CommandFailed, MlgitError


@dataclass(frozen=True)
class Completed:
    """The outcome of one external command."""

    args: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def out(self) -> str:
        """Standard output decoded as UTF-8."""
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        """Standard error decoded as UTF-8."""
        return self.stderr.decode("utf-8", "replace")

    def failure(self, what: str | None = None, hint: str | None = None) -> CommandFailed:
        """The error for this command having failed: `what` it was for, its command line and output."""
        return CommandFailed(self.args, self.returncode, self.out, self.err, what=what, hint=hint)


def _clean_env(env: Mapping[str, str] | None) -> dict[str, str]:
    # A GIT_DIR/GIT_INDEX_FILE leaked from a hook would point our git calls at another repository.
    # GIT_CONFIG_COUNT/KEY_n/VALUE_n is how CI credential setups hand config to every git below them: kept.
    base = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _GIT_KEEP or _GIT_CONFIG_ENV.match(k)}
    if env:
        base.update(env)
    return base


_GIT_CONFIG_ENV = re.compile(r"GIT_CONFIG_(COUNT|KEY_[0-9]+|VALUE_[0-9]+)")
_GIT_KEEP = frozenset(
    {
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_AUTHOR_DATE",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "GIT_COMMITTER_DATE",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_ASKPASS",
        "GIT_TERMINAL_PROMPT",
    }
)


def tool(name: str) -> str:
    """Path of an executable, preferring the one installed beside this Python (the venv's)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise MlgitError(f"'{name}' is not installed or not on PATH", hint=f"pip install {name}")
    return found


_observers: list[Callable[[tuple[str, ...], bytes | None], None]] = []


@contextmanager
def recording(*, stdin: bool = False) -> Iterator[list[tuple[str, ...]]]:
    """Collect the argument list of every command run inside the block (how tests count git reads).

    With `stdin`, each entry ends with the text the command was given on standard input ("" for none): the
    `REV:PATH` lines of a `git cat-file --batch` say which files were read at which revision.
    """
    seen: list[tuple[str, ...]] = []

    def observe(args: tuple[str, ...], given: bytes | None) -> None:
        seen.append((*args, (given or b"").decode("utf-8", "replace")) if stdin else args)

    _observers.append(observe)
    try:
        yield seen
    finally:
        _observers.remove(observe)


def run(
    args: Sequence[str],
    *,
    cwd: Path | str | None = None,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> Completed:
    """Run a command, capturing output; raise CommandFailed (its line, code and output) on failure when `check`."""
    for observe in _observers:
        observe(tuple(args), stdin)
    try:
        proc = subprocess.run(
            list(args),
            cwd=cwd,
            input=stdin,
            capture_output=True,
            env=_clean_env(env),
            check=False,
        )
    except FileNotFoundError as exc:
        raise MlgitError(f"cannot run '{args[0]}': not found", hint=f"install {Path(args[0]).name}") from exc
    result = Completed(tuple(args), proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise result.failure()
    return result


def stream(args: Sequence[str], *, cwd: Path | str | None = None, env: Mapping[str, str] | None = None) -> int:
    """Run a command with the terminal attached (used by the demo); return its exit code."""
    try:
        return subprocess.call(list(args), cwd=cwd, env=_clean_env(env))
    except FileNotFoundError as exc:
        raise MlgitError(f"cannot run '{args[0]}': not found") from exc


def spawn(
    args: Sequence[str],
    *,
    stderr: IO[bytes],
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    detach: bool = False,
) -> subprocess.Popen[bytes]:
    """Start a long-running command (a server): stdout piped to read its status lines, stderr to a file.

    `detach`: a session of its own and no stdin, so it outlives this command and its terminal (a deployment).
    """
    try:
        return subprocess.Popen(
            list(args),
            cwd=cwd,
            env=_clean_env(env),
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL if detach else None,
            start_new_session=detach,
        )
    except FileNotFoundError as exc:
        raise MlgitError(f"cannot run '{args[0]}': not found") from exc
