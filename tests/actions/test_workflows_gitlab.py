"""The generated .gitlab-ci.yml, run end to end with gitlab-ci-local (shell executor) on a copy of example_repo.

As tests/actions/test_workflows_act.py does for the GitHub workflows: a bare repository plays GitLab's copy of
the project (the runner's clone fetches from it, and the release job's push URL, GitLab's own, is rewritten to it
with git's `url.<base>.insteadOf`), a folder plays the DVC remote, and testing/fakegithub.FakeGitLab plays the
REST API the MR note goes to. mlgit is installed into each job as users install it, `pip install` of
`ci.install`, here this checkout, with no package index (PIP_NO_INDEX).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgit.cli.main import main
from testing import fakegithub, gitlabci
from testing.oip import WHEEL_CACHE_ENV
from testing.repos import REPO_ROOT, commit_all, dvc, git, golden_csv, set_param

pytestmark = pytest.mark.skipif(gitlabci.missing() is not None, reason=str(gitlabci.missing()))

PROJECT = "acme/cancer-classifier"
SERVER = "https://gitlab.test"
MODEL = "cancer-classifier"
CHECKS = "mlgit-checks"
RELEASE = f"mlgit-release-{MODEL}"


@dataclass
class Project:
    """A developer's clone, the 'GitLab' bare repository it pushes to, and gitlab-ci-local's folders."""

    work: Path
    origin: Path
    tmp: Path

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work).strip()

    def _job_gitconfig(self) -> Path:
        path = self.tmp / "job-gitconfig"
        base = Path(os.environ["GIT_CONFIG_GLOBAL"]).read_text()
        path.write_text(f'{base}[url "{self.origin}"]\n\tinsteadOf = {SERVER}/{PROJECT}.git\n')
        return path

    def clone(self, branch: str) -> Path:
        """The runner's clone of the pushed branch (full history and tags: GIT_DEPTH 0)."""
        runner = self.tmp / f"runner-{len(list(self.tmp.glob('runner-*')))}"
        git("clone", "-q", "-b", branch, str(self.origin), str(runner), cwd=self.tmp)
        git("remote", "add", "gcl-origin", f"{SERVER}/{PROJECT}.git", cwd=runner)  # what gitlab-ci-local names CI_*
        with (runner / ".git" / "info" / "exclude").open("a") as f:
            f.write(f"/{gitlabci.STATE}/\n")
        return runner

    def run(
        self, job: str, branch: str, variables: dict[str, str], env: dict[str, str] | None = None
    ) -> gitlabci.PipelineRun:
        """Run one job of the pipeline on `branch` as the runner would for `variables` (CI/CD variables included)."""
        home = self.tmp / "glci-home"
        home.mkdir(exist_ok=True)
        runner_env = {
            "PATH": f"{gitlabci.job_python(self.tmp)}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "DVC_NO_ANALYTICS": "1",
            "NO_COLOR": "1",
            "PIP_NO_INDEX": "1",
            "PIP_NO_BUILD_ISOLATION": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **(env or {}),
        }
        pipeline = {
            "GITLAB_CI": "true",  # what every GitLab runner sets (gitlab-ci-local does not)
            "CI_DEFAULT_BRANCH": "main",
            "CI_PROJECT_ID": PROJECT,
            # GitLab's own URL (the release job pushes to it, built from CI_SERVER_*) is the bare repository here.
            # A job variable, not the runner's environment: gitlab-ci-local itself must still see the GitLab URL.
            "GIT_CONFIG_GLOBAL": str(self._job_gitconfig()),
            **variables,
        }
        return gitlabci.run(self.clone(branch), [job], variables=pipeline, env=runner_env, home=home)


@pytest.fixture
def project(example_repo: Path, tmp_path: Path) -> Project:
    """The example as it ships (skops, no pickle trust) with a golden input and its GitLab CI, pushed."""
    import yaml

    work = example_repo
    dvc("remote", "add", "-d", "storage", str(tmp_path / "dvc-remote"), cwd=work)
    cfg = work / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("\nci:\n", f"\nci:\n  install: {json.dumps(str(REPO_ROOT))}\n", 1))
    golden_csv(work)
    data = yaml.safe_load(cfg.read_text())
    data["models"][MODEL]["golden"] = {"input": "golden/input.csv", "key": "model", "method": "predict_proba"}
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["-C", str(work), "schema", "infer"]) == 0  # the data checks need committed schemas
    dvc("push", "-q", cwd=work)
    assert main(["-C", str(work), "ci", "generate", "--forge", "gitlab"]) == 0
    commit_all(work, "CI by mlgit")
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    return Project(work, origin, tmp_path)


def _merge_request(project: Project, branch: str, api: fakegithub.FakeGitLab, iid: int) -> dict[str, str]:
    git("push", "-q", "origin", branch, cwd=project.work)
    api.merge_requests[iid] = project.head()
    return {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_IID": str(iid),
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
        "CI_API_V4_URL": api.api,
        "MLGIT_NOTE_TOKEN": "note-token",
    }


def test_merge_request_checks_pass_and_post_one_note(project: Project) -> None:
    git("checkout", "-q", "-b", "docs", cwd=project.work)
    readme = project.work / "README.md"
    readme.write_text(readme.read_text() + "\nHow to retrain: `dvc repro`.\n")
    commit_all(project.work, "Document retraining")
    with fakegithub.serve_gitlab(PROJECT) as api:
        run = project.run(CHECKS, "docs", _merge_request(project, "docs", api, 3))
    assert run.code == 0, run.log
    assert "generated CI (gitlab) is up to date" in run.log
    kept = run.artifacts(CHECKS)
    assert "## ✅ mlgit report: PASS" in (kept / "report.md").read_text()
    assert (kept / "report.html").is_file()
    notes = api.notes[3]
    assert len(notes) == 1 and "mlgit report: PASS" in notes[0]["body"]
    assert all(token == "note-token" for _, _, token in api.requests)


