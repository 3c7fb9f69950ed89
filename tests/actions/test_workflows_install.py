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
