"""The pipeline check: each stale stage as a warning tied to its entry in dvc.lock (no DVC binary needed)."""

from __future__ import annotations

from pathlib import Path

from mlgit.checks.pipeline import stale_findings

DVC_YAML = "stages:\n  prepare:\n    cmd: 'true'\n  train:\n    foreach: [a, b]\n    do:\n      cmd: 'true'\n"
DVC_LOCK = (
    "schema: '2.0'\nstages:\n  prepare:\n    cmd: 'true'\n  train@a:\n    cmd: 'true'\n  train@b:\n    cmd: 'true'\n"
)


def test_stale_stages_point_at_their_dvc_lock_entries(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for folder in (tmp_path, tmp_path / "sub"):
        (folder / "dvc.yaml").write_text(DVC_YAML)
        (folder / "dvc.lock").write_text(DVC_LOCK)
    (tmp_path / "data.csv.dvc").write_text("outs:\n- md5: abc\n  path: data.csv\n")
    stale = {"prepare": ["deps: changed"], "sub/dvc.yaml:train@b": [], "data.csv.dvc": ["outs: modified"]}
    found = stale_findings(tmp_path, stale)
    assert [(f.code, f.subject, f.file, f.line) for f in found] == [
        ("pipeline.stale", "prepare", "dvc.lock", 3),
        ("pipeline.stale", "sub/dvc.yaml:train@b", "sub/dvc.lock", 7),
        ("pipeline.stale", "data.csv.dvc", "data.csv.dvc", None),
    ]
    assert found[0].message == (
        "stage 'prepare' is stale (deps: changed): the committed outputs and metrics may not match the code; "
        "run 'dvc repro' and commit"
    )
    assert "(changed)" in found[1].message and found[2].data == {"reasons": ["outs: modified"]}


def test_a_stage_without_its_dvc_lock_has_no_location_and_unknown_status_warns(tmp_path: Path) -> None:
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    (found,) = stale_findings(tmp_path, {"prepare": ["always changed"]})
    assert (found.file, found.line) == (None, None)
    (unknown,) = stale_findings(tmp_path, None)
    assert (unknown.code, unknown.severity.value) == ("pipeline.status-unknown", "warning")
    assert stale_findings(tmp_path, {}) == []
