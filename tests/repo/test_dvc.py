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


def test_dvc_config_is_read_as_dvc_does(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / ".dvc" / "config").write_text(
        "[core]\n    remote = store\n[ 'remote  \"store\"' ]\n    url = 'gs://b/p'\n[cache]\n    dir = ../shared\n"
    )
    (tmp_path / ".dvc" / "config.local").write_text("[core]\n    remote = mine\n[cache]\n    dir = /tmp/c\n")
    # config.local wins key by key; the committed file alone is what CI has.
    assert dvc.read_config(tmp_path)["core"] == {"remote": "mine"}
    assert dvc.read_config(tmp_path)['remote "store"'] == {"url": "gs://b/p"}
    assert dvc.default_remote(tmp_path) == dvc.Remote("store", "gs://b/p")
    assert dvc.Remote("store", "gs://b/p").plugin == "dvc-gs" and dvc.Remote("l", "/srv/dvc").plugin is None
    assert dvc.cache_dirs(tmp_path) == (
        tmp_path / ".dvc" / "cache",
        tmp_path / ".dvc" / "../shared",
        Path("/tmp/c"),
    )


def _asked(root: Path) -> tuple[dict[str, list[str]] | None, bool]:
    from mlgit.system import process

    with process.recording() as commands:
        stale = dvc.stale_stages(root)
    return stale, any(c[1:3] == ("status", "--json") for c in commands)


def test_pipeline_status_is_cached_by_content_except_where_dvc_looks_further(small_repo: Path) -> None:
    (small_repo / "dvc.yaml").write_text("stages:\n  s:\n    cmd: cat data/table.csv\n    deps: [data/table.csv]\n")
    first = _asked(small_repo)
    assert first[1] and first[0] is not None and list(first[0]) == ["s"]  # never run: stale
    assert _asked(small_repo) == (first[0], False)  # the same files: DVC is not asked again
    assert dvc.stale_stages(small_repo, use_cache=False) == first[0]
    (small_repo / "params.yaml").write_text("train:\n  lr: 0.2\n  depth: 3\n")  # not a dep of s: still cached
    assert _asked(small_repo) == (first[0], False)
    (small_repo / "data/table.csv").write_text("id,x,label\n1,0.5,0\n")  # a dep changed: asked again
    assert _asked(small_repo)[1]
    # Templated paths are resolved by DVC, not by mlgit: never cached.
    (small_repo / "dvc.yaml").write_text(
        "vars:\n  - src: data/table.csv\nstages:\n  s:\n    cmd: cat ${src}\n    deps: [\"${src}\"]\n"
    )
    assert _asked(small_repo)[1] and _asked(small_repo)[1]
