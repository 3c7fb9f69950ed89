"""Repositories of other shapes than mlgit's own (testing/dvcshapes.py), unedited: mlgit reads them as DVC does,
and the plain flow (init -> schema infer -> commit -> check -> promote -> improving PR -> merge -> promote) works."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgit.repo import dvc as adapter
from testing import dvcshapes
from testing.repos import BIN, FIXED_ENV, commit_all, dvc, git

SHAPES = ("cached", "templated", "monorepo")


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory, _git_config: Path) -> Iterator[dict[str, Path]]:
    """One repository per shape, built once for the module (tests copy it)."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in FIXED_ENV.items():
            mp.setenv(key, value)
        mp.setenv("GIT_CONFIG_GLOBAL", str(_git_config))
        mp.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
        base = tmp_path_factory.mktemp("shapes")
        yield {s: dvcshapes.build(base / s, s, base / "remotes" / s) for s in SHAPES}


@pytest.fixture(params=SHAPES)
def shaped(request: pytest.FixtureRequest, templates: dict[str, Path], tmp_path: Path) -> tuple[str, Path]:
    dest = tmp_path / request.param
    shutil.copytree(templates[request.param], dest, symlinks=True)
    return request.param, dest


def _projects(repo: Path) -> list[str]:
    return ["proj_a", "proj_b"] if (repo / "proj_a").is_dir() else [""]


def test_stages_metrics_params_and_status_are_what_dvc_says(shaped: tuple[str, Path]) -> None:
    shape, repo = shaped
    project = adapter.read_project(repo)
    assert project.roots == _projects(repo)
    for base in _projects(repo):
        folder = repo / base if base else repo
        prefix = f"{base}/dvc.yaml:" if base else ""
        listed = dvc("stage", "list", "--name-only", cwd=folder).split()
        assert sorted(
            s.name for s in project.stages if s.lock == (f"{base}/dvc.lock" if base else "dvc.lock")
        ) == sorted(prefix + name for name in listed)
        shown = json.loads(dvc("metrics", "show", "--json", cwd=folder))
        files = {(f"{base}/{p}" if base else p) for rev in shown.values() for p in rev.get("data", {})}
        assert set(project.metrics_by_base.get(base, [])) == files
        params = json.loads(dvc("params", "diff", "--all", "--json", cwd=folder))
        assert set(project.params_by_base.get(base, [])) == {(f"{base}/{p}" if base else p) for p in params}
    assert adapter.stale_stages(repo) == {}
    # One sub-project goes stale: `dvc status` in its folder says so, and mlgit names the stage from the git root.
    base = _projects(repo)[-1]
    folder = repo / base if base else repo
    (folder / "params.yaml").write_text((folder / "params.yaml").read_text().replace("0.8", "0.7"))
    stale = adapter.stale_stages(repo)
    status = json.loads(dvc("status", "--json", cwd=folder))
    expected = {(f"{base}/dvc.yaml:{k}" if base else k) for k in status}
    assert stale is not None and set(stale) == expected and expected, shape


def test_templated_pipeline_resolves_foreach_and_vars(templates: dict[str, Path]) -> None:
    names = {s.name: s for s in adapter.read_stages(templates["templated"])}
    assert set(names) == {"split@train", "split@test", "train", "evaluate"}
    assert names["train"].outs == ("build/clf.pkl",) and "build/train.csv" in names["train"].deps


def _tags(repo: Path) -> list[str]:
    return sorted(git("tag", "--list", cwd=repo).split())


def test_plain_flow_cached_and_gitignored_metrics(templates: dict[str, Path], tmp_path: Path, mlgit) -> None:
    repo = tmp_path / "cached"
    shutil.copytree(templates["cached"], repo, symlinks=True)
    text = _config_after_init(repo, mlgit)
    # The input table git tracks is a dataset; the encoder feeding the training stage is not a model.
    assert "    path: data/raw.csv" in text and "encoder" not in text.split("models:")[1]
    assert "reports/metrics.json is a DVC-cached metrics output" in (repo / "init.out").read_text()
    _first_release_and_improvement(repo, mlgit, "model", "")


def test_plain_flow_templated_pipeline(templates: dict[str, Path], tmp_path: Path, mlgit) -> None:
    repo = tmp_path / "templated"
    shutil.copytree(templates["templated"], repo, symlinks=True)
    text = _config_after_init(repo, mlgit)
    assert "  clf:\n    path: build/clf.pkl\n    metrics: [build/metrics.json]" in text
    assert "    path: build/train.csv" in text and "    path: data/raw.csv" in text
    _first_release_and_improvement(repo, mlgit, "clf", "")


def test_plain_flow_monorepo_of_sub_projects(templates: dict[str, Path], tmp_path: Path, mlgit) -> None:
    repo = tmp_path / "monorepo"
    shutil.copytree(templates["monorepo"], repo, symlinks=True)
    text = _config_after_init(repo, mlgit)
    assert not (repo / ".dvc").exists()  # no `dvc init` at the git root: each sub-project has its own
    assert '"proj_a:model":' in text and '"proj_b:model":' in text
    assert "    path: proj_b/data.csv" in text
    _first_release_and_improvement(repo, mlgit, "proj_b=model", "proj_b")
    # A stale sub-project is found by `dvc status` in its own folder.
    (repo / "proj_a/params.yaml").write_text("train:\n  threshold: 0.6\n")
    r = mlgit(repo, "check", "--json")
    assert r.code == 1
    assert any(
        f["code"] == "model.pipeline-stale" and "proj_a/dvc.yaml:train" in f["message"]
        for f in json.loads(r.out)["findings"]
    ), r.out


