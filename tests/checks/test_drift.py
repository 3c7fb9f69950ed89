"""Drift: the measures themselves, and drift read from the profile committed at the base revision."""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

import pytest

from mlgit.checks import drift
from mlgit.config.settings import DriftSettings
from mlgit.data.profile import QUANTILE_POINTS, ColumnProfile, Profile
from testing.datarepo import csv_text, make_repo, rows
from testing.repos import commit_all, dvc, git


def numeric(values: list[float], name: str = "x") -> ColumnProfile:
    s = sorted(values)
    n = len(s)
    q = tuple(s[min(n - 1, round(p * (n - 1)))] for p in QUANTILE_POINTS)
    mean = sum(s) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in s) / (n - 1))
    return ColumnProfile(name, "float", n, 0, std=std, quantiles=q, sample=n)


def counts(c: dict[str, int], other: int = 0) -> ColumnProfile:
    return ColumnProfile("c", "string", sum(c.values()) + other, 0, counts=tuple(c.items()), other=other)


def gauss(n: int, mu: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mu, 1) for _ in range(n)]


def test_identical_distributions_do_not_drift() -> None:
    a = numeric(gauss(5000, 0, 1))
    for method in drift.NUMERIC_METHODS:
        m = drift._numeric(a, a, method, None)
        assert m is not None and m.value == pytest.approx(0, abs=1e-9) and not m.drifted


@pytest.mark.parametrize("method", drift.NUMERIC_METHODS)
def test_a_shift_drifts_and_sampling_noise_does_not(method: str) -> None:
    base = numeric(gauss(5000, 0, 1))
    same = drift._numeric(base, numeric(gauss(5000, 0, 2)), method, None)
    moved = drift._numeric(base, numeric(gauss(5000, 1.0, 3)), method, None)
    assert same is not None and moved is not None
    assert not same.drifted and moved.drifted
    assert moved.value > same.value


def test_defaults_are_raised_for_small_samples_only() -> None:
    small = drift._numeric(numeric(gauss(50, 0, 1)), numeric(gauss(50, 0, 2)), "psi", None)
    large = drift._numeric(numeric(gauss(50_00, 0, 1)), numeric(gauss(50_00, 0, 2)), "psi", None)
    assert small is not None and large is not None and small.auto
    assert small.threshold > 0.5 and large.threshold == 0.1
    fixed = drift._numeric(numeric(gauss(50, 0, 1)), numeric(gauss(50, 0, 2)), "psi", 0.05)
    assert fixed is not None and fixed.threshold == 0.05 and not fixed.auto


def test_categorical_measures() -> None:
    base = counts({"a": 500, "b": 500})
    moved = counts({"a": 800, "b": 200})
    linf = drift._categorical(base, moved, "linf", None)
    assert linf is not None and linf.value == pytest.approx(0.3) and linf.drifted
    chi2 = drift._categorical(base, moved, "chi2", None)
    assert chi2 is not None and chi2.value < 1e-6 and chi2.drifted
    unseen = drift._categorical(base, counts({"a": 500, "b": 400}, other=100), "jensen_shannon", None)
    assert unseen is not None and unseen.value > 0.1 and unseen.drifted
    same = drift._categorical(base, counts({"a": 510, "b": 490}), "chi2", None)
    assert same is not None and not same.drifted


def test_chi2_helpers_match_known_values() -> None:
    assert drift.chi2_sf(3.841, 1) == pytest.approx(0.05, abs=0.01)
    assert drift.chi2_quantile(1.6449, 10) == pytest.approx(18.31, rel=0.02)


def test_dataset_level_rule_and_per_column_settings() -> None:
    base = Profile("d", "p", "csv", None, 5000, (numeric(gauss(5000, 0, 1), "x"), numeric(gauss(5000, 0, 1), "y")))
    cur = Profile("d", "p", "csv", None, 5000, (numeric(gauss(5000, 2, 2), "x"), numeric(gauss(5000, 2, 3), "y")))
    settings = DriftSettings(severity="error")
    found = drift.findings("d", drift.measure(base, cur, settings), settings, "main", "s.yaml", {"x": 4})
    assert {f.code for f in found} == {"data.drift", "data.drift-detected", "data.dataset-drift"}
    assert all(f.severity == "error" for f in found if f.code != "data.drift")
    x = next(f for f in found if f.code == "data.drift" and f.column == "x")
    assert x.severity == "info" and x.line == 4 and x.data["value"] > x.data["threshold"]
    off = DriftSettings(columns=(("y", None),))
    assert [m.column for m in drift.measure(base, cur, off)] == ["x"]


