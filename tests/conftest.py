"""Shared fixtures: real git and DVC repositories built in temp dirs, with a fixed identity and dates."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlgit.cli.main import main
from testing.oip import MODEL, WHEEL_CACHE_ENV
from testing.repos import (  # noqa: F401 - re-exported for older imports
    BIN,
    EXAMPLE,
    FIXED_ENV,
    METRICS_YAML,
    REPO_ROOT,
    Result,
    build_example,
    build_small,
    commit_all,
    dvc,
    git,
    golden_csv,
    set_param,
    sh,
    use_joblib,
)


@pytest.fixture(scope="session")
def _git_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = tmp_path_factory.mktemp("gitconfig") / "config"
    cfg.write_text('[init]\n\tdefaultBranch = main\n[protocol "file"]\n\tallow = always\n')
    return cfg


def _run_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temp folder of the whole run: under xdist each worker's basetemp is a child of it."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], object]) -> Path:
    """`build(NAME/repo)` done by the first xdist worker that asks; the others wait for it, then reuse it.

    For templates the tests only copy or read: each took a worker tens of seconds (a DVC pipeline run, a
    release). A build that failed part way left no `.done` mark and is started again from scratch.
    """
    root = _run_tmp(tmp_path_factory) / "built-once"
    root.mkdir(parents=True, exist_ok=True)
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # released when the file closes, also if this worker dies
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder / "repo")
            done.touch()
    return folder / "repo"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, _git_config: Path, tmp_path: Path) -> None:
    for key in list(os.environ):
        if key.startswith("GIT_") or key.startswith("GITHUB_") or key.startswith("GITLAB_") or key.startswith("CI_"):
            monkeypatch.delenv(key)
    for key, value in FIXED_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(_git_config))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".xdg-cache"))
    # The example pipeline runs `python src/...`: it must be this interpreter.
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def mlgit(capsys: pytest.CaptureFixture[str]) -> Iterator[object]:
    """Call the CLI in-process: `mlgit(repo, "promote", "--json")` -> Result."""

    def call(repo: Path, *args: str) -> Result:
        capsys.readouterr()
        try:
            code = main(["-C", str(repo), *args])
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    yield call


@pytest.fixture(scope="session")
def _small_template(tmp_path_factory: pytest.TempPathFactory, _git_config: Path) -> Path:
    return build_small(tmp_path_factory.mktemp("small") / "repo", _git_config, with_dvc=True)


@pytest.fixture(scope="session")
def _git_template(tmp_path_factory: pytest.TempPathFactory, _git_config: Path) -> Path:
    return build_small(tmp_path_factory.mktemp("plain") / "repo", _git_config, with_dvc=False)


@pytest.fixture
def git_repo(_git_template: Path, tmp_path: Path) -> Path:
    """small_repo's files in a plain git repository (no DVC): for tests of logic that needs no DVC binary."""
    dest = tmp_path / "repo"
    shutil.copytree(_git_template, dest, symlinks=True)
    return dest


@pytest.fixture
def small_repo(_small_template: Path, tmp_path: Path) -> Path:
    """A git repo with mlgit.yaml, a metrics file, params and a DVC-tracked table (no pipeline run)."""
    dest = tmp_path / "repo"
    shutil.copytree(_small_template, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def _example_template(tmp_path_factory: pytest.TempPathFactory, _git_config: Path) -> Path:
    """example_repo after git init, dvc init, dvc repro and mlgit init, committed on main (built once)."""
    return _built_once(tmp_path_factory, "example", lambda repo: build_example(repo, _git_config, joblib=False))


@pytest.fixture(scope="session")
def _joblib_template(tmp_path_factory: pytest.TempPathFactory, _git_config: Path) -> Path:
    """The same, with the pipeline saving its model as a joblib pickle (models/model.joblib)."""
    return _built_once(tmp_path_factory, "example-joblib", lambda repo: build_example(repo, _git_config, joblib=True))


@pytest.fixture
def joblib_repo(_joblib_template: Path, tmp_path: Path) -> Path:
    """A private copy of the prepared example repository whose model is a joblib pickle (pickle-trust tests)."""
    dest = tmp_path / "example-joblib"
    shutil.copytree(_joblib_template, dest, symlinks=True)
    return dest


@pytest.fixture
def example_repo(_example_template: Path, tmp_path: Path) -> Path:
    """A private copy of the prepared example repository."""
    dest = tmp_path / "example"
    shutil.copytree(_example_template, dest, symlinks=True)
    return dest


# -- released models and their bundles (mlgit package / serve / check package) ---------------------------------


def _session_env(git_config: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **FIXED_ENV,
        "GIT_CONFIG_GLOBAL": str(git_config),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        **extra,
    }


@pytest.fixture(scope="session")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One wheel cache for the session: the bundle's wheels are downloaded once, then copied."""
    return tmp_path_factory.mktemp("wheels")


@pytest.fixture(scope="session")
def deploy_venvs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`$MLGIT_DEPLOY_VENVS` for the run: a bundle's locked venv is built once, by whichever test deploys first.

    Shared by every worker: mlgit builds each venv aside and renames it into place, so workers racing to
    build the same one both succeed and later deploys reuse it. Not shared between runs, so each run
    still builds one.
    """
    return _run_tmp(tmp_path_factory) / "deploy-venvs"


@pytest.fixture(scope="session")
def _released_template(_example_template: Path, tmp_path_factory: pytest.TempPathFactory, _git_config: Path) -> Path:
    """The example repository with a golden input and its first release (v0.1.0); its model is a skops file."""

    def build(repo: Path) -> None:
        shutil.copytree(_example_template, repo, symlinks=True)
        _with_golden_input(repo)
        env = _session_env(_git_config)
        for args in (
            ("git", "add", "-A"),
            ("git", "commit", "-q", "-m", "golden input"),
            (sys.executable, "-m", "mlgit", "promote"),
        ):
            subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)

    return _built_once(tmp_path_factory, "released", build)


def _with_golden_input(repo: Path) -> None:
    """Five test rows as the model's golden input, declared in mlgit.yaml."""
    import yaml

    golden_csv(repo)
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][MODEL].update(golden={"input": "golden/input.csv", "key": "model", "method": "predict_proba"})
    path.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture
