"""Maps every way a command can end to an exit code and one clear message."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from mlgit import __version__
from mlgit.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_UNEXPECTED, MlgitError


def _log_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlgit" / "mlgit.log"


def guarded(func: Callable[[], int]) -> int:
    """Run a command: user errors exit 2 without a traceback, surprises exit 3 with a log to report."""
    try:
        return func()
    except MlgitError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`mlgit ... | head`) before the command finished, so its result is unknown:
        # exit as a process killed by SIGPIPE does (128 + 13), never 0 ("passed").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # noqa: BLE001 - the last resort that turns a crash into a report
        import platform
        import traceback

        log = _log_path()
        report = (
            f"### version information\nmlgit: {__version__}\npython: {sys.version}\nplatform: {platform.platform()}\n"
            f"argv: {sys.argv}\n\n### error\n{''.join(traceback.format_exception(exc))}"
        )
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(report)
            where = f"the details are in {log}"
        except OSError:
            where = "the details follow"
            sys.stderr.write(report)
        sys.stderr.write(
            f"An unexpected error has occurred: {type(exc).__name__}: {exc}\n"
            f"This is a bug in mlgit; {where}. Please report it with that file attached.\n"
        )
        return EXIT_UNEXPECTED
