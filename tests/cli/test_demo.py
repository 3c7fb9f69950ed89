"""`mlgit demo` (what `make demo` runs) end to end, and the wheel carrying what it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from mlgit.deploy.state import VENVS_ENV
from testing.oip import WHEEL_CACHE_ENV
from testing.repos import BIN, REPO_ROOT, git, sh


def test_demo_runs_the_whole_loop(tmp_path: Path, packaged: Path, wheel_cache: Path, deploy_venvs: Path) -> None:
    where = tmp_path / "demo"
    # `packaged` filled the session's wheel cache: the demo's bundles are built from it, not downloaded again;
    # its deploy reuses the run's venv for the same lock when another test has built it.
    env = {**os.environ, WHEEL_CACHE_ENV: str(wheel_cache), VENVS_ENV: str(deploy_venvs)}
    res = subprocess.run(
        [str(BIN / "mlgit"), "demo", "--dir", str(where)], capture_output=True, text=True, check=False, env=env
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = res.stdout
    assert "PASSED: tagged cancer-classifier@v0.1.0" in out
    assert "$ mlgit metrics diff" in out and "accuracy" in out
    assert "PASSED: tagged cancer-classifier@v0.2.0" in out and "minor: improved" in out
    assert "REJECTED:" in out and "FAIL  accuracy" in out
    assert "$ mlgit check\n" in out and "PASSED: 0 errors" in out
    assert "# mlgit report" in out or "mlgit report" in out
    assert (where / "report.html").is_file() and "<svg" in (where / "report.html").read_text()
    assert "Rolled back cancer-classifier in prod: v0.2.0 -> v0.1.0" in out
    deploy = out.split("6b. Deploy")[1].split("\n=== 7.")[0]
    served = [line.split("served by ")[1].split(":")[0] for line in deploy.splitlines() if "served by " in line]
    assert served == ["v0.1.0", "v0.2.0", "v0.1.0"]  # the served version follows the tag, rollback included
    assert "now serves v0.2.0 (was v0.1.0)" in deploy and "now serves v0.1.0 (was v0.2.0)" in deploy
    assert "drifted" in deploy and deploy.split("$ mlgit deploy status")[-1].lstrip().startswith("in-sync")
    assert "stopped cancer-classifier in prod" in deploy
    bad = out.split("A bad data batch")[1]
    assert "data.out-of-range" in bad and "data.unexpected-value" in bad and "data.missing-column" in bad
    assert "schema.column-removed" in bad
    assert "PASSED" in bad.split("clean data passing")[1]
    watch = out.split("10. Production")[1]
    assert "monitor.input-drift" in watch.split("a day of larger tumours")[1] and "mean_radius drifted" in watch
    assert "Retrain cancer-classifier (drift): retrain" in watch and "--dry-run: nothing was changed" in watch
    assert "within tolerance" in watch  # the skops model: bytes differ by object ids, predictions agree
    assert f"The demo repository is at {where / 'repo'}" in out
    repo = where / "repo"
    releases = git("tag", "--list", "cancer-classifier@*", cwd=repo).split()
    assert releases == ["cancer-classifier@v0.1.0", "cancer-classifier@v0.2.0"]
    shown = json.loads(sh(str(BIN / "gto"), "show", "--json", cwd=repo).stdout)
    assert shown["cancer-classifier"]["version"] == "v0.2.0"
    assert shown["cancer-classifier"]["stage"] == {"prod": "v0.1.0"}  # after the rollback
    assert git("status", "--porcelain", "--untracked-files=no", cwd=repo) == ""
    assert any((where / "dvc-remote").rglob("*")), "dvc push filled the local remote"
    # No pickle trust anywhere: the example saves its model with skops, which mlgit loads as data.
    # (The retrain dry run lists the steps its own job would run: that job sets it for the model it builds.)
    trusting = [ln for ln in out.splitlines() if "MLGIT_TRUSTED_ARTIFACT" in ln and "the job built" not in ln]
    assert "trust_pickle" not in (repo / "mlgit.yaml").read_text() and trusting == []
    assert "models/model.skops loads with skops" in out and "model.untrusted" not in out
    # The first release packaged, its package checked offline, one prediction served by a real server.
    served = out.split("9. The first release as a bundle")[1]
    archive = where / "dist" / "cancer-classifier-v0.1.0.tar.gz"
    assert f"archive: {archive}" in served and (archive.with_suffix(".gz.sha256")).is_file()
    assert "package.golden-match" in served and "PASSED: 0 errors" in served
    assert json.loads((where / "dist" / "cancer-classifier-v0.1.0.evaluation.json").read_text())["passed"] is True
    answer = json.loads(served.split("HTTP 200: ", 1)[1].splitlines()[0])
    assert (answer["model_name"], answer["model_version"]) == ("cancer-classifier", "v0.1.0")
    (probs,) = answer["outputs"]
    assert probs["shape"] == [1, 2] and abs(sum(probs["data"]) - 1) < 1e-9
    assert '"event": "stopped"' in served and '"accepted": 1, "answered": 1' in served


def test_demo_refuses_a_non_empty_dir(tmp_path: Path, mlgit) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    r = mlgit(tmp_path, "demo", "--dir", str(tmp_path))
    assert r.code == 2 and "not empty" in r.err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_wheel_ships_templates_and_example(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(REPO_ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mlgit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlgit/example_repo/dvc.yaml" in names
    assert any(n.startswith("mlgit/workflow_templates/") for n in names)
    assert "mlgit/cli/main.py" in names


def test_demo_without_its_extra_says_what_to_install(tmp_path: Path, mlgit, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    # A plain `pip install mlgit`: scikit-learn is not importable.
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sklearn" else real(name, *a))
    where = tmp_path / "demo"
    r = mlgit(tmp_path, "demo", "--dir", str(where))
    assert r.code == 2 and "Traceback" not in r.err
    assert "the demo's pipeline needs scikit-learn" in r.err and "pip install 'mlgit[demo]'" in r.err
    assert not where.exists()


def test_make_demo_installs_only_what_the_demo_needs(tmp_path: Path) -> None:
    res = sh("make", "-n", "demo", f"VENV={tmp_path / 'venv'}", cwd=REPO_ROOT)
    installs = [line for line in res.stdout.splitlines() if "pip install" in line]
    assert installs and all(line.endswith("-e '.[demo]'") for line in installs), installs
