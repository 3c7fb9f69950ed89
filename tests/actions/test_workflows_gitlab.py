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

    def artifacts(self, job: str) -> Path:
        return self.work / gitlabci.STATE / "artifacts" / job

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work).strip()

    def run(self, job: str, variables: dict[str, str], env: dict[str, str] | None = None) -> gitlabci.PipelineRun:
        """Run one job of the pipeline as the runner would for `variables` (CI/CD variables included)."""
        home = self.tmp / "glci-home"
        home.mkdir(exist_ok=True)
        runner_env = {
            "PATH": f"{gitlabci.job_python(self.tmp)}{os.pathsep}{os.environ['PATH']}",
            "HOME": str(home),
            "GIT_CONFIG_GLOBAL": os.environ["GIT_CONFIG_GLOBAL"],
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
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"url.{self.origin}.insteadOf",
            "GIT_CONFIG_VALUE_0": f"{SERVER}/{PROJECT}.git",
            **variables,
        }
        return gitlabci.run(self.work, [job], variables=pipeline, env=runner_env, home=home)


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
    with (work / ".git" / "info" / "exclude").open("a") as f:
        f.write(f"/{gitlabci.STATE}/\n")
    commit_all(work, "CI by mlgit")
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=work)
    git("remote", "add", "gcl-origin", f"{SERVER}/{PROJECT}.git", cwd=work)  # what gitlab-ci-local names CI_*
    git("push", "-q", "origin", "main", cwd=work)
    git("remote", "set-head", "origin", "main", cwd=work)
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
        run = project.run(CHECKS, _merge_request(project, "docs", api, 3))
    assert run.code == 0, run.log
    assert "generated CI (gitlab) is up to date" in run.log
    kept = project.artifacts(CHECKS)
    assert "## ✅ mlgit report: PASS" in (kept / "report.md").read_text()
    assert (kept / "report.html").is_file()
    notes = api.notes[3]
    assert len(notes) == 1 and "mlgit report: PASS" in notes[0]["body"]
    assert all(token == "note-token" for _, _, token in api.requests)
