"""`mlgit check data`: schema and expectation checks in one lazy pass, cache, formats, DVC, the demo scenario."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgit.checks import data as datacheck
from mlgit.config import settings as config
from mlgit.repo.state import RepoState
from testing.datarepo import CONFIG, csv_text, make_repo, rows
from testing.datarepo import bad_batch as _bad_batch
from testing.repos import REPO_ROOT, commit_all, dvc, git


def findings(out: str) -> list[dict[str, object]]:
    return list(json.loads(out)["findings"])


def codes(out: str, severity: str | None = None) -> set[str]:
    return {str(f["code"]) for f in findings(out) if severity is None or f["severity"] == severity}


def by_code(out: str, code: str) -> list[dict[str, object]]:
    return [f for f in findings(out) if f["code"] == code]


@pytest.fixture
def repo(tmp_path: Path, mlgit) -> Path:
    """A repository with one CSV dataset, its inferred schema and profile committed on main."""
    r = make_repo(tmp_path, {"data/t.csv": csv_text(rows())})
    res = mlgit(r, "schema", "infer")
    assert res.code == 0, res.err
    commit_all(r, "schema")
    return r


def test_infer_writes_a_deterministic_reviewable_schema_and_the_check_passes(repo: Path, mlgit) -> None:
    text = (repo / "schemas/t.schema.yaml").read_text()
    assert "  id:\n    type: int\n    nullable: false\n" in text and "    unique: true\n" in text
    assert '  cat:\n    type: string\n    nullable: false\n    values: ["a", "b", "c"]\n' in text
    assert "  label:\n    type: int\n    nullable: false\n    values: [0, 1]\n" in text
    assert "rows:\n  min: 100\n  max: 400\n" in text
    profile = (repo / "schemas/t.profile.json").read_bytes()
    assert mlgit(repo, "schema", "infer", "--force").code == 0
    assert (repo / "schemas/t.schema.yaml").read_text() == text  # same data, byte-identical file
    assert (repo / "schemas/t.profile.json").read_bytes() == profile
    res = mlgit(repo, "check", "data")
    assert res.code == 0, res.out
    assert "PASSED: 0 errors, 0 warnings" in res.out


def test_infer_never_overwrites_without_force(repo: Path, mlgit) -> None:
    (repo / "schemas/t.schema.yaml").write_text("# my edits\n")
    res = mlgit(repo, "schema", "infer")
    assert res.code == 2
    assert "schemas/t.schema.yaml" in res.err and "--force" in res.err
    assert (repo / "schemas/t.schema.yaml").read_text() == "# my edits\n"


SCHEMA = """\
version: 1
rows: {min: 10, max: 1000}
columns:
  id: {type: int, nullable: false, unique: true}
  x: {type: float, min: 0, max: 10}
  y: {type: float, max_null_fraction: 0.01}
  cat: {type: string, values: [a, b, c], regex: "^[a-z]$"}
  label: {type: int, values: [0, 1]}
"""

EXPECTING = (
    CONFIG
    + """\
    expectations:
      - column: x
        between: [0, 9]
      - column: y
        mean_between: [0, 1]
      - column: y
        std_between: [5, null]
      - column: cat
        in_set: [a, b]
        severity: warning
      - rows_between: [500, null]
