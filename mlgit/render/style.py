"""Terminal styling: colors only on a TTY, and never when NO_COLOR is set."""

from __future__ import annotations

import os
import sys
from typing import TextIO

_CODES = {"red": "31", "green": "32", "yellow": "33", "bold": "1", "dim": "2"}


def use_color(stream: TextIO) -> bool:
    """Whether to color output written to `stream`."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class Style:
    """Applies ANSI colors when enabled, else returns text unchanged."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stdout(cls) -> Style:
        """The style matching the current stdout."""
        return cls(use_color(sys.stdout))

    def __call__(self, text: str, *names: str) -> str:
        if not self.enabled or not names:
            return text
        codes = ";".join(_CODES[n] for n in names)
        return f"\033[{codes}m{text}\033[0m"


def table(header: list[str], rows: list[list[str]], *, raw_rows: list[list[str]] | None = None) -> list[str]:
    """Align columns; `raw_rows` gives the uncolored text used to measure widths."""
    measure = raw_rows if raw_rows is not None else rows
    widths = [len(h) for h in header]
    for row in measure:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(header)).rstrip()]
    for row, raw in zip(rows, measure, strict=True):
        cells = [cell + " " * (widths[i] - len(raw[i])) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return lines
