"""The result cache: keyed by everything a result depends on; damaged entries are misses; bounded size."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

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


def test_fingerprint_follows_bytes_not_metadata(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d/a.bin").write_bytes(b"one")
    (tmp_path / "b.txt").write_bytes(b"two")
    base = checkcache.fingerprint(tmp_path, ["d", "b.txt", "absent"])
    assert base == checkcache.fingerprint(tmp_path, ["absent", "b.txt", "d"])  # order does not matter
    st = (tmp_path / "b.txt").stat()
    (tmp_path / "b.txt").write_bytes(b"TWO")  # same size, mtime put back: a stat key would miss it
    os.utime(tmp_path / "b.txt", ns=(st.st_atime_ns, st.st_mtime_ns))
    assert checkcache.fingerprint(tmp_path, ["d", "b.txt", "absent"]) != base
    (tmp_path / "b.txt").write_bytes(b"two")
    assert checkcache.fingerprint(tmp_path, ["d", "b.txt", "absent"]) == base
    (tmp_path / "d/new.bin").write_bytes(b"")  # a file added to a folder
    assert checkcache.fingerprint(tmp_path, ["d", "b.txt", "absent"]) != base
    (tmp_path / "absent").write_bytes(b"")  # a file that appears
    assert checkcache.fingerprint(tmp_path, ["b.txt", "absent"]) != checkcache.fingerprint(tmp_path, ["b.txt"])


def test_large_files_just_written_are_not_keyed_by_metadata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkcache, "_HASH_UP_TO", 4)
    (tmp_path / "big").write_bytes(b"0123456789")
    with pytest.raises(checkcache.Uncacheable):
        checkcache.fingerprint(tmp_path, ["big"])  # written now: a same-size rewrite might not show yet
    old = 1_000_000_000 * 10**9
    os.utime(tmp_path / "big", ns=(old, old))
    key = checkcache.fingerprint(tmp_path, ["big"])
    os.utime(tmp_path / "big", ns=(old + 1, old + 1))
    assert checkcache.fingerprint(tmp_path, ["big"]) != key


def test_environment_changes_with_an_installed_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "scikit_learn-1.5.0.dist-info").mkdir(parents=True)
    monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    before = checkcache.environment()
    (site / "scikit_learn-1.5.0.dist-info").rename(site / "scikit_learn-1.6.0.dist-info")
    assert checkcache.environment() != before
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", ["", *sys.path])
    assert checkcache.environment() == checkcache.environment()


def test_no_cache_env_reads_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    checkcache.store(tmp_path, "d", "k", {"x": 1})
    monkeypatch.setenv("MLGIT_NO_CACHE", "1")
    assert not checkcache.enabled()
    assert checkcache.load(tmp_path, "d", "k") is None
    checkcache.store(tmp_path, "d", "k2", {"x": 2})
    monkeypatch.delenv("MLGIT_NO_CACHE")
    assert checkcache.load(tmp_path, "d", "k") == {"x": 1} and checkcache.load(tmp_path, "d", "k2") is None