"""
).replace("ci:\n  default_branch: main\n", "") + "ci:\n  default_branch: main\n"


def test_every_kind_of_check_reports_in_one_lazy_run(tmp_path: Path, mlgit) -> None:
    data = rows(50)
    data[0][0] = data[1][0] = "2"  # duplicate id
    data[2][0] = ""  # null id
    data[3][1] = "12.5"  # x out of range
    data[4][1] = "nan"  # NaN in a float
    data[5][1] = "inf"
    data[6][2] = data[7][2] = ""  # 2 of 50 y null > 1 %
    data[8][3] = "Z"  # unseen category, fails the regex too
    data[9][4] = "7"  # label not in {0, 1}
    repo = make_repo(tmp_path, {"data/t.csv": csv_text(data), "schemas/t.schema.yaml": SCHEMA}, EXPECTING)
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 1
    doc = json.loads(res.out)
    assert doc["passed"] is False
    assert codes(res.out, "error") >= {
        "data.not-unique",
        "data.nulls",
        "data.out-of-range",
        "data.non-finite",
        "data.null-fraction",
        "data.unexpected-value",
        "data.regex-mismatch",
        "data.row-count",
        "data.mean-out-of-band",
        "data.std-out-of-band",
    }
    rng = next(f for f in by_code(res.out, "data.out-of-range") if f["file"] == "schemas/t.schema.yaml")
    assert rng["column"] == "x" and rng["line"] == 5
    assert rng["data"]["count"] == 1 and rng["data"]["fraction"] == pytest.approx(0.02)
    assert rng["data"]["samples"] == [12.5]
    assert "x: 1 of 50 rows (2.00%) outside the schema's range [0, 10]; e.g. 12.5" in str(rng["message"])
    exp = next(f for f in by_code(res.out, "data.out-of-range") if f["file"] == "mlgit.yaml")
    assert exp["line"] == 7 and exp["data"]["count"] >= 2
    nonfinite = by_code(res.out, "data.non-finite")[0]
    assert nonfinite["data"]["samples"] == ["nan", "inf"] and nonfinite["data"]["count"] == 2
    dup = by_code(res.out, "data.not-unique")[0]
    assert dup["data"]["count"] == 1 and dup["data"]["samples"] == ["2 (2x)"]
    unseen = [f for f in by_code(res.out, "data.unexpected-value") if f["column"] == "cat" and f["severity"] == "error"]
    assert unseen[0]["data"]["samples"] == ["Z"]
    warned = [f for f in by_code(res.out, "data.unexpected-value") if f["severity"] == "warning"]
    assert warned and warned[0]["file"] == "mlgit.yaml" and warned[0]["line"] == 13
    rows_f = next(f for f in by_code(res.out, "data.row-count") if f["file"] == "mlgit.yaml")
    assert "50 rows, expected rows >= 500" in str(rows_f["message"])
    text = mlgit(repo, "check", "data")
    assert text.code == 1 and "FAILED" in text.out and "data.out-of-range" in text.out


def test_warnings_fail_only_with_fail_on_warning(tmp_path: Path, mlgit) -> None:
    cfg = CONFIG.replace(
        "    format: csv\n",
        "    format: csv\n    expectations:\n      - column: x\n        between: [0, 5]\n        severity: warning\n",
    )
    repo = make_repo(tmp_path, {"data/t.csv": csv_text(rows())}, cfg)
    assert mlgit(repo, "schema", "infer").code == 0
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 0 and "data.out-of-range" in codes(res.out, "warning")
    (repo / "mlgit.yaml").write_text(cfg.replace("    format: csv\n", "    format: csv\n    fail_on_warning: true\n"))
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 1
    promoted = by_code(res.out, "data.out-of-range")[0]
    assert promoted["severity"] == "error" and "(fail_on_warning)" in str(promoted["message"])


def test_undeclared_and_missing_columns(repo: Path, mlgit) -> None:
    data = [[*r[:2], *r[3:], "extra"] for r in rows()]  # y dropped, `z` added
    (repo / "data/t.csv").write_text(csv_text(data, "id,x,cat,label,z"))
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 1
    missing = by_code(res.out, "data.missing-column")[0]
    assert missing["column"] == "y" and missing["file"] == "schemas/t.schema.yaml" and missing["severity"] == "error"
    assert by_code(res.out, "data.unexpected-column")[0]["severity"] == "warning"


def test_mixed_types_in_a_column_are_counted_with_samples(repo: Path, mlgit) -> None:
    data = rows(300)
    data[299][1] = "abc"  # past polars' type-inference window
    data[150][4] = "1.5"
    (repo / "data/t.csv").write_text(csv_text(data))
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 1
    found = {f["column"]: f for f in by_code(res.out, "data.type-mismatch")}
    assert found["x"]["data"]["samples"] == ["abc"] and found["x"]["data"]["count"] == 1
    assert found["label"]["data"]["samples"] == ["1.5"]
    assert "not readable as float" in str(found["x"]["message"])


def test_unchanged_data_is_served_from_the_cache_without_reading_it(repo: Path, mlgit) -> None:
    first = mlgit(repo, "check", "data", "--json")
    assert json.loads(first.out)["datasets"][0]["cached"] is True  # infer's own check filled the cache
    (repo / "data/t.csv").write_text(csv_text(rows(201)))
    miss = json.loads(mlgit(repo, "check", "data", "--json").out)
    assert miss["datasets"][0]["cached"] is False and miss["datasets"][0]["rows"] == 201
    # A whole process, as a user runs it: a cache hit imports neither polars nor pydantic and never opens the
    # data file (an audit hook sees every open); the work is counted, not timed, so machine speed cannot matter.
    probe = (
        "import sys; opened = []; "
        "sys.addaudithook(lambda e, a: opened.append(str(a[0])) if e == 'open' and str(a[0]).endswith('t.csv') else None); "
        "from mlgit.cli.main import main; code = main(sys.argv[1:]); "
        "print(code, 'polars' in sys.modules, 'pydantic' in sys.modules, len(opened), file=sys.stderr)"
    )
    args = [sys.executable, "-c", probe, "-C", str(repo), "check", "data", "--json"]
    res = subprocess.run(args, capture_output=True, text=True, check=False)
    code, polars_loaded, pydantic_loaded, opens = res.stderr.split()
    assert (code, polars_loaded, pydantic_loaded, opens) == ("0", "False", "False", "0"), res.stderr
    assert json.loads(res.stdout)["datasets"][0]["cached"] is True


def test_fifty_datasets_one_changed_costs_about_one(tmp_path: Path, mlgit) -> None:
    names = [f"d{i:02d}" for i in range(50)]
    cfg = "version: 1\ndatasets:\n" + "".join(f"  {n}:\n    path: data/{n}.csv\n" for n in names)
    files = {f"data/{n}.csv": csv_text(rows(30, seed=i)) for i, n in enumerate(names)}
    repo = make_repo(tmp_path, files, cfg + "ci:\n  default_branch: main\n")
    assert mlgit(repo, "schema", "infer").code == 0
    commit_all(repo, "schemas")
    (repo / "data/d17.csv").write_text(csv_text(rows(30, seed=99)))
    res = mlgit(repo, "check", "data", "--json")
    doc = json.loads(res.out)
    assert [d["name"] for d in doc["datasets"] if not d["cached"]] == ["d17"]
    assert len(doc["datasets"]) == 50


def test_parquet_jsonl_and_a_folder_of_part_files(tmp_path: Path, mlgit) -> None:
    import polars as pl

    df = pl.read_csv(io.StringIO(csv_text(rows(120))))
    repo_files: dict[str, str | bytes] = {}
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):
        df.slice(i * 40, 40).write_parquet(parts / f"part-{i}.parquet")
        repo_files[f"data/folder/part-{i}.parquet"] = (parts / f"part-{i}.parquet").read_bytes()
    repo_files["data/folder/_SUCCESS"] = ""
    repo_files["data/t.jsonl"] = "".join(json.dumps(r) + "\n" for r in df.to_dicts())
    cfg = "version: 1\ndatasets:\n  pq:\n    path: data/folder\n  js:\n    path: data/t.jsonl\nci:\n  default_branch: main\n"
    repo = make_repo(tmp_path, repo_files, cfg)
    assert mlgit(repo, "schema", "infer").code == 0
    assert "  x:\n    type: float\n" in (repo / "schemas/pq.schema.yaml").read_text()
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 0, res.out
    assert {d["name"]: d["rows"] for d in json.loads(res.out)["datasets"]} == {"pq": 120, "js": 120}
    # Parquet keeps types: a part whose column is stored as text is a type mismatch, named.
    bad = df.slice(0, 40).with_columns(pl.col("x").cast(pl.String))
    bad.write_parquet(repo / "data/folder/part-1.parquet")
    res = mlgit(repo, "check", "data", "pq", "--json")
    assert res.code == 1
    (f,) = by_code(res.out, "data.parts-disagree")
    assert "data/folder/part-1.parquet: its columns differ from data/folder/part-0.parquet's" in str(f["message"])
    assert "other types: x (Float64 -> String)" in str(f["message"])


def test_dvc_tracked_data_that_was_never_pulled(small_repo: Path, mlgit) -> None:
    assert mlgit(small_repo, "schema", "infer").code == 0
    (small_repo / "data/table.csv").unlink()
    res = mlgit(small_repo, "check", "data", "--json")
    assert res.code == 1
    (f,) = by_code(res.out, "data.not-pulled")
    assert "data/table.csv" in str(f["message"]) and "dvc pull" in str(f["message"])
    assert f["file"] == "mlgit.yaml" and f["line"] == 3
    infer = mlgit(small_repo, "schema", "infer", "--force")
    assert infer.code == 2 and "dvc pull" in infer.err and "Traceback" not in infer.err


def test_dvc_hash_is_part_of_the_cache_key(small_repo: Path, mlgit) -> None:
    assert mlgit(small_repo, "schema", "infer").code == 0
    prof = json.loads((small_repo / "schemas/table.profile.json").read_text())
    dvc_md5 = (small_repo / "data/table.csv.dvc").read_text().split("md5: ")[1].split()[0]
    assert prof["source"]["md5"] == dvc_md5


def test_unknown_dataset_is_a_usage_error(repo: Path, mlgit) -> None:
    res = mlgit(repo, "check", "data", "nope")
    assert res.code == 2 and "unknown dataset 'nope'" in res.err and "declares: t" in res.err


def test_json_and_logs_carry_no_progress_noise(repo: Path, mlgit) -> None:
    (repo / "data/t.csv").write_text(csv_text(rows(250)))
    res = mlgit(repo, "check", "data", "--json")
    assert res.err == ""
    json.loads(res.out)


def test_progress_ticker_draws_and_erases_on_a_terminal() -> None:
    from mlgit.render import progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    assert progress.wanted(tty, machine_output=False) and not progress.wanted(tty, machine_output=True)
    assert not progress.wanted(io.StringIO(), machine_output=False)
    ticker = progress.Ticker(tty)
    ticker.start("big", "data/big.csv", 1_500_000_000)
    deadline = time.monotonic() + 5
    while "scanning" not in tty.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    ticker.done("big")
    out = tty.getvalue()
    assert "scanning big (data/big.csv, 1.5 GB) ..." in out and out.endswith("\r\033[K")


def test_an_invalid_schema_file_names_the_line(repo: Path, mlgit) -> None:
    path = repo / "schemas/t.schema.yaml"
    text = path.read_text().replace("    type: float\n", "    type: flaot\n", 1)
    path.write_text(text)
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 1
    (f,) = by_code(res.out, "data.invalid-schema")
    assert f["file"] == "schemas/t.schema.yaml" and f["line"] == text.splitlines().index("    type: flaot") + 1
    assert "columns.x.type" in str(f["message"])


def test_data_findings_api_matches_the_command(repo: Path) -> None:
    (repo / "data/t.csv").write_text(csv_text([[*r[:1], "99.0", *r[2:]] for r in rows()]))
    cfg = config.load(repo)
    found = datacheck.data_findings(RepoState(repo, cfg.ci.default_branch), cfg)
    assert any(f.code == "data.out-of-range" and f.file == "schemas/t.schema.yaml" and f.line for f in found)
    assert all(f.severity in ("error", "warning", "info") for f in found)


def test_example_repo_bad_batch_caught_on_a_branch_and_clean_data_passing(example_repo: Path, mlgit) -> None:
    assert mlgit(example_repo, "schema", "infer").code == 0
    commit_all(example_repo, "Add data schemas and profiles")
    git("checkout", "-q", "-b", "bad-batch", cwd=example_repo)
    raw = example_repo / "data/raw/breast_cancer.csv"
    _bad_batch(raw)
    res = mlgit(example_repo, "check", "data", "breast_cancer", "--json")
    assert res.code == 1
    assert codes(res.out, "error") == {"data.out-of-range", "data.unexpected-value", "data.missing-column"}
    assert by_code(res.out, "data.unexpected-value")[0]["data"]["samples"] == ["huge", "huge"]
    schema_res = mlgit(example_repo, "check", "schema", "--json")
    assert schema_res.code == 1 and codes(schema_res.out, "error") == {"schema.column-removed"}
    assert git("status", "--porcelain", cwd=example_repo) == ""  # checking the bad batch wrote nothing
    assert mlgit(example_repo, "check", "data", "breast_cancer", "--update-profile").code == 1
    assert git("status", "--porcelain", cwd=example_repo) == " M schemas/breast_cancer.profile.json\n"
    dvc("checkout", "--force", "data/raw/breast_cancer.csv", cwd=example_repo)
    clean = mlgit(example_repo, "check", "data")
    assert clean.code == 0, clean.out
    assert "PASSED: 0 errors, 0 warnings" in clean.out
    assert "breast_cancer.profile.json does not describe the data any more" in clean.out  # the bad batch's profile
    clean = mlgit(example_repo, "check", "data", "--update-profile")
    assert clean.code == 0, clean.out
    assert "profile schemas/breast_cancer.profile.json restored to the committed one" in clean.out
    assert git("status", "--porcelain", cwd=example_repo) == ""  # the profile is back to the committed one


def test_expectations_alone_without_a_schema_and_mixed_types(tmp_path: Path, mlgit) -> None:
    data = rows(300)
    data[299][1] = "oops"
    cfg = CONFIG.replace(
        "    format: csv\n", "    format: csv\n    expectations:\n      - {column: x, between: [0, 10]}\n"
    )
    repo = make_repo(tmp_path, {"data/t.csv": csv_text(data)}, cfg)
    res = mlgit(repo, "check", "data", "--json")
    assert res.code == 1 and "Traceback" not in res.err
    assert codes(res.out, "error") >= {"data.no-schema"}
    (no_schema,) = by_code(res.out, "data.no-schema")
    assert "mlgit schema infer t" in str(no_schema["data"]["hint"])


def test_cached_findings_follow_mlgit_yaml_lines(tmp_path: Path, mlgit) -> None:
    cfg = CONFIG.replace(
        "    format: csv\n", "    format: csv\n    expectations:\n      - {column: x, between: [0, 5]}\n"
    )
    repo = make_repo(tmp_path, {"data/t.csv": csv_text(rows())}, cfg)
    first = by_code(mlgit(repo, "check", "data", "--json").out, "data.out-of-range")[0]
    (repo / "mlgit.yaml").write_text("# a comment that moves every line down\n" + cfg)
    again = json.loads(mlgit(repo, "check", "data", "--json").out)
    moved = next(f for f in again["findings"] if f["code"] == "data.out-of-range")
    assert moved["line"] == first["line"] + 1


def test_check_data_never_writes_and_update_profile_does(repo: Path, mlgit) -> None:
    profile = repo / "schemas/t.profile.json"
    committed = profile.read_bytes()
    (repo / "data/t.csv").write_text(csv_text(rows(200, seed=3)))
    commit_all(repo, "a new batch, without its profile")
    for args in ((), ("--json",), ("--no-cache",)):
        res = mlgit(repo, "check", "data", *args)
        assert res.code == 0, res.out
        assert git("status", "--porcelain", cwd=repo) == "" and profile.read_bytes() == committed
    (stale,) = by_code(mlgit(repo, "check", "data", "--json").out, "data.profile-stale")
    assert stale["file"] == "schemas/t.profile.json" and "--update-profile" in str(stale["message"])
    assert "data.profile-updated" not in mlgit(repo, "check", "data", "--json").out
    res = mlgit(repo, "check", "data", "--update-profile", "--json")
    assert res.code == 0, res.out
    (updated,) = by_code(res.out, "data.profile-updated")
    assert "updated to match the data; commit it with the data" in str(updated["message"])
    assert not by_code(res.out, "data.profile-stale")
    assert git("status", "--porcelain", cwd=repo) == " M schemas/t.profile.json\n"
    assert profile.read_bytes() != committed
    again = mlgit(repo, "check", "data", "--update-profile", "--json")
    assert not by_code(again.out, "data.profile-updated") and not by_code(again.out, "data.profile-stale")


def test_generated_ci_never_updates_profiles() -> None:
    templates = REPO_ROOT / "workflow_templates"
    texts = [p.read_text() for p in templates.rglob("*.j2")]
    assert texts and not any("--update-profile" in t or "schema infer" in t for t in texts)


ID_ORDERS = {
    "ascending": [1, 2, 3, 5, 8, 13],
    "descending": [13, 8, 5, 3, 2, 1],
    "shuffled": [5, 1, 13, 3, 8, 2],
    "ascending with a repeat": [1, 2, 2, 3, 5, 8],
    "descending with a repeat": [8, 5, 5, 3, 2, 1],
    "shuffled with repeats": [5, 1, 5, 3, 1, 5],
    "nulls between ascending": [1, None, 2, None, 3, 4],
    "nulls and a repeat": [1, None, 1, None, 3, 4],
    "all null": [None, None, None],
    "one value": [7],
    # Beyond the rows looked at first (query.PROBE_ROWS): ordered there, then not.
    "ordered head, a repeat later": [*range(1, 5001), 17],
    "ordered head, unordered unique later": [*range(1, 5001), 9000, 6000],
    "ordered head, ordered to the end": [*range(5000, 0, -1)],
}


@pytest.mark.parametrize("order", list(ID_ORDERS))
def test_integer_uniqueness_is_exact_whatever_the_order(order: str, tmp_path: Path, mlgit) -> None:
    """Ordered ids are judged from their steps in the one pass, others by an exact count: both give the truth."""
    ids = ID_ORDERS[order]
    text = "id,x\n" + "".join(f"{'' if v is None else v},1.0\n" for v in ids)
    schema = "version: 1\ncolumns:\n  id: {type: int, unique: true}\n  x: {type: float}\n"
    repo = make_repo(tmp_path, {"data/t.csv": text, "schemas/t.schema.yaml": schema})
    res = mlgit(repo, "check", "data", "--json", "--no-cache")
    present = [v for v in ids if v is not None]
    repeats = len(present) - len(set(present))
    found = by_code(res.out, "data.not-unique")
    assert [f["data"]["count"] for f in found] == ([repeats] if repeats else []), res.out
    assert res.code == (1 if repeats else 0)
