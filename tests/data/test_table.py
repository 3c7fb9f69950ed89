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
        (GOOD.encode("utf-16"), "data.encoding", "data/t.csv: UTF-16 text, not UTF-8"),
        (GOOD.encode("utf-16-be"), "data.encoding", "UTF-16 text, not UTF-8"),
        (
            GOOD.replace("\n51,", "\n51,9,", 1).encode(),
            "data.unreadable",
            "data/t.csv:52: 6 fields where the header has 5",
        ),
        (GOOD.replace("id,x,y", "id,,y", 1).encode(), "data.unnamed-column", "column 2 has no name"),
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
        "utf16",
        "utf16-be",
        "ragged-row",
        "unnamed-column",
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


@pytest.mark.parametrize(
    ("content", "words", "hint"),
    [
        (b"id,x\n1,caf\xe9\n", "dataset 't': data/t.csv: not UTF-8 text", "iconv"),
        ("id,x\n1,café\n".encode("utf-16"), "dataset 't': data/t.csv: UTF-16 text, not UTF-8", "iconv -f utf-16"),
        # A schema with an empty column name would be refused by the next command: none is written (issue 12).
        (b"id,,y\n1,2,3\n", "dataset 't': data/t.csv: column 2 has no name (an empty header cell)", "index=False"),
    ],
    ids=["latin1", "utf16", "unnamed-column"],
)
def test_bad_input_makes_infer_fail_cleanly_without_writing(
    tmp_path: Path, mlgit, content: bytes, words: str, hint: str
) -> None:
    repo = make_repo(tmp_path, {"data/t.csv": content})
    res = mlgit(repo, "schema", "infer")
    assert res.code == 2
    assert words in res.err and hint in res.err and "Traceback" not in res.err
    assert not (repo / "schemas").exists()


def test_a_short_row_is_read_with_nulls(repo: Path, mlgit) -> None:
    # Documented: polars reads the missing fields of a short row as nulls, which the nulls rule then reports.
    code, found, _ = check(mlgit, repo, GOOD.replace("\n51,", "\n51,1\n52,", 1).encode())
    assert code == 1
    assert {f["column"] for f in found if f["code"] == "data.nulls"} >= {"y", "cat", "label"}


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
        (b'{"a": 1, "b": NaN}\n', "data.unreadable", "data/t.jsonl:1: not valid JSON (NaN is not a JSON value)"),
        (b'{"a": 1}\n{"a": 2}\n{"a": \n{"a": 3}\n', "data.unreadable", "data/t.jsonl:3: not valid JSON"),
        (b'{"a": 1}\n\n[1, 2]\n', "data.unreadable", "data/t.jsonl:3: a JSON list, not an object"),
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


# -- memory: linear in columns (issue 12: 20,000 columns took many GB, then SIGABRT) -----------------------------

WIDE_COLUMNS, WIDE_ROWS, GB = 20_000, 50, 1 << 30


def _peak_rss(repo: Path, *args: str) -> tuple[int, int, str]:
    """Run `mlgit ARGS` in a child process; its exit code, peak resident memory (bytes) and output."""
    import os
    import resource
    import subprocess
    import sys

    def limit() -> None:  # a guard so that a regression fails the test instead of the machine
        resource.setrlimit(resource.RLIMIT_AS, (8 * GB, 8 * GB))

    log = repo.parent / "out.txt"
    with log.open("wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "mlgit", *args], cwd=repo, stdout=out, stderr=subprocess.STDOUT, preexec_fn=limit
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage.ru_maxrss * 1024, log.read_text()


def test_20000_columns_are_inferred_and_checked_in_under_1_gb(tmp_path: Path) -> None:
    import random

    rng = random.Random(0)
    header = ",".join(f"c{i}" for i in range(WIDE_COLUMNS))
    kinds = [i % 4 for i in range(WIDE_COLUMNS)]  # ints, floats, short text, allowed values
    lines = [header]
    for _ in range(WIDE_ROWS):
        cells = (str(rng.randint(0, 99)), f"{rng.random():.3f}", f"t{rng.randint(0, 999)}", rng.choice("ab"))
        lines.append(",".join(cells[k] for k in kinds))
    repo = make_repo(tmp_path, {"data/t.csv": "\n".join(lines) + "\n"})
    code, peak, out = _peak_rss(repo, "schema", "infer")
    assert code == 0, out
    assert f"schemas/t.schema.yaml {WIDE_ROWS} {WIDE_COLUMNS}" in " ".join(out.split())
    assert peak < GB, f"schema infer: {peak / GB:.2f} GB"
    commit_all(repo, "schema")
    code, peak, out = _peak_rss(repo, "check", "data", "--no-cache")
    assert code == 0, out
    assert f"{WIDE_ROWS} rows" in out and "PASSED: 0 errors" in out
    assert peak < GB, f"check data: {peak / GB:.2f} GB"
