"""Schema inference: conservative and deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgit.data import inference, table
from testing.datarepo import csv_text, make_repo, rows


def test_widen_keeps_sign_and_fractions_and_rounds_outward() -> None:
    assert inference.widen(6.981, 28.11, False) == (4.86, 30.3)
    assert inference.widen(0.1, 0.9, False) == (0.02, 0.98)
    assert inference.widen(0.05, 0.99, False)[1] == 1.0  # a fraction stays a fraction
    assert inference.widen(143.5, 2501.0, False)[0] == 0.0  # never across zero
    assert inference.widen(-5, -1, True) == (-6.0, 0.0)
    assert inference.widen(18, 90, True) == (10.0, 98.0)


def test_infer_rules(tmp_path: Path) -> None:
    data = rows(300)
    data[3][2] = ""  # one null y: nullable, max_null_fraction 2x observed rounded up
    (tmp_path / "t.csv").write_text(csv_text(data))
    inf = inference.infer("t", table.locate(tmp_path, "t.csv", None))
    cols = {c.name: c for c in inf.schema.columns}
    assert cols["id"].unique and not cols["id"].nullable and cols["id"].values is None
    assert cols["y"].nullable and cols["y"].max_null_fraction == pytest.approx(0.0067)
    assert cols["cat"].values == ("a", "b", "c") and cols["label"].values == (0, 1)
    assert cols["x"].min == 0.0 and cols["x"].max is not None and 9.9 < float(cols["x"].max) <= 11.0
    assert (inf.schema.rows_min, inf.schema.rows_max) == (150, 600)


def test_few_rows_claim_little(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("id,cat\n1,a\n2,b\n3,c\n")
    cols = {c.name: c for c in inference.infer("t", table.locate(tmp_path, "t.csv", None)).schema.columns}
    assert not cols["id"].unique and cols["cat"].values is None  # 3 rows prove neither


def test_mixed_types_are_inferred_as_text_with_a_note(tmp_path: Path, mlgit) -> None:
    data = rows(300)
    data[299][1] = "n/a"
    repo = make_repo(tmp_path, {"data/t.csv": csv_text(data)})
    res = mlgit(repo, "schema", "infer", "--json")
    assert res.code == 0
    (ds,) = json.loads(res.out)["datasets"]
    assert ds["notes"] == [
        "x: mixed values (1 of 300 are not numbers, e.g. 'n/a'); inferred as string: fix the data, or keep it if text is right"
    ]
    assert "  x:\n    type: string\n" in (repo / "schemas/t.schema.yaml").read_text()
    text = mlgit(repo, "schema", "infer", "--force")
    assert "note: t: x: mixed values" in text.out


def test_dates_get_only_a_lower_bound(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("when\n" + "".join(f"2026-01-{d:02d}\n" for d in range(1, 29)))
    (col,) = inference.infer("t", table.locate(tmp_path, "t.csv", None)).schema.columns
    assert (col.type, col.min, col.max) == ("date", "2026-01-01", None)


def test_a_unique_increasing_id_gets_no_upper_bound(tmp_path: Path) -> None:
    lines = ["id,shuffled,x"] + [f"{1000 + i},{(i * 7) % 50},{i % 5}" for i in range(50)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    cols = {c.name: c for c in inference.infer("t", table.locate(tmp_path, "t.csv", None)).schema.columns}
    # The next batch's ids are past today's maximum; a lower bound still catches garbage.
    assert cols["id"].unique and cols["id"].max is None and cols["id"].min is not None and cols["id"].min <= 1000
    # Unique but not in order: an encoding, not a counter; it keeps both bounds.
    assert cols["shuffled"].unique and cols["shuffled"].max is not None
