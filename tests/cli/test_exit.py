"""Exit codes come from exception types in one table; what a user sees for each way a command ends."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlgit.cli import exit as error_handler
from mlgit.errors import (
    CommandFailed,
    ConfigError,
    InputError,
    MissingRevision,
    MlgitError,
    Problem,
    Refused,
    UsageError,
)
from mlgit.system import process


class _OwnConfigError(ConfigError):
    """A subclass the table does not list takes its parent's code."""


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (Refused("kept an edited file"), 1),
        (UsageError("bad flag"), 2),
        (ConfigError("bad key"), 2),
        (_OwnConfigError("bad key"), 2),
        (InputError("bad data"), 2),
        (MissingRevision("unknown revision 'x'"), 2),
        (CommandFailed(["git", "status"], 128, "", "fatal: not a git repository"), 2),
        (MlgitError("plain"), 2),
        (KeyboardInterrupt(), 130),
        (BrokenPipeError(), 141),
        (RuntimeError("bug"), 3),
        (KeyError("bug"), 3),
    ],
)
def test_each_exception_type_has_its_exit_code(exc: BaseException, code: int) -> None:
    assert error_handler.exit_code(exc) == code


def test_refused_exits_1_with_its_message(capsys: pytest.CaptureFixture[str]) -> None:
    def refuse() -> int:
        raise Refused("not overwriting ci.yml", hint="pass --force")

    assert error_handler.guarded(refuse) == 1
    assert capsys.readouterr().err == "error: not overwriting ci.yml\nhint: pass --force\n"


def test_error_tied_to_a_place_is_shown_as_file_line_key() -> None:
    exc = ConfigError("unknown key", file="mlgit.yaml", line=7, key="models.churn.gates")
    assert (exc.file, exc.line, exc.key) == ("mlgit.yaml", 7, "models.churn.gates")
    assert str(exc) == "mlgit.yaml:7: models.churn.gates: unknown key"


def test_error_listing_problems_is_placed_at_the_first() -> None:
    exc = ConfigError(
        "invalid configuration",
        problems=[Problem("required key is missing", "mlgit.yaml", 3, "version"), Problem("bad", "mlgit.yaml", 9)],
        hint="see the README",
    )
    assert (exc.file, exc.line, exc.key) == ("mlgit.yaml", 3, "version")
    assert str(exc) == (
        "invalid configuration:\n  mlgit.yaml:3: version: required key is missing\n  mlgit.yaml:9: bad\nhint: see the README"
    )


def test_failed_git_command_shows_its_command_line_and_output_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)

    def verify() -> int:
        process.run(["git", "rev-parse", "--verify", "no such rev"], cwd=tmp_path)
        return 0

    assert error_handler.guarded(verify) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: command failed (exit 128): git rev-parse --verify 'no such rev'\n")
    assert "  stderr:\n    fatal: Needed a single revision" in err
    assert "Traceback" not in err


def test_unreachable_remote_shows_the_git_command_and_its_message(small_repo: Path, mlgit) -> None:
    subprocess.run(["git", "remote", "add", "broken", "/nonexistent/path"], cwd=small_repo, check=True)
    r = mlgit(small_repo, "promote", "--push", "broken")
    assert r.code == 2
    assert (
        "error: cannot read the registry on remote 'broken': command failed (exit 128): git ls-remote broken" in r.err
    )
    assert "  stderr:\n    fatal: '/nonexistent/path' does not appear to be a git repository" in r.err
    assert "Traceback" not in r.err


def test_failed_command_keeps_its_fields_and_trims_long_output() -> None:
    out = "\n".join(f"line {i}" for i in range(100))
    exc = CommandFailed(["dvc", "repro"], 1, out, "")
    assert (exc.argv, exc.returncode, exc.stdout, exc.stderr) == (("dvc", "repro"), 1, out, "")
    shown = exc.message.splitlines()
    assert shown[:3] == ["command failed (exit 1): dvc repro", "  stdout:", "    ... (85 earlier lines)"]
    assert shown[-1] == "    line 99" and "line 84" not in exc.message
    assert CommandFailed(["git", "push"], 1, "", "").message.endswith("\n  (no output)")


_BLOCKS_ON_STDIN = """
import sys
from mlgit.cli import exit as error_handler

def block() -> int:
    print("ready", flush=True)
    sys.stdin.readline()
    return 0

code = error_handler.guarded(block)
# A second Ctrl-C now, while mlgit is still on its way out, must be ignored rather than raise.
print("handled", flush=True)
sys.stdin.readline()
sys.exit(code)
"""


def test_ctrl_c_exits_130_with_one_line_even_when_pressed_twice() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _BLOCKS_ON_STDIN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline() == "handled\n"
        proc.send_signal(signal.SIGINT)
        proc.stdin.close()
        assert proc.wait(timeout=60) == 130
        assert proc.stderr.read() == "interrupted\n"
    finally:
        proc.kill()
        proc.wait()