def released_repo(_released_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheel_cache: Path) -> Path:
    """A private copy of the released example repository, packaging from the session's wheel cache."""
    dest = tmp_path / "released"
    shutil.copytree(_released_template, dest, symlinks=True)
    monkeypatch.setenv(WHEEL_CACHE_ENV, str(wheel_cache))
    return dest


@pytest.fixture(scope="session")
def packaged(
    _released_template: Path, tmp_path_factory: pytest.TempPathFactory, _git_config: Path, wheel_cache: Path
) -> Path:
    """The release's archive, built once by `mlgit package` in a copy of the released repository."""
    base = tmp_path_factory.mktemp("packaged")
    repo = base / "repo"
    shutil.copytree(_released_template, repo, symlinks=True)
    env = _session_env(_git_config, **{WHEEL_CACHE_ENV: str(wheel_cache)})
    args = (sys.executable, "-m", "mlgit", "package", MODEL, "--output", str(base / "dist"))
    subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)
    return base / "dist" / f"{MODEL}-v0.1.0.tar.gz"


@pytest.fixture(scope="session")
def bundle_python(packaged: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding only the bundle's locked requirements, installed offline from its wheelhouse."""
    venv = tmp_path_factory.mktemp("bundle-venv") / "venv"
    subprocess.run((sys.executable, "-m", "venv", "--without-pip", str(venv)), check=True)
    folder = packaged.with_name(packaged.name.removesuffix(".tar.gz"))
    pip = [sys.executable, "-m", "pip", "--isolated", "--python", str(venv / "bin" / "python"), "install", "-q"]
    pip += [
        "--no-index",
        "--find-links",
        str(folder / "wheelhouse"),
        "--require-hashes",
        "-r",
        str(folder / "requirements.txt"),
    ]
    subprocess.run(pip, check=True, capture_output=True, env={**os.environ, "PIP_CONFIG_FILE": os.devnull})
    return venv / "bin" / "python"


# -- a release with committed data profiles (mlgit monitor / retrain) ---------------------------------------------

@pytest.fixture(scope="session")
def _monitored_template(_example_template: Path, tmp_path_factory: pytest.TempPathFactory, _git_config: Path) -> Path:
    """The example repository with schemas and profiles committed, released as v0.1.0."""

    def build(repo: Path) -> None:
        shutil.copytree(_example_template, repo, symlinks=True)
        _with_golden_input(repo)
        env = _session_env(_git_config)
        for args in (
            (sys.executable, "-m", "mlgit", "schema", "infer"),
            ("git", "add", "-A"),
            ("git", "commit", "-q", "-m", "schemas and profiles"),
            (sys.executable, "-m", "mlgit", "promote"),
        ):
            subprocess.run(args, cwd=repo, env=env, check=True, capture_output=True)

    return _built_once(tmp_path_factory, "monitored", build)


@pytest.fixture
def monitored(_monitored_template: Path, tmp_path: Path) -> Path:
    """A private copy of the monitored repository."""
    dest = tmp_path / "monitored"
    shutil.copytree(_monitored_template, dest, symlinks=True)
    return dest
