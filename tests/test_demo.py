"""`mlgit demo` (what `make demo` runs) end to end, and the wheel carrying what it needs."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import BIN, REPO_ROOT, git, sh


def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    where = tmp_path / "demo"
    res = subprocess.run([str(BIN / "mlgit"), "demo", "--dir", str(where)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    out = res.stdout
    assert "PASSED: tagged cancer-classifier@v0.1.0" in out
    assert "$ mlgit metrics diff" in out and "accuracy" in out
    assert "PASSED: tagged cancer-classifier@v0.2.0" in out and "minor: improved" in out
    assert "REJECTED:" in out and "FAIL  accuracy" in out
    assert f"The demo repository is at {where / 'repo'}" in out
    repo = where / "repo"
    assert sorted(git("tag", "--list", cwd=repo).split()) == ["cancer-classifier@v0.1.0", "cancer-classifier@v0.2.0"]
    shown = json.loads(sh(str(BIN / "gto"), "show", "--json", cwd=repo).stdout)
    assert shown["cancer-classifier"]["version"] == "v0.2.0"
    assert any((where / "dvc-remote").rglob("*")), "dvc push filled the local remote"


def test_demo_refuses_a_non_empty_dir(tmp_path: Path, mlgit) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    r = mlgit(tmp_path, "demo", "--dir", str(tmp_path))
    assert r.code == 2 and "not empty" in r.err
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_wheel_ships_templates_and_example(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("mlgit-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "mlgit/example_repo/dvc.yaml" in names
    assert any(n.startswith("mlgit/workflow_templates/") for n in names)
    assert "mlgit/main.py" in names
