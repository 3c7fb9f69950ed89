"""The artifact checks: loading (skops, ONNX, trusted pickles only), golden input, determinism, size, latency."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from mlgit.model.artifact import percentile, read_table
from testing import envs
from testing.repos import REPO_ROOT, commit_all, git

GOLDEN = "f1,f2,f3\n0.1,0.2,0.3\n0.9,0.8,0.7\n0.5,0.1,0.9\n0.3,0.6,0.2\n"


class MyLR(LogisticRegression):
    """A custom estimator type: skops does not trust it by default."""


class Payload:
    """Unpickling this creates a directory: proof that a file was (or was not) unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Small scikit-learn models saved with skops and ONNX (trained once for the module)."""
    import numpy as np
    import skops.io as sio
    from skl2onnx import to_onnx
    from sklearn.dummy import DummyClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folder = tmp_path_factory.mktemp("models")
    rng = np.random.RandomState(0)
    x = rng.rand(60, 3)
    y = (x[:, 0] + x[:, 2] > 1).astype(int)
    sio.dump(make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y), folder / "clf.skops")
    sio.dump(DummyClassifier(strategy="uniform").fit(x, y), folder / "random.skops")
    sio.dump(MyLR().fit(x, y), folder / "custom.skops")
    lr = LogisticRegression().fit(x.astype(np.float32), y)
    onx = to_onnx(lr, x[:1].astype(np.float32), options={id(lr): {"zipmap": False}})
    (folder / "clf.onnx").write_bytes(onx.SerializeToString())
    (folder / "garbage.skops").write_bytes(b"this is not a zip file")
    return folder


def setup_model(repo: Path, models: Path, name: str, dest: str | None = None, **keys: Any) -> None:
    """Put a model file in the repo, point mlgit.yaml's model at it and set model keys."""
    dest = dest or f"models/{name}"
    (repo / dest).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(models / name, repo / dest)
    (repo / "golden.csv").write_text(GOLDEN)
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    model = data["models"]["clf"]
    model["path"] = dest
    model.update(keys)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def check(mlgit: Any, repo: Path) -> tuple[int, dict[str, dict[str, Any]]]:
    """Exit code and findings by code (the last one of each code)."""
    res = mlgit(repo, "check", "model", "--json")
    assert res.code in (0, 1), res.err
    return res.code, {f["code"]: f for f in json.loads(res.out)["findings"]}


def test_skops_model_loads_predicts_and_is_timed(small_repo: Path, models: Path, mlgit: Any) -> None:
    setup_model(
        small_repo,
        models,
        "clf.skops",
        max_size_mb=1,
        golden={"input": "golden.csv", "output": {"type": "int", "shape": [4], "min": 0, "max": 1}},
        latency={"calls": 5, "p50_ms": 10000, "p95_ms": 10000},
    )
    code, found = check(mlgit, small_repo)
    assert code == 0, found
    assert found["model.loads"]["message"] == "models/clf.skops loads with skops"
    assert "(budget 1 MB)" in found["model.artifact-size"]["message"]
    assert found["model.predicts"]["message"].startswith("predicts on golden.csv (4 rows): int64 array of shape (4,)")
    assert found["model.latency"]["data"]["calls"] == 5
    assert "budget p50 <= 10000 ms, p95 <= 10000 ms" in found["model.latency"]["message"]


def test_latency_over_budget_fails_and_shows_the_measurement(small_repo: Path, models: Path, mlgit: Any) -> None:
    setup_model(
        small_repo, models, "clf.skops", golden={"input": "golden.csv"}, latency={"calls": 3, "p50_ms": 0.000001}
    )
    code, found = check(mlgit, small_repo)
    assert code == 1
    slow = found["model.too-slow"]
    assert slow["data"]["percentile"] == "p50"
    assert slow["message"].startswith("p50 latency ") and "over the budget of 1e-06 ms" in slow["message"]
    assert found["model.latency"]["data"]["p50_ms"] == slow["data"]["measured_ms"]


