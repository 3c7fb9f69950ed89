"""The command line as a user meets it: entry points, usage errors and exit codes."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgit.cli import exit as error_handler
from mlgit.errors import MlgitError
from testing.repos import BIN


def test_console_script_and_module_entry_points() -> None:
    for cmd in ([str(BIN / "mlgit"), "--help"], [sys.executable, "-m", "mlgit", "--version"]):
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        assert res.returncode == 0, res.stderr
    assert "promote" in subprocess.run([str(BIN / "mlgit"), "--help"], capture_output=True, text=True).stdout


def test_usage_errors_exit_2(mlgit, tmp_path: Path) -> None:
    assert mlgit(tmp_path, "promote", "--bogus").code == 2
    assert mlgit(tmp_path, "metrics").code == 2
    assert mlgit(tmp_path).code == 2


def test_user_error_exit_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    def boom() -> int:
        raise MlgitError("bad thing", hint="do this")

    assert error_handler.guarded(boom) == 2
    err = capsys.readouterr().err
    assert err == "error: bad thing\nhint: do this\n"


def test_unexpected_error_exit_3_with_log(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    def crash() -> int:
        raise RuntimeError("kaput")

    assert error_handler.guarded(crash) == 3
    err = capsys.readouterr().err
    assert "An unexpected error has occurred: RuntimeError: kaput" in err
    log = tmp_path / ".xdg-cache" / "mlgit" / "mlgit.log"
    assert log.is_file() and "mlgit:" in log.read_text() and "kaput" in log.read_text()


def test_the_crash_log_is_written_whole_and_never_through_a_link(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def crash() -> int:
        raise RuntimeError("kaput")

    log = tmp_path / ".xdg-cache" / "mlgit" / "mlgit.log"
    log.parent.mkdir(parents=True)
    log.write_text("an older, longer crash report\n" * 100)
    assert error_handler.guarded(crash) == 3
    assert log.read_text().startswith("### version information") and "older" not in log.read_text()
    assert [p.name for p in log.parent.iterdir()] == ["mlgit.log"]  # no temp file left beside it
    capsys.readouterr()
    elsewhere = tmp_path / "elsewhere.txt"
    log.unlink()
    log.symlink_to(elsewhere)
    assert error_handler.guarded(crash) == 3
    err = capsys.readouterr().err
    assert not elsewhere.exists() and "### version information" in err and "the details follow" in err


@pytest.fixture
def _sigint_restored() -> Iterator[None]:
    # The interrupt handler ignores further Ctrl-Cs; in this process that would outlive the test.
    before = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("_sigint_restored")
def test_interrupt_exit_130() -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert error_handler.guarded(interrupted) == 130


def test_help_is_fast_and_lazy() -> None:
    # Heavy libraries must not be imported just to parse arguments.
    code = "import sys, mlgit.cli.main; mlgit.cli.main._parser(); print(sorted(m for m in ('pydantic', 'dvc', 'yaml', 'jinja2', 'polars', 'pandas') if m in sys.modules))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"


def test_help_loads_no_command_module_and_no_dataclasses() -> None:
    # The dispatch table imports each command only when it runs; dataclasses (with inspect) costs ~10 ms.
    code = (
        "import sys; from mlgit.cli.main import main\n"
        "try: main(['--help'])\nexcept SystemExit: pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('mlgit.cli.commands.') or m in ('dataclasses', 'inspect')))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().splitlines()[-1] == "[]"


def test_broken_pipe_is_never_reported_as_passed(tmp_path: Path) -> None:
    # `mlgit --help | head -c1`: the reader goes away before mlgit finished writing.
    script = (
        "import sys; from mlgit.cli import exit as error_handler\n"
        "def big():\n    for _ in range(100000): sys.stdout.write('x' * 100 + '\\n')\n    sys.stdout.flush(); return 0\n"
        "sys.exit(error_handler.guarded(big))"
    )
    res = subprocess.run(
        f'{sys.executable} -c "{script}" | head -c1 >/dev/null; echo ${{PIPESTATUS[0]}}',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
    )
    assert res.stdout.strip() == "141"
