"""Progress of long data scans on a terminal: one self-overwriting line on stderr, never in logs or JSON."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_DELAY = 0.5  # scans shorter than this show nothing
_TICK = 0.2


def wanted(stream: TextIO, machine_output: bool) -> bool:
    """Whether to show progress: only on a terminal and never with --json."""
    return not machine_output and hasattr(stream, "isatty") and stream.isatty()


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


class Ticker:
    """Shows `scanning NAME (PATH, SIZE) ... 3.2 s` while a scan runs, then erases it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = False

    def start(self, dataset: str, label: str, size: int) -> None:
        """A scan begins."""
        self._stop.clear()
        began = time.monotonic()
        text = f"scanning {dataset} ({label}, {_size(size)})"

        def loop() -> None:
            while not self._stop.wait(_TICK):
                elapsed = time.monotonic() - began
                if elapsed >= _DELAY:
                    self.stream.write(f"\r\033[K{text} ... {elapsed:.1f} s")
                    self.stream.flush()
                    self._shown = True

        self._thread = threading.Thread(target=loop, name="mlgit-progress", daemon=True)
        self._thread.start()

    def done(self, dataset: str) -> None:
        """The scan ended: erase the line."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False


def ticker(stream: TextIO | None = None) -> Ticker:
    """A ticker on stderr (or `stream`)."""
    return Ticker(stream or sys.stderr)
