"""What the generated CI installs beside mlgit, and the DVC remote problems `init` / `ci generate` / `ci check` name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from testing.repos import dvc


def _steps(repo: Path, name: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((repo / ".github/workflows" / name).read_text())
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def _project_step(repo: Path, name: str) -> dict[str, Any] | None:
    return next((s for s in _steps(repo, name) if s["name"].startswith("Install the project's")), None)


def test_requirements_packages_and_loaders_are_installed(example_repo: Path, mlgit) -> None:
    (example_repo / "requirements.txt").write_text("scikit-learn\n")
    (example_repo / "requirements-dev.txt").write_text("pytest\n")
    cfg = example_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("\nci:\n", "\nci:\n  packages: [xgboost==2.1.1, lightgbm>=4]\n", 1))
    assert mlgit(example_repo, "ci", "generate").code == 0
    for name in ("mlgit-checks.yml", "mlgit-release.yml"):
        step = _project_step(example_repo, name)
        assert step is not None, name
        assert step["env"]["PROJECT_INSTALL"] == (
            "-r requirements-dev.txt -r requirements.txt xgboost==2.1.1 lightgbm>=4 skops"
        )
        assert "${{" not in step["run"] and "$PROJECT_INSTALL" in step["run"]
    # A declared list replaces the files found.
    cfg.write_text(cfg.read_text().replace("\nci:\n", "\nci:\n  requirements: [requirements.txt]\n", 1))
    assert mlgit(example_repo, "ci", "generate").code == 0
    step = _project_step(example_repo, "mlgit-checks.yml")
    assert step is not None and step["env"]["PROJECT_INSTALL"].startswith("-r requirements.txt xgboost")


def test_a_package_with_shell_characters_is_refused(example_repo: Path, mlgit) -> None:
    cfg = example_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("\nci:\n", '\nci:\n  packages: ["x; curl evil"]\n', 1))
    r = mlgit(example_repo, "ci", "generate")
    assert r.code == 2 and "ci.packages" in r.err


def test_ci_install_takes_a_list_each_spec_one_pip_argument(example_repo: Path, mlgit) -> None:
    cfg = example_repo / "mlgit.yaml"
    text = cfg.read_text()
    install = '\nci:\n  install: ["mlgit[kserve] @ git+https://example.com/mlgit.git@v1", "dvc-s3>=3"]\n'
    cfg.write_text(text.replace("\nci:\n", install, 1))
    for forge in ("github", "gitlab"):
        assert mlgit(example_repo, "ci", "generate", "--forge", forge).code == 0
    for name in ("mlgit-checks.yml", "mlgit-release.yml", "mlgit-assign.yml"):
        [step] = [s for s in _steps(example_repo, name) if s["name"].startswith("Install mlgit")]
        assert step["env"]["MLGIT_INSTALL"] == "mlgit[kserve] @ git+https://example.com/mlgit.git@v1"
        assert step["env"]["MLGIT_INSTALL_2"] == "dvc-s3>=3"
        assert step["run"].startswith('python -m pip install "$MLGIT_INSTALL" "$MLGIT_INSTALL_2"')
    gitlab = yaml.safe_load((example_repo / ".gitlab-ci.yml").read_text())
    assert gitlab["variables"]["MLGIT_INSTALL_2"] == "dvc-s3>=3"
    scripts = [line for job in gitlab.values() if isinstance(job, dict) for line in job.get("before_script", [])]
    assert any(line.startswith('python -m pip install "$MLGIT_INSTALL" "$MLGIT_INSTALL_2"') for line in scripts)


def test_a_bad_ci_install_list_is_refused_naming_the_entry(example_repo: Path, mlgit) -> None:
    cfg = example_repo / "mlgit.yaml"
    text = cfg.read_text()
    for value, message in (
        ("[]", "ci.install: an empty list installs nothing"),
        ('[mlgit, "x ${{ github.event.issue.title }}"]', "ci.install[1]"),
        ("[mlgit, 3]", "ci.install.1: Input should be a valid string"),
    ):
        cfg.write_text(text.replace("\nci:\n", f"\nci:\n  install: {value}\n", 1))
        r = mlgit(example_repo, "ci", "generate")
        assert r.code == 2 and message in r.err and "Traceback" not in r.err, (value, r.err)


def test_remote_problems_are_named_with_the_fix(example_repo: Path, mlgit) -> None:
    # The example's model and tables are DVC outputs: without a remote no runner can pull them.
    r = mlgit(example_repo, "ci", "generate")
    assert "warning: no default DVC remote" in r.out and "dvc remote add -d" in r.out
    dvc("remote", "add", "--local", "-d", "mine", "/srv/dvc", cwd=example_repo)
    r = mlgit(example_repo, "ci", "check", "--json")
    (problem,) = json.loads(r.out)["remote_problems"]
    assert "only in .dvc/config.local" in problem and "dvc remote add -d mine URL" in problem
    dvc("remote", "add", "-d", "shared", "/srv/dvc", cwd=example_repo)
    r = mlgit(example_repo, "init", "--force")
    assert r.code == 0
    assert "'shared' is a local path (/srv/dvc)" in r.out and "dvc remote modify shared url" in r.out
    dvc("remote", "modify", "shared", "url", "s3://bucket/x", cwd=example_repo)
    r = mlgit(example_repo, "ci", "check")
    assert "warning:" not in r.out