def test_nondeterministic_model_is_reported(small_repo: Path, models: Path, mlgit: Any) -> None:
    big = "f1,f2,f3\n" + "0.5,0.5,0.5\n" * 64  # 64 coin flips: two identical runs are out of reach
    setup_model(small_repo, models, "random.skops", golden={"input": "golden.csv"})
    (small_repo / "golden.csv").write_text(big)
    code, found = check(mlgit, small_repo)
    assert code == 1
    assert "two predictions on golden.csv differ" in found["model.nondeterministic"]["message"]


def test_skops_untrusted_types_are_named_and_can_be_declared(small_repo: Path, models: Path, mlgit: Any) -> None:
    setup_model(small_repo, models, "custom.skops", golden={"input": "golden.csv"})
    code, found = check(mlgit, small_repo)
    assert code == 1
    (name,) = found["model.untrusted-types"]["data"]["types"]
    assert name.endswith("MyLR")
    assert "list them under models.clf.trusted_types" in found["model.untrusted-types"]["message"]
    setup_model(small_repo, models, "custom.skops", golden={"input": "golden.csv"}, trusted_types=[name])
    # Trusted types widen what skops loads: a change's own list applies only once it is on the default branch.
    code, found = check(mlgit, small_repo)
    assert "this change's own list applies once merged" in found["model.untrusted-types"]["message"]
    assert found["model.untrusted-types"]["severity"] == "warning" and code == 0
    assert found["model.untrusted-settings"]["data"]["ignored"] == ["clf: trusted_types"]
    git("commit", "-q", "-m", "trust MyLR", "mlgit.yaml", cwd=small_repo)
    code, found = check(mlgit, small_repo)
    assert "model.untrusted-types" not in found
    assert "model.predicts" in found


def test_onnx_model_predicts_by_output_name(small_repo: Path, models: Path, mlgit: Any) -> None:
    spec = {"type": "float", "shape": [None, 2], "min": 0, "max": 1}
    setup_model(
        small_repo, models, "clf.onnx", golden={"input": "golden.csv", "method": "probabilities", "output": spec}
    )
    code, found = check(mlgit, small_repo)
    assert code == 0, found
    assert found["model.loads"]["message"] == "models/clf.onnx loads with onnx"
    assert found["model.predicts"]["data"] == {"shape": [4, 2], "dtype": "float32"}
    setup_model(small_repo, models, "clf.onnx", golden={"input": "golden.csv", "method": "nope"})
    code, found = check(mlgit, small_repo)
    assert "the ONNX graph's outputs are: label, probabilities" in found["model.predict-failed"]["message"]


@pytest.mark.parametrize(("model", "module"), [("clf.skops", "skops"), ("clf.onnx", "onnxruntime")])
def test_missing_loader_names_the_extra(
    small_repo: Path, models: Path, tmp_path: Path, model: str, module: str
) -> None:
    # A whole process in an environment where the package is not installed, as after a plain `pip install mlgit`.
    command, env = envs.without(tmp_path / "env", module)
    setup_model(small_repo, models, model)
    res = subprocess.run(
        [*command, "-C", str(small_repo), "check", "model", "--json"], env=env, capture_output=True, text=True
    )
    assert res.returncode == 1, res.stderr
    found = {f["code"]: f for f in json.loads(res.stdout)["findings"]}
    msg = found["model.loader-missing"]["message"]
    assert f"needs the '{module}' package" in msg and "pip install 'mlgit[models]'" in msg


def test_garbage_file_is_a_load_failure(small_repo: Path, models: Path, mlgit: Any) -> None:
    setup_model(small_repo, models, "garbage.skops")
    code, found = check(mlgit, small_repo)
    assert code == 1
    assert found["model.load-failed"]["message"].startswith("models/garbage.skops does not load with skops: ")


def test_size_budget(small_repo: Path, models: Path, mlgit: Any) -> None:
    setup_model(small_repo, models, "clf.skops", max_size_mb=0.0001)
    code, found = check(mlgit, small_repo)
    assert code == 1
    assert "the budget is 0.0001 MB (max_size_mb)" in found["model.artifact-too-large"]["message"]


