"""The generated CI passes the linters users and auditors run: actionlint, zizmor (offline, regular and pedantic
personas) and the GitLab CI JSON schema, for several shapes of mlgit.yaml. Each linter is also shown to fail on a
known-bad mutation, so a linter that silently checks nothing cannot make these tests pass."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgit.cli.main import main
from testing.repos import BIN, FIXED_ENV, commit_all, dvc, git

GH = ".github/workflows"


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False)


def set_ci(repo: Path, *lines: str) -> None:
    cfg = repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("\nci:\n", "\nci:\n" + "".join(f"  {line}\n" for line in lines), 1))


@pytest.fixture(scope="module")
def variants(
    _example_template: Path, _git_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Path]]:
    """Repositories whose generated CI covers every branch of the templates (built once for this module)."""
    tmp_path = tmp_path_factory.mktemp("variants")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**FIXED_ENV, "GIT_CONFIG_GLOBAL": str(_git_config)}.items():
            mp.setenv(key, value)
        yield _build_variants(_example_template, tmp_path)


def mlgit(repo: Path, *args: str) -> int:
    return main(["-C", str(repo), *args])


def _build_variants(template: Path, tmp_path: Path) -> list[Path]:
    example_repo = tmp_path / "example"
    shutil.copytree(template, example_repo, symlinks=True)
    # 1. the example as init left it: no DVC remote
    out = [example_repo]
    # 2. the example with an S3 remote, renamed secrets, a custom install of two specs, two models
    second = tmp_path / "remote"
    git("clone", "-q", str(example_repo), str(second), cwd=tmp_path)
    (second / "mlgit.yaml").write_text((example_repo / "mlgit.yaml").read_text())
    dvc("remote", "add", "-d", "storage", "s3://bucket/path", cwd=second)
    set_ci(
        second,
        'install: ["mlgit[extra] @ git+https://example.com/mlgit.git@v1", "dvc-s3>=3"]',
        'python: "3.12"',
        "remote_secrets:",
        "  AWS_ACCESS_KEY_ID: DVC_KEY_ID",
        "  AWS_SECRET_ACCESS_KEY: AWS_SECRET_ACCESS_KEY",
    )
    cfg = second / "mlgit.yaml"
    text = cfg.read_text()
    # with a golden input, so each new release is packaged and its bundle checked in the release job
    text = text.replace("  cancer-classifier:\n", "  cancer-classifier:\n    golden: {input: golden/input.csv}\n", 1)
    block = text[text.index("  cancer-classifier:\n") : text.index("\n# Generated CI")]
    cfg.write_text(
        text.replace(block, block + "\n" + block.replace("cancer-classifier", "services/api:other-model", 1))
        # and every deploy target (the deploy workflow, the assign workflow's dispatch, GitLab's deploy jobs)
        + "deploy:\n  prod: {target: local, port: 8080, auto_rollback: true}\n"
        + "  staging: {target: kserve, namespace: models}\n  qa: {target: command, command: [./ship.sh]}\n"
    )
    out.append(second)
    # 3. a repository without models (no release or stage workflows) and a local remote
    third = tmp_path / "plain"
    third.mkdir()
    git("init", "-q", "-b", "trunk", cwd=third)
    commit_all(third, "empty")
    dvc("init", "-q", cwd=third)
    dvc("remote", "add", "-d", "local", str(tmp_path / "store"), cwd=third)
    assert mlgit(third, "init") == 0
    cfg = third / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("default_branch: main", "default_branch: trunk"))
    out.append(third)
    for repo in out:
        for forge in ("github", "gitlab"):
            assert mlgit(repo, "ci", "generate", "--forge", forge) == 0
    return out


def workflows(repos: list[Path]) -> list[Path]:
    return sorted(p for repo in repos for p in (repo / GH).glob("*.yml"))


def zizmor(files: list[Path], *extra: str) -> list[dict[str, object]]:
    r = run(BIN / "zizmor", "--offline", "--no-config", "--format", "json", *extra, *files, cwd=files[0].parent)
    assert r.returncode in {0, 10, 11, 12, 13, 14}, r.stderr  # 1x: findings (by severity); other codes: it broke
    found = json.loads(r.stdout)
    assert isinstance(found, list)
    return found


def test_variants_cover_the_templates(variants: list[Path]) -> None:
    files = workflows(variants)
    assert len(files) == 4 + 5 + 2  # the second has a deploy workflow
    texts = "\n".join(f.read_text() for f in files)
    assert 'mlgit deploy apply "$MODEL" "$STAGE" --push' in texts and "gh workflow run mlgit-deploy.yml" in texts
    assert "gh pr create" in texts
    gitlab = (variants[1] / ".gitlab-ci.yml").read_text()
    assert "resource_group: \"mlgit-deploy-services-api-other-model-prod\"" in gitlab
    assert "$CI_COMMIT_TAG =~ /^services\\/api=other\\-model\\#prod!?#[0-9]+$/" in gitlab
    assert (
        "dvc pull" in texts
        and "secrets.DVC_KEY_ID" in texts
        and "mlgit promote services/api:other-model --push" in texts
    )
    assert 'branches: ["trunk"]' in texts
    assert texts.count('mlgit check package "$MLGIT_DIST"/*.tar.gz') == 2  # GitHub: both models of the second
    assert texts.count("name: mlgit-bundles") == 1 and "MLGIT_TAG_PREFIX: \"services/api=other-model@\"" in texts
    gitlab = (variants[1] / ".gitlab-ci.yml").read_text()
    assert gitlab.count("mlgit check package mlgit-dist/*.tar.gz") == 2 and gitlab.count("paths: [mlgit-dist/]") == 2


def test_actionlint_reports_nothing(variants: list[Path]) -> None:
    files = workflows(variants)
    r = run(BIN / "actionlint", "-no-color", *files, cwd=variants[0])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_reports_nothing(variants: list[Path], persona: str) -> None:
    files = workflows(variants)
    assert zizmor(files, "--persona", persona) == []


def test_the_only_suppression_is_the_workflow_run_trigger(variants: list[Path]) -> None:
    for f in workflows(variants):
        ignores = re.findall(r"zizmor: ignore\[([^\]]*)\](.*)", f.read_text())
        if f.name == "mlgit-comment.yml":
            assert len(ignores) == 1
            audit, reason = ignores[0]
            assert audit == "dangerous-triggers" and "never checks out" in reason
        else:
            assert ignores == [], f
        assert "actionlint" not in f.read_text()  # no actionlint suppressions either


def test_gitlab_file_matches_gitlabs_schema(variants: list[Path]) -> None:
    files = [repo / ".gitlab-ci.yml" for repo in variants]
    r = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", *files, cwd=variants[0])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok -- validation done" in r.stdout


def test_github_files_match_the_workflow_schema(variants: list[Path]) -> None:
    r = run(
        BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows(variants), cwd=variants[0]
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_linters_catch_known_bad_mutations(example_repo: Path, tmp_path: Path) -> None:
    comment = (example_repo / GH / "mlgit-comment.yml").read_text()
    checks = (example_repo / GH / "mlgit-checks.yml").read_text()
    bad = tmp_path / "bad" / GH
    bad.mkdir(parents=True)
    (bad / "trigger.yml").write_text(re.sub(r" # zizmor: ignore.*", "", comment))
    (bad / "unpinned.yml").write_text(re.sub(r"actions/checkout@\S+ # \S+", "actions/checkout@v7", checks))
    (bad / "injection.yml").write_text(
        checks.replace("run: mlgit ci check --forge github", "run: echo ${{ github.event.pull_request.title }}")
    )
    found = {f["ident"] for f in zizmor(sorted(bad.iterdir()))}
    assert {"dangerous-triggers", "unpinned-uses", "template-injection"} <= found
    (bad / "typo.yml").write_text(
        checks.replace("runs-on: ubuntu-latest", "runs-on: ubuntu-latest\n    permisions: {}")
    )
    r = run(BIN / "actionlint", "-no-color", bad / "typo.yml", cwd=tmp_path)
    assert r.returncode == 1 and "permisions" in r.stdout
    gitlab = tmp_path / "gitlab.yml"
    gitlab.write_text("job:\n  script: [x]\n  when: sometimes\n")
    r = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", gitlab, cwd=tmp_path)
    assert r.returncode == 1
