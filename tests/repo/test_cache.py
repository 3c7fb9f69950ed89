"""The result cache: keyed by everything a result depends on; damaged entries are misses; bounded size."""

from __future__ import annotations

import os
from pathlib import Path

from mlgit.repo import cache as checkcache


def test_keys_differ_by_every_part() -> None:
    base = checkcache.key("cfg", b"schema", "md5", "stat")
    assert base != checkcache.key("cfg", b"schema2", "md5", "stat")
    assert base != checkcache.key("cfg", None, "md5", "stat")
    assert checkcache.key("cfg", b"", "md5", "stat") != checkcache.key("cfg", None, "md5", "stat")
    assert base == checkcache.key("cfg", b"schema", "md5", "stat")


def test_store_load_prune_and_damage(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    for i in range(12):
        checkcache.store(tmp_path, "d", f"k{i}", {"i": i})
        path = next((tmp_path / ".git/mlgit/checks").glob(f"*-k{i}.json"))
        os.utime(path, ns=(i * 10**9, i * 10**9))
    assert checkcache.load(tmp_path, "d", "k11") == {"i": 11}
    assert checkcache.load(tmp_path, "d", "k0") is None  # pruned: 8 entries per dataset are kept
    assert len(list((tmp_path / ".git/mlgit/checks").glob("*.json"))) <= 9
    next((tmp_path / ".git/mlgit/checks").glob("*-k11.json")).write_text("{broken")
    assert checkcache.load(tmp_path, "d", "k11") is None
    assert checkcache.load(tmp_path, "other", "k10") is None


def test_no_git_folder_means_no_cache(tmp_path: Path) -> None:
    checkcache.store(tmp_path, "d", "k", {"x": 1})
    assert not (tmp_path / ".git").exists() and checkcache.load(tmp_path, "d", "k") is None
