"""The command line: declares arguments, and maps each command path to one typed call of its `run`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mlgit import __version__
from mlgit.cli.exit import exit_code, guarded
from mlgit.errors import UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # it raises, as NoReturn says; importing typing for it costs --help
        self.print_usage(sys.stderr)
        raise UsageError(message)


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
    prom.add_argument(
        "--base", metavar="BASE", help="last-release, best, main, stage:NAME or any REV (default: policy.base)"
    )
    prom.add_argument("--dry-run", action="store_true", help="decide and show the version, write nothing")
    prom.add_argument(
        "--push", nargs="?", const="origin", metavar="REMOTE", help="push the tag (default remote: origin)"
    )
    prom.add_argument("--allow-dirty", action="store_true", help="allow uncommitted changes (the tag goes on HEAD)")
    prom.add_argument(
        "--allow-stale", action="store_true", help="release though the pipeline is stale (recorded in the lineage)"
    )
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
    cdata.add_argument(
        "--update-profile", action="store_true", help="rewrite schemas/<name>.profile.json where the data changed"
    )
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

    # -- packaging and serving (issue 14) --
    package = sub.add_parser("package", help="build a release's bundle (folder + reproducible .tar.gz) from its commit")
    package.add_argument("release_spec", metavar="RELEASE", help="MODEL, MODEL@vX.Y.Z or MODEL#STAGE")
    package.add_argument("--output", metavar="DIR", help="where the bundle goes (default: dist/)")
    package.add_argument("--json", action="store_true", help="machine-readable output")
    serve = sub.add_parser("serve", help="serve a bundle or release over the Open Inference Protocol v2 (HTTP)")
    serve.add_argument("bundle", metavar="BUNDLE|RELEASE", help="bundle folder, .tar.gz, sha256:DIGEST or release")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default: 8080; 0 picks a free one)")
    serve.add_argument("--workers", type=int, default=1, metavar="N", help="processes sharing the port")
    serve.add_argument("--log-dir", metavar="DIR", help="write one JSONL record per (sampled) request here")
    serve.add_argument("--log-sample", type=float, default=1.0, metavar="RATE", help="share of requests logged")
    cpackage = csub.add_parser("package", help="install a bundle offline, serve it, compare golden outputs, budgets")
    cpackage.add_argument("bundle", metavar="BUNDLE", help="bundle folder, .tar.gz, sha256:DIGEST or release")
    cpackage.add_argument("--json", action="store_true", help="machine-readable output")
    # -- deployment (issue 15) --
    deploy = sub.add_parser("deploy", help="converge a stage's deploy target to the version its tags name")
    dsub = deploy.add_subparsers(dest="deploy_command", metavar="SUBCOMMAND", parser_class=_Parser)
    dapply = dsub.add_parser("apply", help="deploy the version a stage holds (refuses unblessed bundles)")
    dapply.add_argument("model", metavar="MODEL")
    dapply.add_argument("stage", metavar="STAGE")
    dapply.add_argument("--bundle", metavar="PATH", help="the bundle archive (default: packaged before, else now)")
    dapply.add_argument("--target", choices=["local", "kserve", "command"], help="instead of deploy.<stage>.target")
    dapply.add_argument("--port", type=int, metavar="N", help="local: the stable port (instead of deploy.<stage>.port)")
    dapply.add_argument(
        "--auto-rollback", action="store_true", help="on a failed smoke test, also roll the stage's tags back"
    )
    dapply.add_argument("--dry-run", action="store_true", help="say what would change; start and write nothing")
    dapply.add_argument(
        "--push", nargs="?", const="origin", metavar="REMOTE", help="push the rollback tags an auto-rollback writes"
    )
    dapply.add_argument("--json", action="store_true", help="machine-readable output")
    dstop = dsub.add_parser("stop", help="stop a local deployment")
    dstop.add_argument("model", metavar="MODEL")
    dstop.add_argument("stage", metavar="STAGE")
    dstop.add_argument("--json", action="store_true", help="machine-readable output")
    dstatus = dsub.add_parser("status", help="desired version (tags) against what each target serves")
    dstatus.add_argument("model", nargs="?", metavar="MODEL")
    dstatus.add_argument("--json", action="store_true", help="machine-readable output")
    mon = sub.add_parser(
        "monitor", help="profile prediction logs in the release's bins: drift, schema, volume, latency"
    )
    mon.add_argument("model", nargs="?", metavar="MODEL", help="model name (optional when there is one)")
    mon.add_argument("--logs", nargs="+", required=True, metavar="PATH", help="log files, folders or URLs")
    mon.add_argument("--window", metavar="START/END", help="only requests in this time span (ISO 8601, UTC)")
    mon.add_argument(
        "--base",
        default="last-release",
        metavar="BASE",
        help="last-release, best, stage:NAME, vX.Y.Z (that release's training profile) or a stored window",
    )
    mon.add_argument("--labels", metavar="FILE", help="true values by request id (CSV, JSONL or Parquet: id, label)")
    mon.add_argument("--store", default="monitoring", metavar="DIR", help="where window profiles are kept")
    mon.add_argument("--force", action="store_true", help="replace a stored profile of the same window")
    mon.add_argument("--report", metavar="FILE", help="also write the report with the trend: FILE.md or FILE.html")
    mon.add_argument("--alert", action="store_true", help="keep one open GitHub issue per model while unhealthy")
    mon.add_argument("--retrain", action="store_true", help="on drift, dispatch the retrain workflow (GitHub)")
    mon.add_argument("--json", action="store_true", help="machine-readable output")
    ret = sub.add_parser("retrain", help="decide whether to retrain (and why); retrain on a branch; one pull request")
    ret.add_argument("model", nargs="?", metavar="MODEL", help="model name (optional when there is one)")
    ret.add_argument("--trigger", default="manual", choices=["manual", "schedule", "new-data", "drift"])
    ret.add_argument("--pr", action="store_true", help="open or update the one pull request of the retrain branch")
    ret.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    ret.add_argument("--store", default="monitoring", metavar="DIR", help="where window profiles are kept (drift)")
    ret.add_argument("--json", action="store_true", help="machine-readable output")
    crepro = csub.add_parser("repro", help="re-run the pipeline in a temporary worktree; compare outputs with dvc.lock")
    crepro.add_argument("model", nargs="?", metavar="MODEL", help="model name (optional when there is one)")
    crepro.add_argument("--runs", type=int, default=1, metavar="N", help="re-run every stage N times (default 1)")
    crepro.add_argument("--json", action="store_true", help="machine-readable output")
    # mlgit:parsers-end (new subcommands are declared above this line)
    return p


# -- dispatch ---------------------------------------------------------------------------------------------------
# Each handler imports its command module only when called, so `mlgit --help` loads none of them, and names
# every argument, so mypy checks the call against the command's `run` signature.

Handler = Callable[[Path, argparse.Namespace], int]


class Command:
    """What a command path (`("check", "data")`) runs."""

    # Not a dataclass: importing dataclasses (and inspect) would add ~10 ms to every `mlgit --help`.
    __slots__ = ("_handler",)

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    @property
    def handler(self) -> Handler:
        """Runs the command in a directory with the parsed arguments; returns its exit code."""
        return self._handler


def _init(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import init

    return init.run(cwd, force=a.force, forge=a.forge)


def _metrics_diff(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import metrics_diff

    return metrics_diff.run(cwd, base=a.base, model=a.model, as_json=a.json, show_all=a.show_all)


def _promote(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import promote

    return promote.run(
        cwd,
        model_name=a.model,
        base=a.base,
        dry_run=a.dry_run,
        push=a.push,
        allow_dirty=a.allow_dirty,
        allow_stale=a.allow_stale,
        as_json=a.json,
    )


def _demo(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import demo

    # The demo builds its own repository: -C has no meaning for it.
    return demo.run(where=Path(a.dir) if a.dir else None)


def _schema_infer(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import schema_infer

    return schema_infer.run(cwd, datasets=a.datasets, force=a.force, json=a.json)


def _check(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import check

    return check.run(cwd, base=a.base, json=a.json)


def _check_data(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import check_data

    return check_data.run(
        cwd, datasets=a.datasets, base=a.base, json=a.json, no_cache=a.no_cache, update_profile=a.update_profile
    )


def _check_schema(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import check_schema

    return check_schema.run(cwd, base=a.base, json=a.json)


def _check_model(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import check_model

    return check_model.run(cwd, model=a.model, base=a.base, json=a.json)


def _registry(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import registry

    return registry.run(cwd, model=a.model, json=a.json)


def _history(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import history

    return history.run(cwd, model=a.model, json=a.json)


def _assign(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import assign

    return assign.run(cwd, model=a.model, stage=a.stage, version=a.version, push=a.push, json=a.json)


def _rollback(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import rollback

    return rollback.run(cwd, model=a.model, stage=a.stage, push=a.push, json=a.json)


def _deprecate(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import deprecate

    return deprecate.run(cwd, model=a.model, push=a.push, json=a.json)


def _report(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import report

    return report.run(cwd, base=a.base, format=a.format, output=a.output, force=a.force)


def _comment(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import comment

    return comment.run(cwd, forge=a.forge, pr=a.pr, file=a.file, dry_run=a.dry_run)


def _ci_generate(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import ci_generate

    return ci_generate.run(cwd, forge=a.forge, force=a.force)


def _ci_check(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import ci_check

    return ci_check.run(cwd, forge=a.forge, json=a.json)


def _package(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import package

    return package.run(cwd, release_spec=a.release_spec, output=a.output, json=a.json)


def _serve(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import serve

    return serve.run(
        cwd,
        bundle=a.bundle,
        host=a.host,
        port=a.port,
        workers=a.workers,
        log_dir=a.log_dir,
        log_sample=a.log_sample,
    )


def _check_package(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import check_package

    return check_package.run(cwd, bundle=a.bundle, json=a.json)


def _deploy_apply(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import deploy

    return deploy.run_apply(
        cwd,
        model=a.model,
        stage=a.stage,
        bundle=a.bundle,
        target=a.target,
        port=a.port,
        auto_rollback=a.auto_rollback,
        dry_run=a.dry_run,
        push=a.push,
        json=a.json,
    )


def _monitor(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import monitor

    return monitor.run(
        cwd,
        model=a.model,
        logs_paths=a.logs,
        window=a.window,
        base=a.base,
        labels=a.labels,
        store=a.store,
        force=a.force,
        json=a.json,
        report=a.report,
        alert=a.alert,
        retrain=a.retrain,
    )


def _deploy_stop(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import deploy

    return deploy.run_stop(cwd, model=a.model, stage=a.stage, json=a.json)


def _deploy_status(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import deploy

    return deploy.run_status(cwd, model=a.model, json=a.json)


def _retrain(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import retrain

    return retrain.run(cwd, model=a.model, trigger=a.trigger, pr=a.pr, dry_run=a.dry_run, store=a.store, json=a.json)


def _check_repro(cwd: Path, a: argparse.Namespace) -> int:
    from mlgit.cli.commands import check_repro

    return check_repro.run(cwd, model=a.model, runs=a.runs, json=a.json)


# One entry per runnable parser path; a parent path not listed here (`metrics`, `schema`, `ci`) needs a subcommand.
COMMANDS: dict[tuple[str, ...], Command] = {
    ("init",): Command(_init),
    ("metrics", "diff"): Command(_metrics_diff),
    ("promote",): Command(_promote),
    ("demo",): Command(_demo),
    ("schema", "infer"): Command(_schema_infer),
    ("check",): Command(_check),
    ("check", "data"): Command(_check_data),
    ("check", "schema"): Command(_check_schema),
    ("check", "model"): Command(_check_model),
    ("registry",): Command(_registry),
    ("history",): Command(_history),
    ("assign",): Command(_assign),
    ("rollback",): Command(_rollback),
    ("deprecate",): Command(_deprecate),
    ("report",): Command(_report),
    ("comment",): Command(_comment),
    ("ci", "generate"): Command(_ci_generate),
    ("ci", "check"): Command(_ci_check),
    ("package",): Command(_package),
    ("serve",): Command(_serve),
    ("check", "package"): Command(_check_package),
    ("deploy", "apply"): Command(_deploy_apply),
    ("deploy", "stop"): Command(_deploy_stop),
    ("deploy", "status"): Command(_deploy_status),
    ("monitor",): Command(_monitor),
    ("retrain",): Command(_retrain),
    ("check", "repro"): Command(_check_repro),
    # mlgit:dispatch-end (new subcommands are dispatched above this line)
}


def subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
    """The parser's sub-command action, if it has one (argparse offers no public accessor)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


