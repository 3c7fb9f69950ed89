"""Models stored as DVC directory outputs (`.dir`): packaged whole, every file md5-checked, served from the bundle."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from testing.oip import MODEL, manifest_of, package
from testing.repos import FIXED_ENV, commit_all, dvc, golden_csv, only_on_a_remote

FOLDER = "models/clf"
FILE_MODEL = "clf-file"  # a second model: the skops file inside the same DVC-tracked folder


def _to_folder_model(repo: Path) -> None:
    """The example's train stage writes a folder (the model plus its feature list) as one DVC output."""
    for rel, edits in {
        "dvc.yaml": (("models/model.skops", FOLDER),),
        "src/train.py": (
            ('MODEL_PATH = Path("models/model.skops")', f'MODEL_PATH = Path("{FOLDER}/model.skops")'),
            (
                "    sio.dump(",
                "    (MODEL_PATH.parent / 'features.json').parent.mkdir(parents=True, exist_ok=True)\n"
                "    (MODEL_PATH.parent / 'features.json').write_text(__import__('json').dumps(features))\n"
                "    sio.dump(",
            ),
        ),
        "src/evaluate.py": (('MODEL_PATH = Path("models/model.skops")', f'MODEL_PATH = Path("{FOLDER}/model.skops")'),),
    }.items():
        text = (repo / rel).read_text()
        for old, new in edits:
            assert old in text, (rel, old)
            text = text.replace(old, new)
        (repo / rel).write_text(text)


@pytest.fixture(scope="module")
def _released_folder(
    _example_template: Path, _git_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """The example with a folder model and a second model for the file inside it, both released (built once)."""
    repo = tmp_path_factory.mktemp("folder-model") / "repo"
    shutil.copytree(_example_template, repo, symlinks=True)
    with pytest.MonkeyPatch.context() as mp:
        for key, value in {**FIXED_ENV, "GIT_CONFIG_GLOBAL": str(_git_config)}.items():
            mp.setenv(key, value)
        _to_folder_model(repo)
        dvc("repro", "-q", cwd=repo)
        golden = {"input": golden_csv(repo), "key": "model", "method": "predict_proba"}
        path = repo / "mlgit.yaml"
        data = yaml.safe_load(path.read_text())
        model = data["models"][MODEL]
        model.update(path=FOLDER, golden=golden)
        data["models"][FILE_MODEL] = {**model, "path": f"{FOLDER}/model.skops"}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        commit_all(repo, "the model is a folder")
        res = subprocess.run([sys.executable, "-m", "mlgit", "promote"], cwd=repo, capture_output=True, text=True)
        assert res.returncode == 0, res.stdout + res.stderr
        yield repo


@pytest.fixture
def released(_released_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheel_cache: Path) -> Path:
    dest = tmp_path / "released"
    shutil.copytree(_released_folder, dest, symlinks=True)
    monkeypatch.setenv("MLGIT_WHEEL_CACHE", str(wheel_cache))
    return dest


def _listing(repo: Path, md5: str) -> dict[str, str]:
    raw = (repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).read_text()
    return {e["relpath"]: e["md5"] for e in json.loads(raw)}


def test_a_folder_model_is_checked_packaged_whole_and_served(
    released: Path, mlgit: Any, tmp_path: Path, packaged: Path
) -> None:
    res = mlgit(released, "check", "model", MODEL, "--json")
    found = {f["code"]: f for f in json.loads(res.out)["findings"]}
    assert found["model.loads"]["message"] == f"{FOLDER}/model.skops loads with skops"
    assert found["model.predicts"]["data"]["shape"] == [5, 2]

    # The work tree's folder is not the release's: packaging reads the bytes DVC recorded at the release.
    (released / FOLDER / "features.json").write_text("[]")
    built = package(mlgit, released, MODEL, "--output", str(tmp_path / "dist"))
    folder = Path(built["folder"])
    manifest = manifest_of(built)
    md5 = manifest["artifact"]["md5"]
    assert md5.endswith(".dir") and manifest["artifact"]["bundled"] == "model/clf/model.skops"
    listing = _listing(released, md5)
    assert set(listing) == {"model.skops", "features.json"}
    for rel, want in listing.items():
        assert hashlib.md5((folder / "model/clf" / rel).read_bytes()).hexdigest() == want
    assert json.loads((folder / "model/clf/features.json").read_text())[0] == "mean_radius"
    assert json.loads((folder / "signature.json").read_text())["file"] == "model/clf/model.skops"
    # The same predictions as the single-file bundle of the same pipeline (the example's own release).
    single = packaged.with_name(packaged.name.removesuffix(".tar.gz"))
    assert (folder / "golden/output.json").read_text() == (single / "golden/output.json").read_text()
    batch = tmp_path / "batch.csv"
    batch.write_text((released / "golden/input.csv").read_text())
    out = subprocess.run([sys.executable, str(folder), "predict", str(batch)], capture_output=True, text=True, check=True)
    assert len(out.stdout.strip().splitlines()) == 5


def test_a_file_inside_a_tracked_folder_is_packaged_from_the_folders_listing(
    released: Path, mlgit: Any, tmp_path: Path
) -> None:
    built = package(mlgit, released, FILE_MODEL, "--output", str(tmp_path / "dist"))
    folder = Path(built["folder"])
    manifest = manifest_of(built)
    assert manifest["artifact"]["bundled"] == "model/model.skops" and not (folder / "model/features.json").exists()
    lock = yaml.safe_load((released / "dvc.lock").read_text())
    (out,) = [o for o in lock["stages"]["train"]["outs"] if o["path"] == FOLDER]
    assert manifest["artifact"]["md5"] == _listing(released, out["md5"])["model.skops"]


def test_a_folder_model_missing_from_the_cache_is_fetched_from_the_remote(
    released: Path, mlgit: Any, tmp_path: Path
) -> None:
    only_on_a_remote(released, tmp_path / "remote")
    built = package(mlgit, released, MODEL, "--output", str(tmp_path / "dist"))
    folder = Path(built["folder"])
    md5 = manifest_of(built)["artifact"]["md5"]
    for rel, want in _listing(released, md5).items():
        assert hashlib.md5((folder / "model/clf" / rel).read_bytes()).hexdigest() == want


def test_a_folder_without_one_model_file_is_refused_with_the_fix(released: Path, mlgit: Any) -> None:
    (released / FOLDER / "second.skops").write_bytes((released / FOLDER / "model.skops").read_bytes())
    res = mlgit(released, "check", "model", MODEL, "--json")
    (finding,) = [f for f in json.loads(res.out)["findings"] if f["code"] == "model.loader-unknown"]
    assert f"{FOLDER} is a folder without exactly one model file" in finding["message"]
    assert f"point models.{MODEL}.path at the file to load" in finding["message"]


@pytest.mark.parametrize("relpath", ["../outside.skops", "/etc/passwd", "a/../../b", ""])
def test_a_folder_listing_naming_a_path_outside_the_folder_is_refused(tmp_path: Path, relpath: str) -> None:
    from mlgit.errors import MlgitError
    from mlgit.package import bundle

    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    raw = json.dumps([{"md5": "0" * 32, "relpath": relpath}]).encode()
    md5 = hashlib.md5(raw).hexdigest() + ".dir"
    cached = tmp_path / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    cached.parent.mkdir(parents=True)
    cached.write_bytes(raw)
    with pytest.raises(MlgitError, match="outside the folder"):
        bundle._dir_listing(tmp_path, "0" * 40, FOLDER, md5)
