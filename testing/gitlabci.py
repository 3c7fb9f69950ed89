"""Run a generated .gitlab-ci.yml with gitlab-ci-local (shell executor), as act runs the GitHub workflows.

gitlab-ci-local is a Node program that `make` installs, pinned, with npm into the venv (`.venv/gitlab-ci-local`).
Its shell executor runs each job's script with bash in the project folder it is given (its --shell-isolation
re-copies the tracked files before after_script, deleting what the script pulled, which no GitLab runner does),
so the tests give it a fresh clone of the pushed branch: the job sees only what was pushed, as a runner does.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from testing.repos import BIN

GITLAB_CI_LOCAL = BIN.parent / "gitlab-ci-local" / "node_modules" / ".bin" / "gitlab-ci-local"
VERSION = "4.65.0"  # the Makefile's GLCI_VERSION


def missing() -> str | None:
    """Why gitlab-ci-local cannot run here, or None."""
    if not GITLAB_CI_LOCAL.exists():
        return f"gitlab-ci-local is not installed at {GITLAB_CI_LOCAL} (make installs it with npm; needs Node 20+)"
    if shutil.which("rsync") is None:
        return "gitlab-ci-local's shell executor needs rsync (apt-get install rsync)"
    return None


def job_python(folder: Path) -> Path:
    """A virtualenv whose site-packages see the test environment's, for `python -m pip install` in the jobs.

    What the job installs (mlgit from this checkout, the project's requirements) is then already satisfied or
    built from local files: with PIP_NO_INDEX set, a job can never reach a package index.
    """
    import site

    venv = folder / "job-python"
    if not venv.exists():
        subprocess.run((sys.executable, "-m", "venv", "--without-pip", str(venv)), check=True)
        purelib = subprocess.run(
            (str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"),
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        (Path(purelib) / "_mlgit_glci_host.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    return venv / "bin"


@dataclass(frozen=True)
class PipelineRun:
    """What gitlab-ci-local printed and how it ended."""

    code: int
    log: str
    project: Path

    def artifacts(self, job: str) -> Path:
        """The folder gitlab-ci-local keeps a job's artifacts in."""
        return self.project / STATE / "artifacts" / job


STATE = ".gitlab-ci-local"  # inside the project: builds/<job>/ and artifacts/<job>/


def run(
    cwd: Path,
    jobs: list[str],
    *,
    variables: dict[str, str],
    env: dict[str, str],
    home: Path,
    timeout: int = 900,
) -> PipelineRun:
    """Run the named jobs of cwd's .gitlab-ci.yml; `variables` are the pipeline's, `env` the runner's own.

    The shell executor gives the runner's environment precedence over job variables, so `env` is kept minimal:
    what a runner host has (PATH, HOME, git's global config), never an identity a job sets itself.
    """
    args = [
        str(GITLAB_CI_LOCAL),
        "--home",
        str(home),  # no ~/.gitlab-ci-local/variables.yml of the person running the tests
        "--force-shell-executor",
        "--no-artifacts-to-source",
        "--no-color",
        # GitLab compares a push with the commit before it; gitlab-ci-local with the default branch, which on
        # the default branch itself is nothing. Every path filter is taken as matched instead.
        "--evaluate-rule-changes=false",
    ]
    overridden = [k for k in variables if k.startswith(("CI_", "GITLAB_"))]  # the test plays the runner: on purpose
    if overridden:
        args += ["--ignore-predefined-vars", ",".join(overridden)]
    for key, value in variables.items():
        args += ["--variable", f"{key}={value}"]
    proc = subprocess.run(
        [*args, *jobs], cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    return PipelineRun(proc.returncode, proc.stdout + proc.stderr, cwd)