def test_loader_from_config_or_extension(small_repo: Path, models: Path, mlgit: Any) -> None:
    setup_model(small_repo, models, "clf.skops", dest="models/model.bin")
    code, found = check(mlgit, small_repo)
    assert code == 1
    assert "declare models.clf.loader (skops, onnx, joblib or pickle)" in found["model.loader-unknown"]["message"]
    setup_model(small_repo, models, "clf.skops", dest="models/model.bin", loader="skops")
    _, found = check(mlgit, small_repo)
    assert found["model.loads"]["message"] == "models/model.bin loads with skops"


def test_golden_input_missing_or_malformed(small_repo: Path, models: Path, mlgit: Any) -> None:
    setup_model(small_repo, models, "clf.skops", golden={"input": "inputs/none.csv"})
    _, found = check(mlgit, small_repo)
    assert found["model.golden-missing"]["file"] == "inputs/none.csv"
    setup_model(small_repo, models, "clf.skops", golden={"input": "golden.csv"})
    (small_repo / "golden.csv").write_text("f1,f2,f3\n0.1,0.2\n")
    _, found = check(mlgit, small_repo)
    assert found["model.golden-invalid"]["message"] == "golden.csv:2: 2 fields, the header has 3"
    # Records in JSON work as well as CSV.
    (small_repo / "golden.json").write_text(json.dumps([{"f1": 0.1, "f2": 0.2, "f3": 0.3}]))
    setup_model(small_repo, models, "clf.skops", golden={"input": "golden.json", "output": {"shape": [1]}})
    _, found = check(mlgit, small_repo)
    assert "model.predicts" in found


