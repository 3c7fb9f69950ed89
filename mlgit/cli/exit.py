"""Maps every way a command can end to an exit code and one clear message: the only place codes are chosen."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from mlgit import __version__
from mlgit.errors import CommandFailed, ConfigError, InputError, MlgitError, Refused, UsageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNEXPECTED = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

# Looked up along the exception's MRO, so a subclass not listed takes its parent's code; anything else is a bug.
EXIT_CODES: dict[type[BaseException], int] = {
    Refused: EXIT_FAILED,
    UsageError: EXIT_USAGE,
    ConfigError: EXIT_USAGE,
    InputError: EXIT_USAGE,
    CommandFailed: EXIT_USAGE,
    MlgitError: EXIT_USAGE,
    KeyboardInterrupt: EXIT_INTERRUPTED,
    BrokenPipeError: EXIT_BROKEN_PIPE,
}


def exit_code(exc: BaseException) -> int:
    """The exit code a command ending with `exc` returns."""
    for kind in type(exc).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return EXIT_UNEXPECTED


def _log_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlgit" / "mlgit.log"


def console() -> int:
    """The `mlgit` executable: `main`, with Ctrl-C exiting 130 without a traceback wherever it lands."""
    try:
        from mlgit.cli.main import main

        return main()
    except KeyboardInterrupt:  # before a command started (argument parsing) or after it ended
        return interrupted()


def interrupt_once() -> None:
    """Make the first Ctrl-C raise KeyboardInterrupt and ignore any later one.

    polars can deliver one SIGINT to Python twice (once from its worker threads), and a user presses
    Ctrl-C again when the first seems slow: a second KeyboardInterrupt inside the handler that reports
    the first printed two tracebacks (issue 12, 12 of 36 trials). Installed when a command starts, so
    `mlgit --help` imports no signal module.
    """
    import signal
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupted)


def _interrupted(signum: int, frame: object) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def guarded(func: Callable[[], int]) -> int:
    """Run a command: user errors exit with their type's code and no traceback, surprises exit 3 with a log."""
    from mlgit.render import cilog

    interrupt_once()
    # Error messages quote user data too, so the escaping spans the handlers below.
    with cilog.escaped(os.environ):
        return _guarded(func)


def _guarded(func: Callable[[], int]) -> int:
    try:
        return func()
    except KeyboardInterrupt:
        return interrupted()
    except MlgitError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exit_code(exc)
    except BrokenPipeError as exc:
        # The reader went away (`mlgit ... | head`) before the command finished, so its result is unknown:
        # exit as a process killed by SIGPIPE does (128 + 13), never 0 ("passed").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exit_code(exc)
    except Exception as exc:  # noqa: BLE001 - the last resort that turns a crash into a report
        return crashed(exc)
    except BaseException as exc:  # a panic in a native library (pyo3's PanicException) is no Exception
        if isinstance(exc, SystemExit | GeneratorExit):
            raise
        return crashed(exc)


def interrupted() -> int:
    """Ctrl-C: one line and 130; a second Ctrl-C while saying so must not end in a traceback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.stderr.write("interrupted\n")
    return EXIT_INTERRUPTED


def crashed(exc: BaseException) -> int:
    """A bug: write a report with versions to paste into an issue, and exit 3."""
    import platform
    import traceback

    from mlgit.system import atomic

    log = _log_path()
    report = (
        f"### version information\nmlgit: {__version__}\npython: {sys.version}\nplatform: {platform.platform()}\n"
        f"argv: {sys.argv}\n\n### error\n{''.join(traceback.format_exception(exc))}"
    )
    try:
        atomic.write_text(log, report)  # never a half-written log to paste
        where = f"the details are in {log}"
    except (OSError, MlgitError):  # unwritable, or a symbolic link there: the report goes to stderr instead
        where = "the details follow"
        sys.stderr.write(report)
    sys.stderr.write(
        f"An unexpected error has occurred: {type(exc).__name__}: {exc}\n"
        f"This is a bug in mlgit; {where}. Please report it with that file attached.\n"
    )
    return EXIT_UNEXPECTED
