"""A model in a sub-folder (GTO's `dir:name`) is spelled `dir=name` wherever its name goes into a ref or a path."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgit.actions import tags as tag_writer
from mlgit.config.settings import DeployTarget
from mlgit.deploy import kserve, state
from mlgit.monitor import reference
from mlgit.package.release import Release
from mlgit.registry import tags
from mlgit.registry.semver import Version
from mlgit.repo.state import RepoState
from mlgit.train import plan
from testing.repos import git

# models/churn/dvc.yaml declares `churn` at models/churn/model.pkl: GTO names it `models/churn:churn`.
MODEL = "models/churn:churn"
TAGGED = "models/churn=churn"


@pytest.fixture
def repo(tmp_path: Path) -> RepoState:
    git("init", "-q", "-b", "main", cwd=tmp_path)
    return RepoState(tmp_path)


def test_refs_use_the_tag_form() -> None:
    assert tags.tag_name(MODEL) == TAGGED
    assert tags.version_tag(MODEL, Version(0, 1, 0)) == f"{TAGGED}@v0.1.0"
    assert plan.branch_for(MODEL) == f"mlgit/retrain/{TAGGED}"
    assert tag_writer.lease_ref(tags.tag_name(MODEL)) == f"refs/mlgit/registry/{TAGGED}.head"


def test_paths_use_the_tag_form(repo: RepoState) -> None:
    assert state.folder(repo, MODEL, "prod") == repo.state_dir / "deploy" / TAGGED / "prod"
    assert kserve.path_of(DeployTarget(stage="prod", target="kserve"), MODEL) == f"deploy/prod/{TAGGED}.yaml"
    assert reference.folder(repo.root, "monitoring", MODEL, "v0.1.0") == repo.root / "monitoring" / TAGGED / "v0.1.0"


def test_a_bundle_folder_is_the_tag_form_made_one_segment() -> None:
    # A bundle folder is one path segment: the dir's `/` cannot stay.
    rel = Release(MODEL, Version(0, 1, 0), f"{TAGGED}@v0.1.0", "0" * 40, None)
    assert rel.slug == "models_churn=churn-v0.1.0"


def test_one_sanitiser_names_folders_jobs_and_branches() -> None:
    from mlgit.actions import workflows

    # The dir's `/` is the only character a config-valid name needs replaced; each caller keeps its own set.
    assert tags.safe_name(TAGGED) == "models_churn=churn"
    assert tags.safe_name("a//b é.c", keep="_-", fill="-") == "a-b-c"
    pair = workflows._pair(MODEL, DeployTarget(stage="prod", target="kserve"))
    assert pair["slug"] == "models-churn-churn-prod"
