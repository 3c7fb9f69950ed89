"""Ctrl-C exits 130 with one line and no traceback, however many interrupts arrive (issue 12)."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Iterator

import pytest

from mlgit.cli import exit as cli_exit
from mlgit.cli import main as cli_main


@pytest.fixture(autouse=True)
def _restore_sigint() -> Iterator[None]:
    saved = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, saved)


class _InterruptedAgain(io.StringIO):
    """stderr that receives a second Ctrl-C while mlgit reports the first (what polars' threads cause)."""

    def write(self, text: str) -> int:
        if "interrupted" in text:
            os.kill(os.getpid(), signal.SIGINT)
        return super().write(text)


def test_a_second_interrupt_while_reporting_the_first_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    def scan() -> int:
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("the interrupt did not arrive")

    err = _InterruptedAgain()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(cli_main, "main", lambda: cli_exit.guarded(scan))
    assert cli_exit.console() == 130
    assert err.getvalue() == "interrupted\n"


def test_an_interrupt_before_the_command_starts_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    def parsing() -> int:
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("the interrupt did not arrive")

    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(cli_main, "main", parsing)
    assert cli_exit.console() == 130
    assert err.getvalue() == "interrupted\n"
