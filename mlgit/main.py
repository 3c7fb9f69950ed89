"""The command line: declares arguments and maps each command to one function call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mlgit import __version__
from mlgit.error_handler import guarded
from mlgit.errors import EXIT_USAGE


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mlgit", description="GitOps for ML repositories: checks, metric reports and gated releases.")
    p.add_argument("--version", action="version", version=f"mlgit {__version__}")
    p.add_argument("-C", dest="cwd", metavar="PATH", default=".", help="run as if started in PATH")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    init = sub.add_parser("init", help="write mlgit.yaml for this repository (runs dvc init if needed)")
    init.add_argument("--force", action="store_true", help="overwrite an existing mlgit.yaml")

    metrics = sub.add_parser("metrics", help="metrics commands")
    msub = metrics.add_subparsers(dest="metrics_command", metavar="SUBCOMMAND", parser_class=_Parser)
    mdiff = msub.add_parser("diff", help="metrics and params of the work tree against a revision")
    mdiff.add_argument("--base", metavar="REV", help="revision to compare with (default: merge-base with the default branch)")
    mdiff.add_argument("--model", metavar="NAME", help="only this model's metrics and params")
    mdiff.add_argument("--all", action="store_true", dest="show_all", help="show unchanged params too")
    mdiff.add_argument("--json", action="store_true", help="machine-readable output")

    prom = sub.add_parser("promote", help="gate a model against its baseline and tag a release if it passes")
    prom.add_argument("model", nargs="?", metavar="MODEL", help="model name (optional when there is one)")
    prom.add_argument("--base", metavar="BASE", help="last-release (default), main, or any REV")
    prom.add_argument("--dry-run", action="store_true", help="decide and show the version, write nothing")
    prom.add_argument("--push", nargs="?", const="origin", metavar="REMOTE", help="push the tag (default remote: origin)")
    prom.add_argument("--allow-dirty", action="store_true", help="allow uncommitted changes (the tag goes on HEAD)")
    prom.add_argument("--json", action="store_true", help="machine-readable output")

    demo = sub.add_parser("demo", help="run the end-to-end demo on a copy of the bundled example repository")
    demo.add_argument("--dir", metavar="DIR", help="where to build the demo repository (default: a new temp dir)")
    # mlgit:parsers-end (new subcommands are declared above this line)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run one command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    cwd = Path(args.cwd)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "init":
        from mlgit.commands import init

        return guarded(lambda: init.run(cwd, force=args.force))
    if args.command == "metrics":
        if args.metrics_command is None:
            parser.parse_args(["metrics", "--help"])
        from mlgit.commands import metrics_diff

        return guarded(lambda: metrics_diff.run(cwd, args.base, args.model, args.json, args.show_all))
    if args.command == "promote":
        from mlgit.commands import promote

        return guarded(
            lambda: promote.run(cwd, args.model, args.base, args.dry_run, args.push, args.allow_dirty, args.json)
        )
    if args.command == "demo":
        from mlgit.commands import demo

        return guarded(lambda: demo.run(Path(args.dir) if args.dir else None))
    # mlgit:dispatch-end (new subcommands are dispatched above this line)
    raise AssertionError(args.command)
