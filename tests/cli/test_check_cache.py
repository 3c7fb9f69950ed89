"""`mlgit check` served from its caches says exactly what it says without them, and a change is never hidden.

Each scenario runs the check three times on one repository: with `MLGIT_NO_CACHE=1` (nothing read or written),
cold (computing and filling the caches) and warm (served from them). The warm run must not ask DVC nor load
the model again, and the three must agree on every finding, code and value; latency is the one measurement
that differs between two real runs, so it is compared between the cold and the warm run only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgit.model import artifact
from mlgit.system import process
from testing.datarepo import bad_batch
from testing.repos import commit_all, golden_csv, set_param

MODEL = "cancer-classifier"
CACHE = ".git/mlgit/checks"


def _prepare(repo: Path, mlgit: Any) -> None:
    """The demo's state: schemas inferred, a golden input, the joblib model trusted, a latency budget."""
    assert mlgit(repo, "schema", "infer").code == 0
    golden_csv(repo)
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][MODEL].update(
        trust_pickle=True,
        golden={"input": "golden/input.csv", "key": "model", "method": "predict_proba"},
        latency={"calls": 5, "p95_ms": 5000},
    )
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(repo, "schemas, golden input, trust")


def _check(mlgit: Any, repo: Path) -> tuple[int, list[dict[str, Any]]]:
    res = mlgit(repo, "check", "--json")
    assert res.code in (0, 1), res.err
    return res.code, json.loads(res.out)["findings"]


def _without_latency(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in found if f["code"] != "model.latency"]


def _asked_dvc(commands: list[tuple[str, ...]]) -> bool:
    return any(os.path.basename(c[0]) == "dvc" for c in commands)


class _Loads:
    """Counts model loads (the seconds a warm run must not spend)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        real = artifact._load

        def counted(*args: Any) -> Any:
            self.count += 1
            return real(*args)

        monkeypatch.setattr(artifact, "_load", counted)


def _three_runs(
    mlgit: Any, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[int, list[dict[str, Any]]], ...]:
    loads = _Loads(monkeypatch)
    monkeypatch.setenv("MLGIT_NO_CACHE", "1")
    before = sorted(p.name for p in (repo / CACHE).glob("*")) if (repo / CACHE).exists() else []
    uncached = _check(mlgit, repo)
    after = sorted(p.name for p in (repo / CACHE).glob("*")) if (repo / CACHE).exists() else []
    assert after == before  # MLGIT_NO_CACHE=1 writes no cache entry
    monkeypatch.delenv("MLGIT_NO_CACHE")
    cold = _check(mlgit, repo)
    loaded = loads.count
    with process.recording() as commands:
        warm = _check(mlgit, repo)
    assert not _asked_dvc(commands), commands  # the pipeline status came from the cache
    assert loads.count == loaded  # so did loading the model and its golden predictions
    return uncached, cold, warm


def _clean(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pass


def _bad_batch_and_stale_params(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad_batch(repo / "data/raw/breast_cancer.csv")
    set_param(repo, "C", "0.5")


def _broken_model_built_here(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(artifact.TRUST_ENV, "1")
    (repo / "models/model.joblib").write_bytes(b"not a joblib file")


def _untrusted_model(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "models/model.joblib").write_bytes(b"changed by the pull request")


SCENARIOS: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "clean": _clean,
    "bad batch and stale params": _bad_batch_and_stale_params,
    "broken model built in this run": _broken_model_built_here,
    "untrusted model": _untrusted_model,
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_same_findings_with_and_without_caches(
    scenario: str, joblib_repo: Path, mlgit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _prepare(joblib_repo, mlgit)
    SCENARIOS[scenario](joblib_repo, monkeypatch)
    (code_u, uncached), (code_c, cold), (code_w, warm) = _three_runs(mlgit, joblib_repo, monkeypatch)
    assert code_u == code_c == code_w
    assert warm == cold
    assert _without_latency(uncached) == _without_latency(cold)
    found = {f["code"] for f in warm}
    expected = {
        "clean": {"model.predicts", "model.latency"},
        "bad batch and stale params": {"data.out-of-range", "schema.column-removed", "model.pipeline-stale"},
        "broken model built in this run": {"model.load-failed"},
        "untrusted model": {"model.untrusted-pickle"},
    }[scenario]
    assert expected <= found, sorted(found)


def test_a_changed_model_and_changed_pipeline_inputs_get_every_check(
    joblib_repo: Path, mlgit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = joblib_repo
    _prepare(repo, mlgit)
    monkeypatch.setenv(artifact.TRUST_ENV, "1")
    code, warm = _check(mlgit, repo)
    assert code == 0 and "model.pipeline-stale" not in {f["code"] for f in warm}
    assert _check(mlgit, repo) == (code, warm)  # warm

    # The model rewritten in place with other bytes of the same size and the same mtime: still checked.
    model = repo / "models/model.joblib"
    st, original = model.stat(), model.read_bytes()
    model.write_bytes(b"x" * st.st_size)
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, found = _check(mlgit, repo)
    assert code == 1
    (failed,) = [f for f in found if f["code"] == "model.load-failed"]
    assert failed["message"].startswith("models/model.joblib does not load with joblib")
    monkeypatch.setenv("MLGIT_NO_CACHE", "1")
    assert _without_latency(_check(mlgit, repo)[1]) == _without_latency(found)
    monkeypatch.delenv("MLGIT_NO_CACHE")
    model.write_bytes(original)
    assert _check(mlgit, repo) == (0, warm)  # the first answer again

    # A pipeline dependency edited: its stage is stale.
    script = repo / "src/train.py"
    text = script.read_text()
    script.write_text(text + "# edited\n")
    _, found = _check(mlgit, repo)
    assert [f["data"]["stage"] for f in found if f["code"] == "model.pipeline-stale"] == ["train"]

    # Put back, then a params edit: that stage's staleness is seen.
    script.write_text(text)
    set_param(repo, "threshold", "0.4")
    _, found = _check(mlgit, repo)
    assert [f["data"]["stage"] for f in found if f["code"] == "model.pipeline-stale"] == ["evaluate"]
