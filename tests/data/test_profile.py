"""The committed profile: compact, deterministic, read back exactly; a damaged one is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgit.data import profile
from mlgit.errors import MlgitError
from testing.datarepo import csv_text, make_repo, rows
from testing.repos import commit_all


def test_profile_is_small_one_column_per_line_and_round_trips(tmp_path: Path, mlgit) -> None:
    repo = make_repo(tmp_path, {"data/t.csv": csv_text(rows(5000))})
    assert mlgit(repo, "schema", "infer").code == 0
    commit_all(repo, "schema")
    raw = (repo / "schemas/t.profile.json").read_text()
    assert len(raw) < 4000  # 5 columns, 5000 rows: a few KB however large the data
    doc = json.loads(raw)
    assert doc["rows"] == 5000 and list(doc["actual_columns"]) == ["id", "x", "y", "cat", "label"]
    assert len(doc["columns"]["x"]["quantiles"]) == len(profile.QUANTILE_POINTS)
    assert doc["columns"]["cat"]["counts"].keys() == {"a", "b", "c"} and doc["columns"]["cat"]["other"] == 0
    assert "quantiles" not in doc["columns"]["id"]  # an id's distribution means nothing
    assert sum(1 for line in raw.splitlines() if line.startswith('    "')) == 5
    p = profile.loads(raw, "t.profile.json")
    assert profile.dumps(p) == raw and profile.same(p, p)
    (repo / "data/t.csv").write_text(csv_text(rows(5000)))  # rewritten, same content
    assert mlgit(repo, "check", "data").code == 0
    assert (repo / "schemas/t.profile.json").read_text() == raw


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"version": 1}', b'{"version": 9, "source": {}}'])
def test_damaged_profile(raw: bytes) -> None:
    with pytest.raises(MlgitError) as exc:
        profile.loads(raw, "p.json")
    assert str(exc.value).startswith("p.json: ")