def test_a_degrading_merge_request_fails_the_job_and_says_why_in_the_note(project: Project) -> None:
    git("checkout", "-q", "-b", "worse-model", cwd=project.work)
    set_param(project.work, "C", "0.0003")
    dvc("repro", "-q", cwd=project.work)
    commit_all(project.work, "Train with C=0.0003")
    dvc("push", "-q", cwd=project.work)
    with fakegithub.serve_gitlab(PROJECT) as api:
        run = project.run(CHECKS, "worse-model", _merge_request(project, "worse-model", api, 4))
    assert run.code != 0
    assert f"FAIL  {CHECKS}" in run.log
    assert "model.metric-regressed" in run.log
    # after_script still wrote the report, kept it (artifacts: when: always) and posted it.
    report = (run.artifacts(CHECKS) / "report.md").read_text()
    assert "## ❌ mlgit report: FAIL" in report and "| ❌ | `accuracy` | regression |" in report
    assert [n["body"] for n in api.notes[4]] == [report]


def test_the_release_job_tags_packages_checks_and_keeps_the_bundle(
    project: Project, packaged: Path, wheel_cache: Path
) -> None:
    # `packaged` filled the session's wheel cache with this environment's wheels: the job downloads nothing.
    head = project.head()
    push = {"CI_PIPELINE_SOURCE": "push", "CI_COMMIT_BRANCH": "main"}
    run = project.run(RELEASE, "main", push, {WHEEL_CACHE_ENV: str(wheel_cache)})
    assert run.code == 0, run.log
    assert f"PASSED: tagged {MODEL}@v0.1.0" in run.log
    assert "package.golden-match" in run.log
    # The tag is on 'GitLab' (the bare origin), annotated, on the pushed commit, by the job's identity.
    tag = f"refs/tags/{MODEL}@v0.1.0"
    assert git("cat-file", "-t", tag, cwd=project.origin).strip() == "tag"
    assert git("rev-parse", f"{tag}^{{commit}}", cwd=project.origin).strip() == head
    assert git("tag", "-l", "--format=%(taggername)", f"{MODEL}@v0.1.0", cwd=project.origin).strip() == "mlgit"
    assert git("tag", "--list", cwd=project.work).strip() == ""  # the developer's clone was never touched
    # The archive, its digest and its evaluation are the job's artifacts; the bundle folder is not kept twice.
    kept = run.artifacts(RELEASE) / "mlgit-dist"
    name = f"{MODEL}-v0.1.0.tar.gz"
    assert {p.name for p in kept.iterdir()} == {name, f"{name}.sha256", f"{MODEL}-v0.1.0.evaluation.json"}
    digest = hashlib.sha256((kept / name).read_bytes()).hexdigest()
    assert (kept / f"{name}.sha256").read_text() == f"{digest}  {name}\n"
    evaluation = json.loads((kept / f"{MODEL}-v0.1.0.evaluation.json").read_text())
    assert evaluation["passed"] is True
    assert evaluation["bundle"] == {"sha256": digest, "model": MODEL, "version": "v0.1.0"}
    note = json.loads(git("notes", "--ref=mlgit-bundles", "show", head, cwd=project.origin))
    assert note[f"{MODEL}@v0.1.0"]["sha256"] == digest



def test_the_deploy_job_converges_a_local_target_to_the_stage_tag(
    _released_template: Path, tmp_path: Path, packaged: Path, wheel_cache: Path
) -> None:
    import shutil
    import socket

    import yaml

    from mlgit.deploy import state
    from testing.oip import Served, call

    work = tmp_path / "work"
    shutil.copytree(_released_template, work, symlinks=True)
    for tag in git("tag", "--list", cwd=work).split():
        git("tag", "-d", tag, cwd=work)  # released again below, after CI is committed
    dvc("remote", "add", "-d", "storage", str(tmp_path / "dvc-remote"), cwd=work)
    dvc("push", "-q", cwd=work)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cfg = yaml.safe_load((work / "mlgit.yaml").read_text())
    cfg.setdefault("ci", {})["install"] = str(REPO_ROOT)
    cfg["deploy"] = {"prod": {"target": "local", "port": port}}
    (work / "mlgit.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert main(["-C", str(work), "ci", "generate", "--forge", "gitlab"]) == 0
    commit_all(work, "CI by mlgit, prod deployed locally")
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=work)
    assert main(["-C", str(work), "promote"]) == 0
    assert main(["-C", str(work), "assign", MODEL, "prod"]) == 0
    git("push", "-q", "origin", "main", "--tags", cwd=work)
    project = Project(work, origin, tmp_path)

    web = {"CI_PIPELINE_SOURCE": "web", "MLGIT_DEPLOY": f"{MODEL}#prod", "CI_COMMIT_BRANCH": "main"}
    env = {WHEEL_CACHE_ENV: str(wheel_cache), state.VENVS_ENV: str(tmp_path / "venvs")}
    run = project.run("mlgit-deploy-cancer-classifier-prod", "main", web, env)
    try:
        assert run.code == 0, run.log
        assert f"{MODEL} v0.1.0 -> prod (local): deployed" in run.log
        conn = Served.__new__(Served)
        conn.host, conn.port = "127.0.0.1", port
        status, meta = call(conn.connect(), "GET", f"/v2/models/{MODEL}")
        assert status == 200 and meta["versions"] == ["v0.1.0"]
    finally:
        main(["-C", str(run.project), "deploy", "stop", MODEL, "prod"])