@pytest.mark.parametrize("kind", ["pickle", "joblib"])
def test_untrusted_pickle_is_never_unpickled(small_repo: Path, mlgit: Any, tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "unpickled"
    path = small_repo / ("model.pkl" if kind == "pickle" else "model.joblib")
    if kind == "pickle":
        path.write_bytes(pickle.dumps(Payload(marker)))
    else:
        import joblib

        joblib.dump(Payload(marker), path)
    data = yaml.safe_load((small_repo / "mlgit.yaml").read_text())
    data["models"]["clf"]["path"] = path.name
    (small_repo / "mlgit.yaml").write_text(yaml.safe_dump(data))
    # Not opted in: a warning (nothing is said against the model), the file is not loaded.
    _, found = check(mlgit, small_repo)
    assert found["model.untrusted-pickle"]["severity"] == "warning"
    assert "model.loads" not in found
    msg = found["model.untrusted-pickle"]["message"]
    assert "trust_pickle is not set" in msg and "set 'trust_pickle: true'" in msg
    loader = "pickle" if kind == "pickle" else "joblib"
    vouchers = (
        "the bytes the default branch records (its tip, or where this branch forked from it), the model's last "
        "release, or the release the gate compares with"
    )
    assert msg == (
        f"{path.name} was not loaded (artifact checks skipped): unpickling ({loader}) can run arbitrary code, and "
        "models.clf.trust_pickle is not set in mlgit.yaml on the default branch (main).\n"
        "To opt in, set 'trust_pickle: true' on the model in the default branch's mlgit.yaml (a change cannot set "
        f"it for itself): mlgit then unpickles the file only when it is identical to {vouchers}, or when "
        "MLGIT_TRUSTED_ARTIFACT=1 says this CI job built it itself.\n"
        "Safer: save the model with skops (skops.io.dump) or export it to ONNX."
    )
    readme = " ".join((REPO_ROOT / "README.md").read_text().split())
    assert f"identical to {vouchers}" in readme  # the README's Safe loading says what the message says
    assert not marker.exists()
    # Opted in, but the file is new in this change (main holds another model.pkl, or none).
    data["models"]["clf"]["trust_pickle"] = True
    (small_repo / "mlgit.yaml").write_text(yaml.safe_dump(data))
    git("commit", "-q", "-m", "opt in on main", "mlgit.yaml", cwd=small_repo)
    _, found = check(mlgit, small_repo)
    assert "comes from the change under review" in found["model.untrusted-pickle"]["message"]
    assert found["model.untrusted-pickle"]["message"] == (
        f"{path.name} was not loaded (artifact checks skipped): unpickling ({loader}) can run arbitrary code, and "
        "trust_pickle is set, but this file differs from the one on the default branch (main) (its tip, or where "
        "this branch forked from it), from the model's last release and from the release the gate compares with "
        "(it comes from the change under review), and MLGIT_TRUSTED_ARTIFACT=1 does not say this CI job built it.\n"
        "It is loaded once the change is merged (the default branch then records these bytes), or in a CI job "
        "that rebuilt it itself (dvc repro) and sets MLGIT_TRUSTED_ARTIFACT=1.\n"
        "Safer: save the model with skops (skops.io.dump) or export it to ONNX."
    )
    assert "model.loads" not in found
    assert not marker.exists()


def test_trusted_pickle_is_loaded(
    small_repo: Path, mlgit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The positive controls: the same kind of file IS unpickled once it is trusted.
    marker = tmp_path / "unpickled"
    (small_repo / "model.pkl").write_bytes(pickle.dumps(Payload(marker)))
    data = yaml.safe_load((small_repo / "mlgit.yaml").read_text())
    data["models"]["clf"]["trust_pickle"] = True
    (small_repo / "mlgit.yaml").write_text(yaml.safe_dump(data))
    git("commit", "-q", "-m", "opt in on main", "mlgit.yaml", cwd=small_repo)
    monkeypatch.setenv("MLGIT_TRUSTED_ARTIFACT", "1")
    _, found = check(mlgit, small_repo)
    assert marker.is_dir()
    assert "trusted: MLGIT_TRUSTED_ARTIFACT=1" in found["model.loads"]["message"]
    marker.rmdir()
    monkeypatch.delenv("MLGIT_TRUSTED_ARTIFACT")
    # Committed on main, unchanged on a pull-request branch: identical to the base branch's file.
    commit_all(small_repo, "model on main")
    git("checkout", "-q", "-b", "feature", cwd=small_repo)
    _, found = check(mlgit, small_repo)
    assert marker.is_dir()
    assert "it is identical to the file committed at main" in found["model.loads"]["message"]
    marker.rmdir()
    # Changed on the branch: not loaded any more.
    (small_repo / "model.pkl").write_bytes(pickle.dumps(Payload(tmp_path / "other")))
    _, found = check(mlgit, small_repo)
    assert "model.untrusted-pickle" in found
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"latency": {"p50_ms": 5}}, "latency is measured on the golden input: declare golden.input too"),
        ({"golden": {"input": "golden.txt"}}, "the golden input must be a .csv or .json file"),
        ({"golden": {"input": "g.csv", "outputs": {}}}, "models.clf.golden.outputs: unknown key"),
        ({"golden": {"input": "g.csv", "output": {"min": 2, "max": 1}}}, "min (2.0) is greater than max (1.0)"),
        ({"loader": "torch"}, "models.clf.loader: Input should be 'skops', 'onnx', 'joblib', 'pickle' or 'none'"),
    ],
)
def test_invalid_model_keys_exit_2(small_repo: Path, mlgit: Any, keys: dict[str, Any], message: str) -> None:
    data = yaml.safe_load((small_repo / "mlgit.yaml").read_text())
    data["models"]["clf"].update(keys)
    (small_repo / "mlgit.yaml").write_text(yaml.safe_dump(data))
    res = mlgit(small_repo, "check", "model")
    assert res.code == 2
    assert message in res.err


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 100)) == (50.0, 95.0, 100.0)
    assert percentile([7.0], 95) == 7.0


def test_read_table_forms(tmp_path: Path) -> None:
    (tmp_path / "rows.json").write_text("[[1, 2], [3, 4]]")
    assert read_table(tmp_path / "rows.json", "rows.json").rows == ((1, 2), (3, 4))
    (tmp_path / "bad.json").write_text('[[1, 2], {"a": 1}]')
    with pytest.raises(ValueError, match="not a mix"):
        read_table(tmp_path / "bad.json", "bad.json")
    (tmp_path / "t.csv").write_text("a,b\n1,x\n,y\n")
    table = read_table(tmp_path / "t.csv", "t.csv")
    assert table.columns == ("a", "b") and table.rows == ((1.0, "x"), (None, "y"))
    (tmp_path / "h.csv").write_text("a,b\n")
    with pytest.raises(ValueError, match="a header but no rows"):
        read_table(tmp_path / "h.csv", "h.csv")
