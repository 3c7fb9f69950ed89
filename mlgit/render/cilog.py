"""Everything mlgit prints inside a CI job, escaped so that user data cannot become a forge command.

A runner parses its job's log: on GitHub a line starting with `::` (after blanks) is a workflow command
and `##[` starts a legacy one anywhere in a line; a carriage return ends a line as a newline does; GitLab
folds the log at `ESC[0Ksection_start:...` markers. A CSV header cell or a metric name can hold any of
these, so in CI every line mlgit writes goes through `escape_line`; only the annotations mlgit makes
itself (`annotations.command`, whose data is already escaped) bypass it through `command`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

# C0 controls but tab and newline, DEL and the C1 controls (0x9b is a one-byte ESC[): shown as ^X / <U+XXXX>.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    return f"^{chr(ord(ch) + 64)}" if ord(ch) < 0x20 else f"<U+{ord(ch):04X}>"


def escape_line(line: str) -> str:
    """One line of output (no newline) that no runner reads as a command."""
    line = _CONTROL.sub(_visible, line).replace("##[", "#\\#[")
    if line.lstrip().startswith("::"):
        return "\\" + line
    return line


def in_ci(env: Mapping[str, str]) -> bool:
    """Whether the output goes to a GitHub Actions or GitLab CI job log."""
    return env.get("GITHUB_ACTIONS") == "true" or env.get("GITLAB_CI") == "true"


class EscapingStream:
    """A text stream that escapes each complete line; a partial line waits for its newline or a flush."""

    def __init__(self, inner: TextIO) -> None:
        self.inner = inner
        self._pending = ""

    def write(self, text: str) -> int:
        """Escape and forward every complete line."""
        *lines, self._pending = (self._pending + text).split("\n")
        if lines:
            self.inner.write("".join(escape_line(line) + "\n" for line in lines))
        return len(text)

    def command(self, line: str) -> None:
        """Write a workflow command mlgit made itself (its data escaped by `annotations`)."""
        self.flush()
        self.inner.write(line + "\n")

    def flush(self) -> None:
        """Forward a partial line too."""
        if self._pending:
            self.inner.write(escape_line(self._pending))
            self._pending = ""
        self.inner.flush()

    def isatty(self) -> bool:
        """Never: no colors or progress redraws, whose escapes would be escaped."""
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def write_command(stream: TextIO, line: str) -> None:
    """Write one of mlgit's own workflow commands, bypassing the escaping when `stream` has it."""
    if isinstance(stream, EscapingStream):
        stream.command(line)
    else:
        stream.write(line + "\n")


@contextmanager
def escaped(env: Mapping[str, str]) -> Iterator[None]:
    """In a CI job, escape all that is written to stdout and stderr while the block runs."""
    if not in_ci(env) or isinstance(sys.stdout, EscapingStream):
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapingStream(sys.stdout), EscapingStream(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass  # a closed or broken pipe: exit codes already say so
        sys.stdout, sys.stderr = saved
