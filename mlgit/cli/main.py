"""The command line: declares arguments and maps each command to one function call."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from mlgit import __version__
from mlgit.cli.exit import EXIT_USAGE, guarded


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
    init.add_argument(
        "--forge",
        choices=["github", "gitlab", "none"],
        help="also generate this forge's CI (default: github; none: skip, see 'mlgit ci generate')",
    )

    metrics = sub.add_parser("metrics", help="metrics commands")
    msub = metrics.add_subparsers(dest="metrics_command", metavar="SUBCOMMAND", parser_class=_Parser)
    mdiff = msub.add_parser("diff", help="metrics and params of the work tree against a revision")
    mdiff.add_argument(
        "--base", metavar="REV", help="revision to compare with (default: merge-base with the default branch)"
    )
    mdiff.add_argument("--model", metavar="NAME", help="only this model's metrics and params")
    mdiff.add_argument("--all", action="store_true", dest="show_all", help="show unchanged params too")
    mdiff.add_argument("--json", action="store_true", help="machine-readable output")

    prom = sub.add_parser("promote", help="gate a model against its baseline and tag a release if it passes")
    prom.add_argument("model", nargs="?", metavar="MODEL", help="model name (optional when there is one)")
    prom.add_argument("--base", metavar="BASE", help="last-release (default), main, or any REV")
    prom.add_argument("--dry-run", action="store_true", help="decide and show the version, write nothing")
    prom.add_argument(
        "--push", nargs="?", const="origin", metavar="REMOTE", help="push the tag (default remote: origin)"
    )
    prom.add_argument("--allow-dirty", action="store_true", help="allow uncommitted changes (the tag goes on HEAD)")
    prom.add_argument("--json", action="store_true", help="machine-readable output")

    demo = sub.add_parser("demo", help="run the end-to-end demo on a copy of the bundled example repository")
    demo.add_argument("--dir", metavar="DIR", help="where to build the demo repository (default: a new temp dir)")
    # -- data and schema checks (issue 3) --
    schema = sub.add_parser("schema", help="dataset schema commands")
    ssub = schema.add_subparsers(dest="schema_command", metavar="SUBCOMMAND", parser_class=_Parser)
    sinfer = ssub.add_parser("infer", help="infer a reviewable schema file (and profile) for each dataset")
    sinfer.add_argument("datasets", nargs="*", metavar="DATASET")
    sinfer.add_argument("--force", action="store_true", help="overwrite existing schema files")
    sinfer.add_argument("--json", action="store_true", help="machine-readable output")

    check = sub.add_parser("check", help="data, schema and model checks (all of them without a subcommand)")
    check.add_argument("--base", metavar="REV", help="revision to compare with")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    csub = check.add_subparsers(dest="check_command", metavar="SUBCOMMAND", parser_class=_Parser)
    cdata = csub.add_parser("data", help="validate datasets against their schemas and expectations; drift vs --base")
    cdata.add_argument("datasets", nargs="*", metavar="DATASET")
    cdata.add_argument("--base", metavar="REV", help="revision whose committed profile drift is measured against")
    cdata.add_argument("--json", action="store_true", help="machine-readable output")
    cdata.add_argument("--no-cache", action="store_true", help="read the data again even when nothing changed")
    cschema = csub.add_parser("schema", help="classify schema changes against --base as breaking or compatible")
    cschema.add_argument("--base", metavar="REV", help="revision to compare with")
    cschema.add_argument("--json", action="store_true", help="machine-readable output")
    cmodel = csub.add_parser("model", help="stale pipeline, promotion policy, artifact loading and latency")
    cmodel.add_argument("model", nargs="?", metavar="MODEL")
    # SUPPRESS: the value given before the subcommand (`mlgit check --base X model`) must not be reset.
    cmodel.add_argument(
        "--base", default=argparse.SUPPRESS, metavar="REV", help="baseline: REV, main, last-release or stage:NAME"
    )
    cmodel.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")

    # -- registry (issue 4) --
    reg = sub.add_parser("registry", help="models, versions and stages from git tags")
    reg.add_argument("model", nargs="?", metavar="MODEL")
    reg.add_argument("--json", action="store_true", help="machine-readable output")
    hist = sub.add_parser("history", help="timeline of a model's registrations and stage assignments")
    hist.add_argument("model", metavar="MODEL")
    hist.add_argument("--json", action="store_true", help="machine-readable output")
    assign = sub.add_parser("assign", help="assign a version of a model to a stage (GTO stage tag)")
    assign.add_argument("model", metavar="MODEL")
    assign.add_argument("stage", metavar="STAGE")
    assign.add_argument("--version", metavar="V", help="version to assign (default: the latest release)")
    assign.add_argument("--push", nargs="?", const="origin", metavar="REMOTE", help="push the tag")
    assign.add_argument("--json", action="store_true", help="machine-readable output")
    rollback = sub.add_parser("rollback", help="re-assign the previous version to a stage")
    rollback.add_argument("model", metavar="MODEL")
    rollback.add_argument("stage", metavar="STAGE")
    rollback.add_argument("--push", nargs="?", const="origin", metavar="REMOTE", help="push the tag")
    rollback.add_argument("--json", action="store_true", help="machine-readable output")
    deprecate = sub.add_parser("deprecate", help="deprecate a model (GTO deprecation tag)")
    deprecate.add_argument("model", metavar="MODEL")
    deprecate.add_argument("--push", nargs="?", const="origin", metavar="REMOTE", help="push the tag")
    deprecate.add_argument("--json", action="store_true", help="machine-readable output")

    # -- pull-request report (issue 5) --
    report = sub.add_parser("report", help="one report of the change against its baseline")
    report.add_argument(
        "--base", metavar="REV", help="revision to compare with (default: the shared baseline resolver)"
    )
    report.add_argument(
        "--format",
        choices=["md", "json", "html", "text"],
        default=None,
        help="output format (default: from --output's extension, else text)",
    )
    report.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    report.add_argument("--force", action="store_true", help="overwrite FILE even if it is not a previous report")
    comment = sub.add_parser("comment", help="create or update the one sticky report comment on a PR/MR")
    comment.add_argument("--forge", choices=["github", "gitlab"], help="default: detected from the environment")
    comment.add_argument("--pr", type=int, metavar="N", help="pull/merge request number (default: from the CI event)")
    comment.add_argument("--file", required=True, metavar="REPORT.md", help="the markdown report to post")
    comment.add_argument(
        "--dry-run", action="store_true", help="find the comment and say what would change; write nothing"
    )

    # -- generated CI (issue 6) --
    ci = sub.add_parser("ci", help="generated CI workflows")
    cisub = ci.add_subparsers(dest="ci_command", metavar="SUBCOMMAND", parser_class=_Parser)
    cigen = cisub.add_parser("generate", help="render CI workflows from mlgit.yaml")
    cigen.add_argument("--forge", choices=["github", "gitlab"], help="default: ci.forge in mlgit.yaml")
    cigen.add_argument("--force", action="store_true", help="replace hand-edited generated files")
    cicheck = cisub.add_parser("check", help="exit 1 when generated CI files are stale or hand-edited")
    cicheck.add_argument("--forge", choices=["github", "gitlab"], help="default: ci.forge in mlgit.yaml")
    cicheck.add_argument("--json", action="store_true", help="machine-readable output")
    # mlgit:parsers-end (new subcommands are declared above this line)
    return p


# Each command's module exposes `run(cwd, **arguments) -> int`, arguments named as declared above.
_MODULES = {
    "schema infer": "schema_infer",
    "check": "check",
    "check data": "check_data",
    "check schema": "check_schema",
    "check model": "check_model",
    "registry": "registry",
    "history": "history",
    "assign": "assign",
    "rollback": "rollback",
    "deprecate": "deprecate",
    "report": "report",
    "comment": "comment",
    "ci generate": "ci_generate",
    "ci check": "ci_check",
}


def _needs_subcommand(command: str) -> int:
    sys.stderr.write(f"error: 'mlgit {command}' needs a subcommand; see 'mlgit {command} --help'\n")
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run one command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    cwd = Path(args.cwd)
    if not cwd.is_dir():
        sys.stderr.write(f"error: -C {args.cwd}: no such directory\n")
        return EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "init":
        from mlgit.cli.commands import init

        return guarded(lambda: init.run(cwd, force=args.force, forge=args.forge))
    if args.command == "metrics":
        if args.metrics_command is None:
            return _needs_subcommand("metrics")
        from mlgit.cli.commands import metrics_diff

        return guarded(lambda: metrics_diff.run(cwd, args.base, args.model, args.json, args.show_all))
    if args.command == "promote":
        from mlgit.cli.commands import promote

        return guarded(
            lambda: promote.run(cwd, args.model, args.base, args.dry_run, args.push, args.allow_dirty, args.json)
        )
    if args.command == "demo":
        from mlgit.cli.commands import demo

        return guarded(lambda: demo.run(Path(args.dir) if args.dir else None))
    if args.command in {key.split()[0] for key in _MODULES}:
        import importlib

        sub_name = {"schema": "schema_command", "check": "check_command", "ci": "ci_command"}.get(args.command)
        key = args.command if sub_name is None else f"{args.command} {getattr(args, sub_name) or ''}".strip()
        if key not in _MODULES:
            return _needs_subcommand(args.command)
        module = importlib.import_module(f"mlgit.cli.commands.{_MODULES[key]}")
        kwargs = {k: v for k, v in vars(args).items() if k not in {"command", "cwd"} and not k.endswith("_command")}
        return guarded(lambda: int(module.run(cwd, **kwargs)))
    # mlgit:dispatch-end (new subcommands are dispatched above this line)
    raise AssertionError(args.command)