def command_path(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, ...]:
    """The sub-command names the user gave, outermost first (`mlgit check data` -> `("check", "data")`)."""
    path: list[str] = []
    action = subparsers(parser)
    while action is not None and getattr(args, action.dest, None) is not None:
        name = getattr(args, action.dest)
        path.append(name)
        action = subparsers(action.choices[name])
    return tuple(path)


def dispatch(
    parser: argparse.ArgumentParser, args: argparse.Namespace, commands: Mapping[tuple[str, ...], Command] = COMMANDS
) -> int:
    """Run the command the parsed arguments name; a parent command without its subcommand is a usage error."""
    path = command_path(parser, args)
    if not path:
        # No command is a usage error like any other (exit code from the one table); the help says what to type.
        parser.print_help(sys.stderr)
        return exit_code(UsageError("no command given"))
    command = commands.get(path)
    if command is None:
        name = " ".join(path)
        raise UsageError(f"'mlgit {name}' needs a subcommand; see 'mlgit {name} --help'")
    return command.handler(Path(args.cwd), args)


def main(argv: Sequence[str] | None = None, commands: Mapping[tuple[str, ...], Command] = COMMANDS) -> int:
    """Parse arguments and run one command; returns the exit code."""
    # Parsing comes before the guard, so `mlgit --help` loads neither the CI-log escaping nor the signal module;
    # a Ctrl-C while parsing still ends in one line (the `mlgit` executable catches it: exit.console).
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exit_code(exc)
    return guarded(lambda: _checked_dispatch(parser, args, commands))


def _checked_dispatch(
    parser: argparse.ArgumentParser, args: argparse.Namespace, commands: Mapping[tuple[str, ...], Command]
) -> int:
    # os.path.isdir, not Path.is_dir: a path too long for the OS is 'no such directory', not an OSError.
    if not os.path.isdir(args.cwd):
        raise UsageError(f"-C {args.cwd}: no such directory")
    return dispatch(parser, args, commands)
