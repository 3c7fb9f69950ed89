"""`mlgit package`: a bundle built from the release commit, byte-identical however and wherever it is built."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import tomllib

from testing.oip import MODEL, folder_of, manifest_of, package
from testing.repos import commit_all, dvc, git, only_on_a_remote


def test_two_builds_are_byte_identical_and_ignore_the_work_tree(
    released_repo: Path, packaged: Path, mlgit: Any, tmp_path: Path
) -> None:
    # The work tree's model is not the release's: packaging reads the bytes DVC recorded at the release commit.
    (released_repo / "models/model.skops").write_bytes(b"not the released model")
    old = os.umask(0o077)
    try:
        first = package(mlgit, released_repo, MODEL, "--output", str(tmp_path / "one"))
    finally:
        os.umask(old)
    second = package(mlgit, released_repo, f"{MODEL}@v0.1.0", "--output", str(tmp_path / "elsewhere/two"))
    one, two = Path(first["archive"]).read_bytes(), Path(second["archive"]).read_bytes()
    assert one == two == packaged.read_bytes()
    assert first["sha256"] == second["sha256"] == hashlib.sha256(one).hexdigest()
    assert Path(first["stored"]).read_bytes() == one
    assert Path(first["stored"]).name == f"{first['sha256']}.tar.gz"
    with tarfile.open(first["archive"]) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    commit_time = int(git("show", "-s", "--format=%ct", f"{MODEL}@v0.1.0^{{commit}}", cwd=released_repo))
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(commit_time, 0, 0, "", "")}
    assert one[4:8] == b"\0\0\0\0"  # gzip header mtime


def test_a_release_whose_dvc_cache_lives_elsewhere_packages_from_it(
    released_repo: Path, mlgit: Any, tmp_path: Path
) -> None:
    # `dvc cache dir` moves the cache out of .dvc/cache: packaging asks DVC where its cache is.
    elsewhere = tmp_path / "cache-elsewhere"
    shutil.move(released_repo / ".dvc/cache", elsewhere)
    dvc("cache", "dir", "--local", str(elsewhere), cwd=released_repo)
    dvc("checkout", "-q", cwd=released_repo)
    built = package(mlgit, released_repo, MODEL, "--output", str(tmp_path / "dist"))
    doc = manifest_of(built)
    lock = git("show", f"{built['commit']}:dvc.lock", cwd=released_repo)
    md5 = doc["artifact"]["md5"]
    assert f"md5: {md5}" in lock
    recorded = (elsewhere / "files/md5" / md5[:2] / md5[2:]).read_bytes()
    assert hashlib.md5(recorded).hexdigest() == md5
    assert doc["files"][doc["artifact"]["bundled"]] == hashlib.sha256(recorded).hexdigest()
    assert not (released_repo / ".dvc/cache").exists()


def test_a_release_missing_from_the_cache_is_fetched_from_the_remote(
    released_repo: Path, mlgit: Any, tmp_path: Path
) -> None:
    # A fresh clone has no cache: DVC fetches the release's model from the configured remote.
    only_on_a_remote(released_repo, tmp_path / "remote")
    built = package(mlgit, released_repo, MODEL, "--output", str(tmp_path / "dist"))
    doc = manifest_of(built)
    md5 = doc["artifact"]["md5"]
    fetched = (released_repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).read_bytes()
    assert hashlib.md5(fetched).hexdigest() == md5
    assert doc["files"][doc["artifact"]["bundled"]] == hashlib.sha256(fetched).hexdigest()


def test_a_release_in_neither_cache_nor_remote_is_refused_with_the_fix(released_repo: Path, mlgit: Any) -> None:
    shutil.rmtree(released_repo / ".dvc/cache")
    res = mlgit(released_repo, "package", MODEL)
    assert res.code == 2, res.err
    assert "is in neither the DVC cache nor a reachable remote" in res.err
    assert "dvc fetch the release's commit, or configure the remote" in res.err
    assert "Traceback" not in res.err


def test_registry_shows_the_digest_from_the_git_note(released_repo: Path, mlgit: Any, tmp_path: Path) -> None:
    built = package(mlgit, released_repo, MODEL, "--output", str(tmp_path / "dist"))
    note = json.loads(git("notes", "--ref=mlgit-bundles", "show", built["commit"], cwd=released_repo))
    assert note[f"{MODEL}@v0.1.0"]["sha256"] == built["sha256"]
    doc = json.loads(mlgit(released_repo, "registry", MODEL, "--json").out)
    version = doc["models"][0]["versions"][0]
    assert version["bundle"] == {
        "sha256": built["sha256"],
        "python": note[f"{MODEL}@v0.1.0"]["python"],
        "platform": note[f"{MODEL}@v0.1.0"]["platform"],
    }


def test_the_bundle_holds_everything_and_a_manifest_of_its_files(packaged: Path, _released_template: Path) -> None:
    folder = folder_of(packaged)
    manifest = json.loads((folder / "manifest.json").read_text())
    tag_commit = git("rev-list", "-n1", f"{MODEL}@v0.1.0", cwd=_released_template).strip()
    assert manifest["schema"] == "mlgit.bundle/1"
    assert (manifest["model"], manifest["version"], manifest["commit"]) == (MODEL, "v0.1.0", tag_commit)
    assert manifest["lineage"]["commit"] == tag_commit and manifest["lineage"]["metrics"]
    assert manifest["artifact"]["md5"] == manifest["lineage"]["artifact"]["md5"]
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    assert all(hashlib.sha256((folder / f).read_bytes()).hexdigest() == h for f, h in manifest["files"].items())
    assert {"__main__.py", "signature.json", "golden/input.json", "golden/output.json", "model/model.skops"} <= files
    requirements = (folder / "requirements.txt").read_text().splitlines()
    names = {line.split("==")[0] for line in requirements}
    assert {"scikit-learn", "skops", "numpy"} <= names
    assert not names & {"mlgit", "dvc", "polars", "pydantic"}
    assert all(" --hash=sha256:" in line for line in requirements)
    wheels = {f.removeprefix("wheelhouse/") for f in files if f.startswith("wheelhouse/")}
    assert len(wheels) == len(requirements)
    assert manifest["python"]["tag"].startswith("cp") and manifest["platform"]
    signature = json.loads((folder / "signature.json").read_text())
    assert len(signature["inputs"]) == 30 and {t["datatype"] for t in signature["inputs"]} == {"FP64"}


def test_a_stage_names_the_version_it_holds(released_repo: Path, mlgit: Any, tmp_path: Path) -> None:
    assert mlgit(released_repo, "assign", MODEL, "staging").code == 0
    built = package(mlgit, released_repo, f"{MODEL}#staging", "--output", str(tmp_path / "dist"))
    assert built["version"] == "v0.1.0"


def test_unknown_releases_are_usage_errors_that_list_the_releases(released_repo: Path, mlgit: Any) -> None:
    res = mlgit(released_repo, "package", f"{MODEL}@v9.9.9")
    assert res.code == 2 and "releases: v0.1.0" in res.err
    res = mlgit(released_repo, "package", f"{MODEL}#prod")
    assert res.code == 2 and "no version of cancer-classifier is assigned to stage 'prod'" in res.err and "mlgit assign" in res.err
    assert mlgit(released_repo, "package", "@v1").code == 2


def test_a_release_without_a_golden_input_is_refused(released_repo: Path, mlgit: Any) -> None:
    import yaml

    path = released_repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    del data["models"][MODEL]["golden"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    # A release needs a changed input (an unchanged model is not released again): an extra, ungated metric,
    # written by hand, so the pipeline is stale and the release says it was allowed.
    metrics = released_repo / data["models"][MODEL]["metrics"][0]
    doc = json.loads(metrics.read_text())
    metrics.write_text(json.dumps({**doc, "extra_note": 1.0}) + "\n")
    commit_all(released_repo, "no golden")
    promoted = mlgit(released_repo, "promote", "--allow-stale")
    assert promoted.code == 0 and "v0.1.1" in promoted.out, promoted.out + promoted.err
    res = mlgit(released_repo, "package", MODEL)
    assert res.code == 2 and "declares no golden input" in res.err


def test_the_lock_is_a_pep_751_pylock_of_the_same_wheels(packaged: Path) -> None:
    folder = folder_of(packaged)
    text = (folder / "pylock.toml").read_text()
    doc = tomllib.loads(text)
    requirements = {
        line.split("==")[0]: (line.split("==")[1].split(" ")[0], line.rsplit("sha256:", 1)[1])
        for line in (folder / "requirements.txt").read_text().splitlines()
    }
    # The spec's structure (PEP 751), whatever packaging's version: the keys an installer reads.
    assert doc["lock-version"] == "1.0" and doc["created-by"].startswith("mlgit ")
    assert doc["requires-python"] == f"=={sys.version_info[0]}.{sys.version_info[1]}.*"
    locked = {}
    for pkg in doc["packages"]:
        (wheel,) = pkg["wheels"]
        assert wheel["path"] == f"wheelhouse/{wheel['name']}"
        data = (folder / wheel["path"]).read_bytes()
        assert wheel["size"] == len(data) and wheel["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
        locked[pkg["name"]] = (pkg["version"], wheel["hashes"]["sha256"])
    assert locked == requirements
    pylock = pytest.importorskip("packaging.pylock")
    lock = pylock.Pylock.from_dict(doc)
    # packaging's own selection (26.1+) installs exactly the locked wheels for this interpreter.
    if hasattr(lock, "select"):
        chosen = {pkg.name: dist.filename for pkg, dist in lock.select()}
        assert sorted(chosen.values()) == sorted(p.name for p in (folder / "wheelhouse").iterdir())
