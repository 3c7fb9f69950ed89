"""The deploy state record: written as typed JSON, read back as the same value, unreadable records ignored."""

from __future__ import annotations

import json
from pathlib import Path

from mlgit.deploy import state


def test_a_record_reads_back_as_written(tmp_path: Path) -> None:
    deployed = state.Deployed("clf", "prod", "local", "v0.2.0", "sha256:" + "a" * 64, url="http://127.0.0.1:8080")
    state.write(tmp_path, deployed)
    assert state.read(tmp_path) == deployed
    doc = json.loads((tmp_path / state.STATE).read_text(encoding="utf-8"))
    assert doc == {
        "model": "clf",
        "stage": "prod",
        "target": "local",
        "version": "v0.2.0",
        "digest": "sha256:" + "a" * 64,
        "url": "http://127.0.0.1:8080",
    }


def test_missing_or_foreign_records_read_as_nothing_deployed(tmp_path: Path) -> None:
    assert state.read(tmp_path) is None
    for text in ("{not json", "[1, 2]", '{"model": "clf"}', '{"model": "clf", "stage": "prod", "target": 1}'):
        (tmp_path / state.STATE).write_text(text, encoding="utf-8")
        assert state.read(tmp_path) is None, text
