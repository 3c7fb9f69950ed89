"""Bad input: each case a clear finding (or error) naming the file, never a traceback, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgit.data import table
from testing.datarepo import csv_text, make_repo, rows
from testing.repos import commit_all

GOOD = csv_text(rows(100))


@pytest.fixture
def repo(tmp_path: Path, mlgit) -> Path:
    r = make_repo(tmp_path, {"data/t.csv": GOOD})
    assert mlgit(r, "schema", "infer").code == 0
    commit_all(r, "schema")
    return r


def check(mlgit, repo: Path, content: bytes) -> tuple[int, list[dict[str, object]], str]:
    (repo / "data/t.csv").write_bytes(content)
    res = mlgit(repo, "check", "data", "--json")
    assert "Traceback" not in res.err
    return res.code, json.loads(res.out)["findings"], res.err


LONG_FIRST_LINE = b"a" * (2 * 1024 * 1024)
DEEP_LATIN1 = GOOD.encode() + csv_text(rows(2000, seed=3)).split("\n", 1)[1].encode() + b"1,2.0,3.0,caf\xe9,1\n"


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"", "data.empty-file", "data/t.csv is empty (0 bytes)"),
        (b"id,x,y,cat,label\n", "data.no-rows", "data/t.csv has a header but no rows"),
        (GOOD.encode() + b"101,3.5", "data.truncated", "the last line is cut short (2 of 5 fields"),
        (GOOD.replace(",", ";").encode(), "data.wrong-delimiter", "seems to use ';' as its delimiter"),
        (GOOD.replace(",", "\t").encode(), "data.wrong-delimiter", "seems to use '\\\\t' as its delimiter"),
        (b"id,x,y,cat,label\n1,2.0,3.0,caf\xe9,1\n", "data.encoding", "not UTF-8 text (byte 0xe9 on line 2"),
        (DEEP_LATIN1, "data.encoding", "byte 0xe9 on line 2102"),
        (bytes(range(256)) * 40, "data.not-text", "binary data, not CSV text"),
        (b"PAR1" + bytes(100) + b"PAR1", "data.not-text", "binary data"),
        (GOOD.replace("id,x,y", "id,x,x", 1).encode(), "data.duplicate-column", "repeats column names: 'x'"),
        (LONG_FIRST_LINE, "data.line-too-long", "the first line is longer than 1024 KiB"),
        (LONG_FIRST_LINE.replace(b"a" * 1000, b"a" * 999 + b"\r"), "data.line-too-long", "longer than"),
    ],
    ids=[
        "empty",
        "header-only",
        "truncated",
        "semicolons",
        "tabs",
        "latin1",
        "latin1-deep",
        "garbage",
        "parquet-as-csv",
        "duplicate-columns",
        "long-line",
        "cr-endings",
    ],
)
def test_bad_csv_input_is_a_finding_naming_the_file(repo: Path, mlgit, content: bytes, code: str, words: str) -> None:
    exit_code, found, _ = check(mlgit, repo, content)
    assert exit_code == 1
    mine = [f for f in found if f["code"] == code]
    assert mine, [f["code"] for f in found]
    assert "data/t.csv" in str(mine[0]["message"]) and words in str(mine[0]["message"])
    assert mine[0]["severity"] == "error" and mine[0]["file"] == "mlgit.yaml" and mine[0]["line"] == 3


def test_cr_line_endings_get_a_hint(repo: Path, mlgit) -> None:
    content = (GOOD.replace("\n", "\r") * 20000).encode()
    _, found, _ = check(mlgit, repo, content)
    (f,) = [f for f in found if f["code"] == "data.line-too-long"]
    assert "convert the bare \\r line endings" in str(f["message"])


def test_nan_and_inf_in_floats(repo: Path, mlgit) -> None:
    data = rows(100)
    data[10][1], data[11][1], data[12][2] = "nan", "-inf", "NaN"
    code, found, _ = check(mlgit, repo, csv_text(data).encode())
    assert code == 1
    nonfinite = {f["column"]: f for f in found if f["code"] == "data.non-finite"}
    assert nonfinite["x"]["data"]["samples"] == ["nan", "-inf"]
    assert nonfinite["y"]["data"]["count"] == 1
    assert "set finite: false in the schema to allow them" in str(nonfinite["x"]["message"])


def test_a_very_long_field_is_read_and_cut_short_in_samples(repo: Path, mlgit) -> None:
    data = rows(100)
    data[50][3] = "z" * 5_000_000
    code, found, _ = check(mlgit, repo, csv_text(data).encode())
    assert code == 1
    (f,) = [f for f in found if f["code"] == "data.unexpected-value"]
    (sample,) = f["data"]["samples"]
    assert len(sample) == 80 and sample.endswith("...")


def test_bad_input_makes_infer_fail_cleanly_without_writing(tmp_path: Path, mlgit) -> None:
    repo = make_repo(tmp_path, {"data/t.csv": b"id,x\n1,caf\xe9\n"})
    res = mlgit(repo, "schema", "infer")
    assert res.code == 2
    assert "dataset 't': data/t.csv: not UTF-8 text" in res.err and "iconv" in res.err
    assert not (repo / "schemas").exists()


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"", "data.empty-file"), (b"PAR1garbage", "data.not-parquet"), (b"not parquet at all PAR1", "data.not-parquet")],
)
def test_bad_parquet(tmp_path: Path, mlgit, content: bytes, code: str) -> None:
    cfg = "version: 1\ndatasets:\n  t:\n    path: data/t.parquet\nci:\n  default_branch: main\n"
    repo = make_repo(tmp_path, {"data/t.parquet": content}, cfg)
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 1 and "Traceback" not in res.err
    (f,) = json.loads(res.out)["findings"][:1]
    assert f["code"] == code and "data/t.parquet" in f["message"]


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b'{"a": 1}\n{"a": 2}\n{"a": ', "data.truncated", "the last line is not complete JSON"),
        (b'{"a": 1, "b": NaN}\n', "data.unreadable", "cannot be read as JSONL"),
        (b"", "data.empty-file", "is empty"),
    ],
)
def test_bad_jsonl(tmp_path: Path, mlgit, content: bytes, code: str, words: str) -> None:
    cfg = "version: 1\ndatasets:\n  t:\n    path: data/t.jsonl\nci:\n  default_branch: main\n"
    repo = make_repo(tmp_path, {"data/t.jsonl": content}, cfg)
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 1 and "Traceback" not in res.err
    (f,) = [f for f in json.loads(res.out)["findings"] if f["code"] == code]
    assert "data/t.jsonl" in f["message"] and words in f["message"]


def test_folder_of_part_files_is_sorted_and_skips_markers(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "parts"
    folder.mkdir(parents=True)
    for name in ("part-2.csv", "part-10.csv", "_SUCCESS", ".part-2.csv.crc"):
        (folder / name).write_text("a\n1\n")
    src = table.locate(tmp_path, "data/parts", None)
    assert src.format == "csv" and src.files == ("data/parts/part-10.csv", "data/parts/part-2.csv")
    (folder / "part-3.parquet").write_bytes(b"PAR1")
    with pytest.raises(table.TableError) as exc:
        table.locate(tmp_path, "data/parts", None)
    assert exc.value.code == "data.mixed-formats" and "set the dataset's format" in str(exc.value.hint)


def test_part_files_with_different_headers(tmp_path: Path, mlgit) -> None:
    cfg = "version: 1\ndatasets:\n  t:\n    path: data/parts\n    format: csv\nci:\n  default_branch: main\n"
    repo = make_repo(tmp_path, {"data/parts/a.csv": "id,x\n1,2\n", "data/parts/b.csv": "id,y\n1,2\n"}, cfg)
    res = mlgit(repo, "check", "data", "--json")
    (f,) = json.loads(res.out)["findings"][:1]
    assert f["code"] == "data.parts-disagree" and "data/parts/b.csv" in f["message"]


def test_missing_file_not_tracked_by_dvc(tmp_path: Path, mlgit) -> None:
    repo = make_repo(tmp_path, {})
    res = mlgit(repo, "check", "data", "--json")
    (f,) = json.loads(res.out)["findings"][:1]
    assert f["code"] == "data.missing" and "data/t.csv does not exist" in f["message"]
