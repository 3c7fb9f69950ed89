"""The one DVC adapter, on files alone (no DVC binary needed)."""

from __future__ import annotations

from pathlib import Path

from mlgit.repo import dvc

PIPELINE = """\
stages:
  train:
    wdir: ..
    cmd: python train.py
    deps: [src/train.py, data/raw]
    params: [train.lr, {conf.yaml: [a]}]
    outs: [{models/m.pkl: {cache: true}}]
    metrics: [{metrics.json: {cache: false}}]
"""

LOCK = """\
schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data/raw
      md5: d1.dir
    outs:
    - path: models/m.pkl
      md5: m1
"""


def test_stages_carry_deps_params_and_outs_relative_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dvc.yaml").write_text(PIPELINE)
    (stage,) = dvc.read_stages(tmp_path)
    assert stage == dvc.Stage(
        "sub/dvc.yaml:train",
        "train",
        "sub/dvc.lock",
        ("src/train.py", "data/raw", "params.yaml", "conf.yaml"),
        ("models/m.pkl", "metrics.json"),
    )


def test_hashes_with_and_without_deps() -> None:
    files = {"dvc.lock": LOCK.encode(), "data/t.csv.dvc": b"outs:\n- path: t.csv\n  md5: t1\n", "gone.dvc": None}
    assert dvc.hashes_in(files) == {"data/raw": "d1.dir", "models/m.pkl": "m1", "data/t.csv": "t1"}
    assert dvc.hashes_in(files, deps=False) == {"models/m.pkl": "m1", "data/t.csv": "t1"}


def test_default_remote_from_dvc_config(tmp_path: Path) -> None:
    assert dvc.default_remote(tmp_path) is None
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text("[core]\n    remote = store\n['remote \"store\"']\n    url = s3://b/p\n")
    assert dvc.default_remote(tmp_path) == dvc.Remote("store", "s3://b/p")