@pytest.fixture
def dvc_repo(tmp_path: Path, mlgit) -> Path:
    repo = make_repo(tmp_path, {"data/t.csv": csv_text(rows(400))})
    dvc("init", "-q", cwd=repo)
    git("rm", "-q", "--cached", "data/t.csv", cwd=repo)
    dvc("add", "-q", "data/t.csv", cwd=repo)
    assert mlgit(repo, "schema", "infer").code == 0
    commit_all(repo, "data under DVC, schema and profile")
    return repo


def test_drift_is_read_from_the_committed_profile_without_old_data(dvc_repo: Path, mlgit) -> None:
    git("checkout", "-q", "-b", "new-batch", cwd=dvc_repo)
    (dvc_repo / "data/t.csv").write_text(csv_text(rows(400, seed=7, shift=1.0)))
    dvc("add", "-q", "data/t.csv", cwd=dvc_repo)
    shutil.rmtree(dvc_repo / ".dvc" / "cache")  # main's data is gone: only its committed profile remains
    res = mlgit(dvc_repo, "check", "data", "--base", "main", "--json")
    assert res.code == 0, res.out  # drift warns by default
    doc = json.loads(res.out)
    measured = {f["column"]: f for f in doc["findings"] if f["code"] == "data.drift"}
    assert set(measured) == {"x", "y", "cat", "label"}  # every value shown; the unique id is not profiled
    assert measured["x"]["data"]["drifted"] is True and measured["x"]["data"]["method"] == "psi"
    assert measured["y"]["data"]["drifted"] is False and measured["y"]["data"]["value"] >= 0
    (detected,) = [f for f in doc["findings"] if f["code"] == "data.drift-detected"]
    assert (
        detected["column"] == "x" and detected["severity"] == "warning" and detected["file"] == "schemas/t.schema.yaml"
    )
    assert "x drifted from main" in detected["message"]
    text = mlgit(dvc_repo, "check", "data", "--base", "main")
    assert "1 drifted" in text.out and "DRIFT" in text.out
    assert git("status", "--porcelain", cwd=dvc_repo) == " M data/t.csv.dvc\n"  # checking wrote nothing
    assert "mlgit check data --update-profile" in text.out  # the stale profile is named, with the way to update it
    assert mlgit(dvc_repo, "check", "data", "--base", "main", "--update-profile").code == 0
    assert " M schemas/t.profile.json" in git("status", "--porcelain", cwd=dvc_repo)  # kept current, to commit


def test_drift_severity_error_fails_the_check(dvc_repo: Path, mlgit) -> None:
    cfg = (
        (dvc_repo / "mlgit.yaml")
        .read_text()
        .replace("    format: csv\n", "    format: csv\n    drift:\n      severity: error\n")
    )
    (dvc_repo / "mlgit.yaml").write_text(cfg)
    commit_all(dvc_repo, "strict drift")
    git("checkout", "-q", "-b", "new-batch", cwd=dvc_repo)
    (dvc_repo / "data/t.csv").write_text(csv_text(rows(400, seed=7, shift=1.0)))
    res = mlgit(dvc_repo, "check", "data", "--json")
    assert res.code == 1
    assert any(f["code"] == "data.drift-detected" and f["severity"] == "error" for f in json.loads(res.out)["findings"])


def test_a_stale_profile_at_the_base_is_pointed_out(dvc_repo: Path, mlgit) -> None:
    (dvc_repo / "data/t.csv").write_text(csv_text(rows(400, seed=5)))
    dvc("add", "-q", "data/t.csv", cwd=dvc_repo)
    git("add", "data/t.csv.dvc", cwd=dvc_repo)
    git("commit", "-q", "-m", "new data, profile forgotten", cwd=dvc_repo)
    res = mlgit(dvc_repo, "check", "data", "--base", "HEAD", "--json")
    stale = [f for f in json.loads(res.out)["findings"] if f["code"] == "data.base-profile-stale"]
    assert stale and "describes other data than that revision's data/t.csv" in stale[0]["message"]


def test_no_base_branch_skips_drift_with_a_note(tmp_path: Path, mlgit) -> None:
    repo = make_repo(tmp_path, {"data/t.csv": csv_text(rows())})
    (repo / "mlgit.yaml").write_text(
        (repo / "mlgit.yaml").read_text().replace("default_branch: main", "default_branch: trunk")
    )
    assert mlgit(repo, "schema", "infer").code == 0
    # The default branch is read from the trusted mlgit.yaml (main's), never from the change's own edit...
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 0 and "data.drift-skipped" not in res.out, res.out
    # ...so once main's mlgit.yaml names a branch this clone lacks, drift is skipped with a note.
    commit_all(repo, "the default branch is trunk")
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 0
    (note,) = [f for f in json.loads(res.out)["findings"] if f["code"] == "data.drift-skipped"]
    assert "'trunk' is not in this clone" in note["message"]