def _config_after_init(repo: Path, mlgit) -> str:
    r = mlgit(repo, "init")
    assert r.code == 0, r.err
    (repo / "init.out").write_text(r.out)
    assert "is a local path" in r.out and "dvc remote modify local url" in r.out
    git("rm", "-q", "--cached", "--ignore-unmatch", "init.out", cwd=repo)
    (repo / ".git/info/exclude").write_text("init.out\n")
    return (repo / "mlgit.yaml").read_text()


def _first_release_and_improvement(repo: Path, mlgit, tag_name: str, base: str) -> None:
    r = mlgit(repo, "schema", "infer")
    assert r.code == 0, r.out + r.err
    commit_all(repo, "mlgit init, schemas")
    r = mlgit(repo, "check")
    assert r.code == 0, r.out + r.err
    r = mlgit(repo, "promote")
    assert r.code == 0, r.out + r.err
    assert f"{tag_name}@v0.1.0" in _tags(repo)
    # An improving pull request: green, metrics compared with the release (read back at its commit).
    git("checkout", "-q", "-b", "better", cwd=repo)
    dvcshapes.set_threshold(repo, 0.6, base)
    commit_all(repo, "better threshold")
    r = mlgit(repo, "check")
    assert r.code == 0, r.out + r.err
    r = mlgit(repo, "metrics", "diff", "--json")
    assert r.code == 0, r.err
    rows = [v for f in json.loads(r.out)["metrics"].values() for k, v in f.items() if k == "accuracy"]
    assert {"old": 0.7, "new": 0.9, "diff": 0.2} in rows, r.out
    git("checkout", "-q", "main", cwd=repo)
    git("merge", "-q", "--no-ff", "-m", "merge better", "better", cwd=repo)
    r = mlgit(repo, "promote", "--json")
    assert r.code == 0, r.out + r.err
    assert f"{tag_name}@v0.2.0" in _tags(repo)
    # A degrading one is refused.
    git("checkout", "-q", "-b", "worse", cwd=repo)
    dvcshapes.set_threshold(repo, 0.95, base)
    commit_all(repo, "worse threshold")
    r = mlgit(repo, "check")
    assert r.code == 1, r.out
    git("checkout", "-q", "main", cwd=repo)
    git("merge", "-q", "--no-ff", "-m", "merge worse", "worse", cwd=repo)
    r = mlgit(repo, "promote")
    assert r.code == 1, r.out
    assert f"{tag_name}@v0.3.0" not in _tags(repo)


def test_cached_metrics_are_read_at_a_revision_from_the_dvc_cache(templates: dict[str, Path], tmp_path: Path) -> None:
    from mlgit.repo import metrics
    from mlgit.repo.state import RepoState

    repo = tmp_path / "cached"
    shutil.copytree(templates["cached"], repo, symlinks=True)
    first = git("rev-parse", "HEAD", cwd=repo).strip()
    dvcshapes.set_threshold(repo, 0.6)
    commit_all(repo, "better")
    assert git("ls-files", "reports", cwd=repo) == ""  # in no commit: only DVC has it
    state = RepoState(repo, "main")
    old = metrics.read(state, ["reports/metrics.json"], first, "first")
    new = metrics.read(state, ["reports/metrics.json"], git("rev-parse", "HEAD", cwd=repo).strip(), "HEAD")
    assert old.files[0].values == {"accuracy": 0.7, "loss": 0.3}
    assert new.files[0].values == {"accuracy": 0.9, "loss": 0.1}


def test_gitignored_uncached_metrics_are_refused_with_the_fix(
    templates: dict[str, Path], tmp_path: Path, mlgit
) -> None:
    # `cache: false` under a folder .gitignore hides: no commit and no DVC cache holds it.
    repo = tmp_path / "ignored"
    shutil.copytree(templates["cached"], repo, symlinks=True)
    text = (repo / "dvc.yaml").read_text()
    (repo / "dvc.yaml").write_text(
        text.replace(
            "metrics: [reports/metrics.json]", "metrics:\n      - reports/metrics.json:\n          cache: false"
        )
    )
    dvc("repro", "-q", cwd=repo)
    r = mlgit(repo, "init")
    assert r.code == 0, r.err
    assert "warning: reports/metrics.json is ignored by .gitignore and DVC does not cache it" in r.out
    commit_all(repo, "mlgit init")
    r = mlgit(repo, "promote")
    assert r.code in (1, 2), r.out + r.err  # refused: nothing at that commit to record in the lineage
    assert "reports/metrics.json is ignored by .gitignore and not tracked by DVC" in r.out + r.err
    assert git("tag", "--list", cwd=repo) == ""


def test_schema_infer_writes_what_it_can_and_names_the_dataset_not_pulled(
    templates: dict[str, Path], tmp_path: Path, mlgit
) -> None:
    repo = tmp_path / "cached"
    shutil.copytree(templates["cached"], repo, symlinks=True)
    assert mlgit(repo, "init").code == 0
    (repo / "data/prepared.csv").unlink()  # a DVC output this clone has not pulled
    r = mlgit(repo, "schema", "infer")
    assert r.code == 1, r.out + r.err
    assert "skipped prepared:" in r.out and "dvc pull" in r.out
    assert (repo / "schemas/raw.schema.yaml").is_file()
    assert not (repo / "schemas/prepared.schema.yaml").exists()
