"""`mlgit check package`: offline install into a fresh venv, a served golden check, budgets, tampering."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from testing.oip import MODEL, folder_of

BUDGETS = ("spawn_to_ready_ms", "first_request_ms", "p50_ms", "p95_ms", "p99_ms", "peak_rss_mb")


def _copy(archive: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for path in (archive, archive.with_name(archive.name + ".sha256")):
        shutil.copyfile(path, dest / path.name)
    return dest / archive.name


def _budgets(repo: Path, value: float) -> None:
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][MODEL]["package"] = {"requests": 20, "budgets": dict.fromkeys(BUDGETS, value)}
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _check(mlgit: Any, repo: Path, bundle: Path) -> tuple[int, dict[str, Any]]:
    res = mlgit(repo, "check", "package", str(bundle), "--json")
    assert res.code in (0, 1), res.err
    return res.code, json.loads(res.out)


def test_budgets_no_machine_can_miss_pass_and_ones_none_can_meet_fail(
    released_repo: Path, packaged: Path, mlgit: Any, tmp_path: Path
) -> None:
    archive = _copy(packaged, tmp_path / "ci")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    _budgets(released_repo, 1e9)
    code, doc = _check(mlgit, released_repo, archive)
    codes = {f["code"] for f in doc["findings"]}
    assert code == 0 and doc["passed"], doc["findings"]
    assert {"package.offline", "package.golden-match", "package.timings"} <= codes
    record = json.loads((tmp_path / "ci" / f"{MODEL}-v0.1.0.evaluation.json").read_text())
    assert record["schema"] == "mlgit.evaluation/1" and record["passed"]
    assert record["bundle"] == {"sha256": digest, "model": MODEL, "version": "v0.1.0"}
    assert record["isolation"].endswith(("--no-index", "(no network namespace available)"))
    # The golden outputs above were served by the bundle installed with pip, as a user runs it (issue 14).
    assert record["entry"] == "python -m cancer_classifier"
    assert set(record["measured"]) == set(BUDGETS)
    stored = released_repo / ".git/mlgit/bundles" / f"{digest}.evaluation.json"
    assert json.loads(stored.read_text()) == record

    _budgets(released_repo, 1e-6)
    code, doc = _check(mlgit, released_repo, archive)
    failing = {f["code"]: f["message"] for f in doc["findings"] if f["severity"] == "error"}
    assert code == 1 and set(failing) == {
        "package.start-over-budget",
        "package.latency-over-budget",
        "package.memory-over-budget",
    }
    assert (
        "over the budget of 1e-06 MB (models.cancer-classifier.package.budgets.peak_rss_mb)"
        in failing["package.memory-over-budget"]
    )


def test_an_archive_with_one_byte_changed_is_refused(
    released_repo: Path, packaged: Path, mlgit: Any, tmp_path: Path
) -> None:
    archive = _copy(packaged, tmp_path / "tampered")
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    archive.write_bytes(bytes(data))
    code, doc = _check(mlgit, released_repo, archive)
    errors = [f for f in doc["findings"] if f["severity"] == "error"]
    assert code == 1 and not doc["passed"]
    assert {f["code"] for f in errors} <= {"package.integrity", "package.digest-mismatch"} and errors
    assert not any(f["code"] == "package.offline" for f in doc["findings"])  # refused before installing


def test_a_bundle_folder_with_one_byte_changed_is_refused(
    released_repo: Path, packaged: Path, mlgit: Any, tmp_path: Path
) -> None:
    folder = tmp_path / folder_of(packaged).name
    shutil.copytree(folder_of(packaged), folder)
    model = folder / "model/model.skops"
    data = bytearray(model.read_bytes())
    data[-1] ^= 0x01
    model.write_bytes(bytes(data))
    code, doc = _check(mlgit, released_repo, folder)
    assert code == 1
    [finding] = [f for f in doc["findings"] if f["severity"] == "error"]
    assert finding["code"] == "package.integrity"
    assert "model/model.skops: sha256 differs from the manifest" in finding["message"]


def test_a_consistently_rewritten_bundle_is_refused_by_the_digest_git_carries(
    released_repo: Path, mlgit: Any, tmp_path: Path
) -> None:
    from mlgit.package import archive

    res = mlgit(released_repo, "package", MODEL, "--output", str(tmp_path / "dist"), "--json")
    assert res.code == 0, res.err
    folder = tmp_path / "forged" / f"{MODEL}-v0.1.0"
    shutil.copytree(Path(json.loads(res.out)["folder"]), folder)
    model = folder / "model/model.skops"
    model.write_bytes(model.read_bytes() + b"\0")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model/model.skops"] = hashlib.sha256(model.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    forged = archive.write(folder, tmp_path / "forged.tar.gz", manifest["created"])
    code, doc = _check(mlgit, released_repo, tmp_path / "forged.tar.gz")
    [finding] = [f for f in doc["findings"] if f["severity"] == "error"]
    assert code == 1 and finding["code"] == "package.digest-mismatch"
    assert forged in finding["message"]


def test_a_bundle_whose_manifest_is_garbage_is_refused(
    released_repo: Path, packaged: Path, mlgit: Any, tmp_path: Path
) -> None:
    folder = tmp_path / folder_of(packaged).name
    shutil.copytree(folder_of(packaged), folder)
    (folder / "manifest.json").write_text('{"schema": "mlgit.bundle/1"}')
    code, doc = _check(mlgit, released_repo, folder)
    [finding] = doc["findings"]
    assert code == 1 and finding["code"] == "package.integrity" and "manifest was changed" in finding["message"]
