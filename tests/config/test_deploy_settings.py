"""The `deploy:` section of mlgit.yaml: typed targets, and errors that name the line, key path and fix."""

from __future__ import annotations

from pathlib import Path

from mlgit.config import settings
from testing.repos import METRICS_YAML


def _write(repo: Path, deploy: str) -> str:
    text = METRICS_YAML + deploy
    (repo / "mlgit.yaml").write_text(text)
    return text


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_targets_are_read_with_their_defaults(git_repo: Path) -> None:
    _write(
        git_repo,
        "deploy:\n"
        "  prod: {target: local, port: 9001, auto_rollback: true}\n"
        "  staging: {target: kserve, namespace: models, resources: {limits: {cpu: '2', memory: 1Gi}}}\n"
        "  sagemaker: {target: command, command: [./deploy.sh, --region, eu-west-1], models: [clf]}\n",
    )
    cfg = settings.load(git_repo)
    prod, staging, sm = (cfg.deploy_target(s) for s in ("prod", "staging", "sagemaker"))
    assert prod is not None and (prod.target, prod.host, prod.port, prod.auto_rollback) == ("local", "127.0.0.1", 9001, True)
    assert staging is not None and (staging.folder, staging.namespace) == ("deploy", "models")
    assert staging.resources == (("limits", (("cpu", "2"), ("memory", "1Gi"))),)
    assert sm is not None and sm.command == ("./deploy.sh", "--region", "eu-west-1") and sm.serves("clf")
    assert not sm.serves("other") and cfg.deploy_target("dev") is None


def test_a_key_of_another_target_names_line_and_keys(git_repo: Path, mlgit) -> None:
    text = _write(git_repo, "deploy:\n  prod:\n    target: kserve\n    port: 8080\n")
    r = mlgit(git_repo, "deploy", "status")
    assert r.code == 2 and "Traceback" not in r.err
    assert f"mlgit.yaml:{_line(text, 'prod:')}: deploy.prod" in r.err
    assert "port: not a setting of the kserve target" in r.err


def test_command_target_needs_its_command(git_repo: Path, mlgit) -> None:
    _write(git_repo, "deploy:\n  prod: {target: command}\n")
    r = mlgit(git_repo, "deploy", "status")
    assert r.code == 2 and "the command target needs 'command'" in r.err


def test_unknown_model_unknown_target_and_shared_port(git_repo: Path, mlgit) -> None:
    text = _write(
        git_repo,
        "deploy:\n  prod: {target: local, port: 9000, models: [nope]}\n  dev: {target: local, port: 9000}\n"
        "  qa: {target: heroku}\n",
    )
    r = mlgit(git_repo, "deploy", "status")
    assert r.code == 2
    assert f"mlgit.yaml:{_line(text, 'qa:')}: deploy.qa.target: Input should be 'local', 'kserve' or 'command'" in r.err
    (git_repo / "mlgit.yaml").write_text(text.replace("  qa: {target: heroku}\n", ""))
    r = mlgit(git_repo, "deploy", "status")
    assert r.code == 2
    assert "names unknown model 'nope'" in r.err and "port 9000 is also the port of stage 'prod'" in r.err


def test_a_stage_outside_registry_stages_is_refused(git_repo: Path, mlgit) -> None:
    _write(git_repo, "registry:\n  stages: [staging, prod]\ndeploy:\n  production: {target: local}\n")
    r = mlgit(git_repo, "deploy", "status")
    assert r.code == 2 and "stage 'production' is not in registry.stages (staging, prod)" in r.err


def test_apply_without_a_target_for_the_stage_says_how_to_declare_one(git_repo: Path, mlgit) -> None:
    _write(git_repo, "deploy:\n  prod: {target: local}\n")
    r = mlgit(git_repo, "deploy", "apply", "clf", "dev")
    assert r.code == 2
    assert "no deploy target for stage 'dev'" in r.err and "deploy.dev.target" in r.err
