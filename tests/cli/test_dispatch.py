"""Dispatch on its own: every parser path has one handler, and each handler gets the parsed arguments."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from mlgit.cli import main as cli
from mlgit.cli.main import COMMANDS, Command


def _paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], bool]:
    """Every parser path below `parser`, each with whether it is a leaf (has no sub-commands of its own)."""
    found: dict[tuple[str, ...], bool] = {}
    action = cli.subparsers(parser)
    for name, sub in action.choices.items() if action else ():
        path = (*prefix, name)
        found[path] = cli.subparsers(sub) is None
        found.update(_paths(sub, path))
    return found


def test_every_leaf_parser_has_exactly_one_command_and_every_command_a_parser() -> None:
    paths = _paths(cli._parser())
    leaves = {path for path, leaf in paths.items() if leaf}
    assert leaves <= COMMANDS.keys()
    assert COMMANDS.keys() <= paths.keys()
    # The one parent that runs on its own: `mlgit check` runs all checks.
    assert {path for path in COMMANDS if not paths[path]} == {("check",)}


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[tuple[str, ...], Path, dict[str, Any]]] = []

    def table(self) -> dict[tuple[str, ...], Command]:
        return {path: Command(self._handler(path)) for path in COMMANDS}

    def _handler(self, path: tuple[str, ...]) -> cli.Handler:
        def record(cwd: Path, args: argparse.Namespace) -> int:
            self.calls.append((path, cwd, vars(args)))
            return 7

        return record


# (argv, the command path it runs, arguments the handler must see)
_CASES: list[tuple[list[str], tuple[str, ...], dict[str, Any]]] = [
    (["init", "--force", "--forge", "gitlab"], ("init",), {"force": True, "forge": "gitlab"}),
    (
        ["metrics", "diff", "--base", "main", "--model", "m", "--all", "--json"],
        ("metrics", "diff"),
        {"base": "main", "model": "m", "show_all": True, "json": True},
    ),
    (
        ["promote", "churn", "--base", "main", "--dry-run", "--push", "--allow-dirty", "--json"],
        ("promote",),
        {"model": "churn", "base": "main", "dry_run": True, "push": "origin", "allow_dirty": True, "json": True},
    ),
    (["demo", "--dir", "d"], ("demo",), {"dir": "d"}),
    (["schema", "infer", "a", "b", "--force"], ("schema", "infer"), {"datasets": ["a", "b"], "force": True}),
    (["check", "--base", "X", "--json"], ("check",), {"base": "X", "json": True}),
    (
        ["check", "data", "d1", "--base", "X", "--no-cache"],
        ("check", "data"),
        {"datasets": ["d1"], "base": "X", "json": False, "no_cache": True, "update_profile": False},
    ),
    (
        ["check", "data", "--update-profile"],
        ("check", "data"),
        {"datasets": [], "base": None, "json": False, "no_cache": False, "update_profile": True},
    ),
    (["check", "schema", "--base", "X"], ("check", "schema"), {"base": "X", "json": False}),
    # --base and --json given before `model` survive into it.
    (["check", "--base", "X", "--json", "model", "m"], ("check", "model"), {"model": "m", "base": "X", "json": True}),
    (["check", "model", "--base", "stage:prod"], ("check", "model"), {"model": None, "base": "stage:prod"}),
    (["registry", "m", "--json"], ("registry",), {"model": "m", "json": True}),
    (["history", "m"], ("history",), {"model": "m", "json": False}),
    (
        ["assign", "m", "prod", "--version", "v1.0.0", "--push", "up"],
        ("assign",),
        {"model": "m", "stage": "prod", "version": "v1.0.0", "push": "up", "json": False},
    ),
    (["rollback", "m", "prod"], ("rollback",), {"model": "m", "stage": "prod", "push": None}),
    (["deprecate", "m", "--push"], ("deprecate",), {"model": "m", "push": "origin"}),
    (
        ["report", "--format", "md", "--output", "r.md", "--force"],
        ("report",),
        {"base": None, "format": "md", "output": "r.md", "force": True},
    ),
    (
        ["comment", "--file", "r.md", "--pr", "12", "--dry-run"],
        ("comment",),
        {"forge": None, "pr": 12, "file": "r.md", "dry_run": True},
    ),
    (["ci", "generate", "--forge", "github", "--force"], ("ci", "generate"), {"forge": "github", "force": True}),
    (["ci", "check", "--json"], ("ci", "check"), {"forge": None, "json": True}),
    (
        ["package", "m@v1.0.0", "--output", "out", "--json"],
        ("package",),
        {"release_spec": "m@v1.0.0", "output": "out", "json": True},
    ),
    (
        [
            "serve",
            "m#prod",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--workers",
            "2",
            "--log-dir",
            "l",
            "--log-sample",
            "0.1",
        ],
        ("serve",),
        {"bundle": "m#prod", "host": "0.0.0.0", "port": 0, "workers": 2, "log_dir": "l", "log_sample": 0.1},
    ),
    (["check", "package", "b.tar.gz", "--json"], ("check", "package"), {"bundle": "b.tar.gz", "json": True}),
    (
        ["deploy", "apply", "m", "prod", "--bundle", "b.tar.gz", "--target", "local", "--port", "9000", "--auto-rollback"],
        ("deploy", "apply"),
        {"model": "m", "stage": "prod", "bundle": "b.tar.gz", "target": "local", "port": 9000, "auto_rollback": True,
         "dry_run": False, "push": None, "json": False},
    ),
    (
        ["deploy", "apply", "m", "prod", "--dry-run", "--push", "--json"],
        ("deploy", "apply"),
        {"bundle": None, "target": None, "port": None, "auto_rollback": False, "dry_run": True, "push": "origin", "json": True},
    ),
    (["deploy", "stop", "m", "prod", "--json"], ("deploy", "stop"), {"model": "m", "stage": "prod", "json": True}),
    (["deploy", "status", "m"], ("deploy", "status"), {"model": "m", "json": False}),
    (["deploy", "status"], ("deploy", "status"), {"model": None, "json": False}),
    (
        [*("monitor", "m", "--logs", "a.jsonl", "b/", "--window", "2026-12-01/2026-12-02", "--base", "stage:prod"),
         *("--labels", "l.csv", "--store", "s", "--force", "--json", "--report", "r.md", "--alert", "--retrain")],
        ("monitor",),
        {"model": "m", "logs": ["a.jsonl", "b/"], "window": "2026-12-01/2026-12-02", "base": "stage:prod"}
        | {"labels": "l.csv", "store": "s", "force": True, "json": True}
        | {"report": "r.md", "alert": True, "retrain": True},
    ),
    (
        ["retrain", "m", "--trigger", "drift", "--pr", "--dry-run", "--store", "s", "--json"],
        ("retrain",),
        {"model": "m", "trigger": "drift", "pr": True, "dry_run": True, "store": "s", "json": True},
    ),
    (["check", "repro", "m", "--runs", "2", "--json"], ("check", "repro"), {"model": "m", "runs": 2, "json": True}),
]


def test_cases_cover_every_command() -> None:
    assert {path for _, path, _ in _CASES} == COMMANDS.keys()


@pytest.mark.parametrize(("argv", "path", "expected"), _CASES, ids=[" ".join(c[0]) for c in _CASES])
def test_each_command_path_reaches_its_handler_with_the_parsed_arguments(
    tmp_path: Path, argv: list[str], path: tuple[str, ...], expected: dict[str, Any]
) -> None:
    rec = _Recorder()
    assert cli.main(["-C", str(tmp_path), *argv], commands=rec.table()) == 7
    [(called, cwd, seen)] = rec.calls
    assert called == path and cwd == tmp_path
    assert {k: seen[k] for k in expected} == expected


@pytest.mark.parametrize("parent", ["metrics", "schema", "ci"])
def test_parent_without_subcommand_says_what_to_do(parent: str, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _Recorder()
    assert cli.main([parent], commands=rec.table()) == 2
    assert capsys.readouterr().err == f"error: 'mlgit {parent}' needs a subcommand; see 'mlgit {parent} --help'\n"
    assert rec.calls == []


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([], commands=_Recorder().table()) == 2
    seen = capsys.readouterr()
    # A usage error: the help goes to stderr, so `mlgit | tool` never feeds the help to the tool.
    assert "COMMAND" in seen.err and seen.out == ""


def test_missing_directory_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rec = _Recorder()
    assert cli.main(["-C", str(tmp_path / "nope"), "check"], commands=rec.table()) == 2
    assert capsys.readouterr().err == f"error: -C {tmp_path / 'nope'}: no such directory\n"
    assert rec.calls == []


def test_a_dash_c_path_too_long_for_the_os_is_a_usage_error(mlgit) -> None:
    r = mlgit(Path("/tmp"), "-C", "x" * 5000, "registry")
    assert r.code == 2 and "no such directory" in r.err and "Traceback" not in r.err
