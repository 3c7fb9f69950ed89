"""The same 10 data checks with mlgit, polars by hand, DuckDB, pandera and Great Expectations, plus the floor.

Run: make bench-data   (or: python benchmarks/data_checks.py [--rows 1000000 10000000] [--runs 3])
     python benchmarks/data_checks.py --bounded-memory 30000000   (peak RSS of mlgit on a ~4.5 GB CSV)

Data: deterministic synthetic tables (seed 42) of 12 columns: a unique id, five floats with ~1 % nulls,
an int, three categoricals, a 0/1 label and a timestamp, written once as CSV and Parquet to --data-dir
(default: ~/.cache/mlgit-bench; 10M rows take ~1.5 GB of CSV and ~0.6 GB of Parquet).

The 10 checks: id not null; id unique; amount in [0, 1e6]; score in [-10, 10]; null fraction of ratio
<= 2 %; category in {a..e}; label in {0, 1}; row count in [1, 1e8]; the dtype of every column;
mean of temperature in [19, 21]. Every tool reads the whole file and must pass all 10 on this data.

Each measurement is one whole process (interpreter start, imports, reading, checking, verdict): wall time
and peak RSS (from wait4), medians over --runs after --warmup unmeasured runs, tools interleaved run by run. mlgit runs `mlgit check data
--no-cache` (a cold check: it also writes the drift profile the others do not compute). Peers that are not
installed are skipped with a note; `make bench-data` installs them in .venv-bench.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
    "NO_COLOR": "1",
}
CATEGORIES = ["a", "b", "c", "d", "e"]
COUNTRIES = [f"C{i:02d}" for i in range(20)]
CHANNELS = ["web", "app", "store"]

SCHEMA = """\
version: 1
rows: {min: 1, max: 100000000}
columns:
  id: {type: int, nullable: false, unique: true}
  amount: {type: float, min: 0, max: 1000000, finite: false}
  score: {type: float, min: -10, max: 10, finite: false}
  ratio: {type: float, max_null_fraction: 0.02, finite: false}
  temperature: {type: float, finite: false}
  income: {type: float, finite: false}
  age: {type: int}
  category: {type: string, values: [a, b, c, d, e]}
  country: {type: string}
  channel: {type: string}
  label: {type: int, values: [0, 1]}
  ts: {type: datetime}
accepted_breaking: []
"""

CONFIG = """\
version: 1
datasets:
  bench:
    path: {path}
    format: {fmt}
    expectations:
      - column: temperature
        mean_between: [19, 21]
ci:
  default_branch: main
"""

# Each peer script reads the file, runs the 10 checks lazily (all of them), and prints {"passed": ...}.
# The expected dtypes are the ones pandas reads for the declared column types (pandas 2 and 3 differ).
_READ = """
import json, sys
import pandas as pd
path, fmt = sys.argv[1], sys.argv[2]
df = pd.read_parquet(path) if fmt == "parquet" else pd.read_csv(path, parse_dates=["ts"])
dtypes = {c: str(t) for c, t in df.dtypes.items()}
"""

PANDERA = (
    _READ
    + """
try:
    import pandera.pandas as pa
except ImportError:
    import pandera as pa
cols = {c: pa.Column(t, nullable=True) for c, t in dtypes.items()}
cols["id"] = pa.Column(dtypes["id"], nullable=False, unique=True)
cols["amount"] = pa.Column(dtypes["amount"], pa.Check.in_range(0, 1e6), nullable=True)
cols["score"] = pa.Column(dtypes["score"], pa.Check.in_range(-10, 10), nullable=True)
cols["temperature"] = pa.Column(dtypes["temperature"], pa.Check(lambda s: 19 <= s.mean() <= 21), nullable=True)
cols["category"] = pa.Column(dtypes["category"], pa.Check.isin(__CATEGORIES__))
cols["label"] = pa.Column(dtypes["label"], pa.Check.isin([0, 1]))
schema = pa.DataFrameSchema(
    cols,
    checks=[
        pa.Check(lambda d: 1 <= len(d) <= 100_000_000),
        # pandera drops nulls before column checks, so the null fraction is a frame-level check.
        pa.Check(lambda d: d["ratio"].isna().mean() <= 0.02),
    ],
)
try:
    schema.validate(df, lazy=True)
    passed = True
except pa.errors.SchemaErrors:
    passed = False
print(json.dumps({"passed": passed}))
""".replace("__CATEGORIES__", repr(CATEGORIES))
)

GREAT_EXPECTATIONS = (
    _READ
    + """
import great_expectations as gx
import great_expectations.expectations as gxe
context = gx.get_context(mode="ephemeral")
batch = (
    context.data_sources.add_pandas("bench")
    .add_dataframe_asset("data")
    .add_batch_definition_whole_dataframe("all")
    .get_batch(batch_parameters={"dataframe": df})
)
suite = context.suites.add(gx.ExpectationSuite(name="bench"))
for e in [
    gxe.ExpectColumnValuesToNotBeNull(column="id"),
    gxe.ExpectColumnValuesToBeUnique(column="id"),
    gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0, max_value=1e6),
    gxe.ExpectColumnValuesToBeBetween(column="score", min_value=-10, max_value=10),
    gxe.ExpectColumnValuesToNotBeNull(column="ratio", mostly=0.98),
    gxe.ExpectColumnValuesToBeInSet(column="category", value_set=__CATEGORIES__),
    gxe.ExpectColumnValuesToBeInSet(column="label", value_set=[0, 1]),
    gxe.ExpectTableRowCountToBeBetween(min_value=1, max_value=100_000_000),
    gxe.ExpectColumnMeanToBeBetween(column="temperature", min_value=19, max_value=21),
    *(gxe.ExpectColumnValuesToBeOfType(column=c, type_=t) for c, t in dtypes.items()),
]:
    suite.add_expectation(e)
print(json.dumps({"passed": bool(batch.validate(suite).success)}))
""".replace("__CATEGORIES__", repr(CATEGORIES))
)

# The floor: every column read into its type and aggregated once, in one streaming pass. Timestamps are read
# as text and converted in the query, polars' fastest way for CSV (its reader's own date parsing is slower).
FLOOR = """
import json, sys
import polars as pl
path, fmt = sys.argv[1], sys.argv[2]
if fmt == "parquet":
    lf = pl.scan_parquet(path)
else:
    lf = pl.scan_csv(path, schema_overrides={"ts": pl.String})
    lf = lf.with_columns(pl.col("ts").str.to_datetime(time_unit="us"))
row = lf.select(pl.all().max()).collect(engine="streaming")
print(json.dumps({"passed": row.height == 1}))
"""


# The same 10 checks written by hand as one polars query (what a careful engineer would write for this table
# alone): the reference mlgit's general query is held to.
POLARS = """
import json, sys
import polars as pl
path, fmt = sys.argv[1], sys.argv[2]
if fmt == "parquet":
    lf = pl.scan_parquet(path)
else:
    lf = pl.scan_csv(path, schema_overrides={"ts": pl.String})
    lf = lf.with_columns(pl.col("ts").str.to_datetime(time_unit="us"))
dtypes = dict(lf.collect_schema())
expected = {"id": pl.Int64, "amount": pl.Float64, "score": pl.Float64, "ratio": pl.Float64,
            "temperature": pl.Float64, "income": pl.Float64, "age": pl.Int64, "category": pl.String,
            "country": pl.String, "channel": pl.String, "label": pl.Int64, "ts": pl.Datetime("us")}
row = lf.select(
    pl.len().alias("rows"),
    pl.col("id").null_count().alias("id_nulls"),
    pl.col("id").n_unique().alias("id_unique"),
    ((pl.col("amount") < 0) | (pl.col("amount") > 1e6)).sum().alias("amount_out"),
    ((pl.col("score") < -10) | (pl.col("score") > 10)).sum().alias("score_out"),
    pl.col("ratio").null_count().alias("ratio_nulls"),
    (~pl.col("category").is_in(__CATEGORIES__)).sum().alias("category_out"),
    (~pl.col("label").is_in([0, 1])).sum().alias("label_out"),
    pl.col("temperature").mean().alias("temperature_mean"),
).collect(engine="streaming").row(0, named=True)
n = row["rows"]
passed = (
    all(dtypes.get(k) == v for k, v in expected.items())
    and row["id_nulls"] == 0 and row["id_unique"] == n and row["amount_out"] == 0 and row["score_out"] == 0
    and row["ratio_nulls"] <= 0.02 * n and row["category_out"] == 0 and row["label_out"] == 0
    and 1 <= n <= 100_000_000 and 19 <= row["temperature_mean"] <= 21
)
print(json.dumps({"passed": passed}))
""".replace("__CATEGORIES__", repr(CATEGORIES))

# The same 10 checks as one DuckDB SQL query over the file (DuckDB is installed by `make bench-data` only).
DUCKDB = """
import json, sys
import duckdb
path, fmt = sys.argv[1], sys.argv[2]
con = duckdb.connect()
src = f"read_parquet('{path}')" if fmt == "parquet" else f"read_csv('{path}')"
types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
expected = {"id": "BIGINT", "amount": "DOUBLE", "score": "DOUBLE", "ratio": "DOUBLE", "temperature": "DOUBLE",
            "income": "DOUBLE", "age": "BIGINT", "category": "VARCHAR", "country": "VARCHAR", "channel": "VARCHAR",
            "label": "BIGINT"}
query = f\"\"\"
    SELECT count(*), count(*) - count(id), count(DISTINCT id),
           count_if(amount < 0 OR amount > 1e6), count_if(score < -10 OR score > 10),
           count(*) - count(ratio), count_if(category NOT IN __CATEGORIES_SQL__), count_if(label NOT IN (0, 1)),
           avg(temperature)
    FROM {src}\"\"\"
n, id_nulls, id_unique, amount_out, score_out, ratio_nulls, category_out, label_out, mean = con.execute(query).fetchone()
passed = (
    all(types.get(k) == v for k, v in expected.items()) and types.get("ts", "").startswith("TIMESTAMP")
    and id_nulls == 0 and id_unique == n and amount_out == 0 and score_out == 0 and ratio_nulls <= 0.02 * n
    and category_out == 0 and label_out == 0 and 1 <= n <= 100_000_000 and 19 <= mean <= 21
)
print(json.dumps({"passed": passed}))
""".replace("__CATEGORIES_SQL__", "(" + ", ".join(f"'{c}'" for c in CATEGORIES) + ")")


# -- data ----------------------------------------------------------------------------------------------------


def generate(rows: int, folder: Path) -> tuple[Path, Path]:
    """Write (once) the deterministic table as CSV and Parquet; returns both paths."""
    csv_path, pq_path = folder / f"synthetic-{rows}.csv", folder / f"synthetic-{rows}.parquet"
    if not (csv_path.exists() and pq_path.exists()):
        # In a process of its own: a child forked from a 2 GB parent would report that as its peak memory.
        subprocess.run([sys.executable, __file__, "--write-data", str(rows), str(folder)], check=True)
    return csv_path, pq_path


def _table(rows: int, rng: Any, ids: Any) -> Any:
    """The 12 columns of `rows` rows drawn from `rng` (a numpy Generator), with the given ids."""
    import numpy as np
    import polars as pl

    def with_nulls(values: object) -> pl.Series:
        series = pl.Series(values)
        return series.scatter(np.flatnonzero(rng.random(rows) < 0.01), None)

    return pl.DataFrame(
        {
            "id": ids,
            "amount": with_nulls(rng.lognormal(3, 1, rows)),
            "score": with_nulls(rng.normal(0, 1, rows)),
            "ratio": with_nulls(rng.random(rows)),
            "temperature": with_nulls(rng.normal(20, 5, rows)),
            "income": with_nulls(rng.gamma(2, 20000, rows)),
            "age": rng.integers(18, 91, rows),
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), rows)],
            "country": np.array(COUNTRIES)[rng.integers(0, len(COUNTRIES), rows)],
            "channel": np.array(CHANNELS)[rng.integers(0, len(CHANNELS), rows)],
            "label": rng.integers(0, 2, rows),
            "ts": pl.Series((1_735_689_600 + rng.integers(0, 365 * 86_400, rows)) * 1_000_000).cast(pl.Datetime("us")),
        }
    )


def write_data(rows: int, folder: Path) -> None:
    """Generate the table and write it as CSV and Parquet (each file appears whole or not at all)."""
    csv_path, pq_path = folder / f"synthetic-{rows}.csv", folder / f"synthetic-{rows}.parquet"
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating {rows:,} rows in {folder} ...", flush=True)
    rng = np.random.default_rng(42)
    # Shuffled ids: the hard case for uniqueness (an exact distinct count); ids in order are cheaper.
    df = _table(rows, rng, rng.permutation(rows).astype(np.int64))
    for path, write in ((csv_path, df.write_csv), (pq_path, df.write_parquet)):
        tmp = path.with_suffix(path.suffix + ".tmp")
        write(tmp)
        tmp.replace(path)


CHUNK_ROWS = 1_000_000


def write_big_csv(rows: int, folder: Path) -> Path:
    """A CSV of `rows` rows written 1M rows at a time (bounded memory), ids in order as most tables have them."""
    import numpy as np

    path = folder / f"synthetic-{rows}-ordered.csv"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    print(f"generating {rows:,} rows in {path} ...", flush=True)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("wb") as fh:
        for start in range(0, rows, CHUNK_ROWS):
            n = min(CHUNK_ROWS, rows - start)
            chunk = _table(n, np.random.default_rng([42, start]), np.arange(start, start + n, dtype=np.int64))
            chunk.write_csv(fh, include_header=start == 0)
    tmp.replace(path)
    return path


def mlgit_repo(data: Path, fmt: str, where: Path) -> Path:
    """A git repository declaring the data file as a dataset, with the 10 checks as schema + expectation."""
    repo = where / f"repo-{fmt}"
    repo.mkdir(parents=True)
    link = repo / f"bench.{fmt}"
    link.symlink_to(data)
    (repo / "schemas").mkdir()
    (repo / "schemas" / "bench.schema.yaml").write_text(SCHEMA)
    (repo / "mlgit.yaml").write_text(CONFIG.format(path=link.name, fmt=fmt))
    (repo / ".gitignore").write_text(f"{link.name}\nschemas/*.profile.json\n")
    for args in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-q", "-m", "bench")):
        subprocess.run(("git", *args), cwd=repo, env=ENV, check=True, capture_output=True)
    return repo


# -- measuring -----------------------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    passed: bool | None


def measure(args: list[str], cwd: Path) -> Sample:
    """Wall time and peak RSS of one whole process; its last stdout line is a JSON verdict."""
    # Files, not pipes: a chatty tool cannot block on a full pipe while we wait for it.
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(args, cwd=cwd, env=ENV, stdout=out_file, stderr=err_file)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_file.seek(0)
        err_file.seek(0)
        out = out_file.read().decode(errors="replace").strip()
        err = err_file.read().decode(errors="replace").strip()
    passed: bool | None = None
    for text in (out, out.splitlines()[-1] if out else ""):
        try:
            passed = bool(json.loads(text).get("passed"))
            break
        except (ValueError, AttributeError):
            continue
    if passed is None:
        print(f"  ! {' '.join(args[:5])} ... exited {proc.returncode}: {err[-800:]}", file=sys.stderr)
    return Sample(elapsed, usage.ru_maxrss / 1024, passed)


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def tools(scripts: Path) -> dict[str, list[str] | None]:
    """name -> command prefix (None: not installed)."""
    py = sys.executable
    out: dict[str, list[str] | None] = {
        "floor": [py, str(scripts / "floor.py")],
        "mlgit": [py, "-m", "mlgit", "check", "data", "--no-cache", "--json"],
        "polars (by hand)": [py, str(scripts / "polars_check.py")],
    }
    out["duckdb"] = [py, str(scripts / "duckdb_check.py")] if installed("duckdb") else None
    have_pandas = installed("pandas")
    out["pandera"] = [py, str(scripts / "pandera_check.py")] if have_pandas and installed("pandera") else None
    gx = have_pandas and installed("great_expectations")
    out["great-expectations"] = [py, str(scripts / "gx_check.py")] if gx else None
    return out


def main() -> int:
    if sys.argv[1:2] == ["--write-data"]:
        write_data(int(sys.argv[2]), Path(sys.argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"], choices=["csv", "parquet"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs first (page cache, first-run caches)")
    parser.add_argument(
        "--tools", nargs="+", help="subset of: floor mlgit 'polars (by hand)' duckdb pandera great-expectations"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MLGIT_BENCH_DATA", Path.home() / ".cache" / "mlgit-bench")),
    )
    parser.add_argument(
        "--bounded-memory",
        type=int,
        metavar="ROWS",
        help="instead: check one CSV of ROWS rows (e.g. 30000000, about 4.5 GB) with mlgit and report its peak RSS",
    )
    opts = parser.parse_args()
    if opts.bounded_memory:
        return bounded_memory(opts.bounded_memory, opts.data_dir)
    with tempfile.TemporaryDirectory(prefix="mlgit-bench-") as tmp:
        work = Path(tmp)
        scripts = work / "scripts"
        scripts.mkdir()
        (scripts / "floor.py").write_text(textwrap.dedent(FLOOR))
        (scripts / "polars_check.py").write_text(POLARS)
        (scripts / "duckdb_check.py").write_text(DUCKDB)
        (scripts / "pandera_check.py").write_text(PANDERA)
        (scripts / "gx_check.py").write_text(GREAT_EXPECTATIONS)
        available = tools(scripts)
        if opts.tools:
            available = {k: v for k, v in available.items() if k in opts.tools}
        for name, cmd in available.items():
            if cmd is None:
                print(f"note: {name} is not installed here: skipped (run 'make bench-data', or pip install '.[bench]')")
        results: list[tuple[int, str, str, Sample, float]] = []
        for rows in opts.rows:
            csv_path, pq_path = generate(rows, opts.data_dir)
            for fmt in opts.formats:
                data = csv_path if fmt == "csv" else pq_path
                repo = mlgit_repo(data, fmt, work / f"r{rows}")
                samples: dict[str, list[Sample]] = {k: [] for k, v in available.items() if v is not None}
                size = data.stat().st_size / 1e6
                print(f"{rows:,} rows, {fmt} ({size:,.0f} MB): {opts.runs} runs of {', '.join(samples)}", flush=True)
                for run in range(opts.warmup + opts.runs):
                    for name, cmd in available.items():
                        if cmd is None:
                            continue
                        args = cmd if name == "mlgit" else [*cmd, str(data), fmt]
                        sample = measure(args, repo)
                        if run >= opts.warmup:
                            samples[name].append(sample)
                floor = statistics.median(s.seconds for s in samples["floor"]) if samples.get("floor") else 0.0
                for name, ss in samples.items():
                    med = statistics.median(s.seconds for s in ss)
                    results.append((rows, fmt, name, Sample(med, statistics.median(s.rss_mb for s in ss),
                                                             all(s.passed for s in ss)), floor))  # fmt: skip
        report(results)
    return 0


def bounded_memory(rows: int, folder: Path) -> int:
    """`mlgit check data --no-cache` on a CSV far larger than memory should need: peak RSS against 1 GB."""
    data = write_big_csv(rows, folder)
    with tempfile.TemporaryDirectory(prefix="mlgit-bench-") as tmp:
        repo = mlgit_repo(data, "csv", Path(tmp))
        sample = measure([sys.executable, "-m", "mlgit", "check", "data", "--no-cache", "--json"], repo)
    size = data.stat().st_size / 1e9
    verdict = "passed" if sample.passed else "FAILED"
    print(f"{rows:,} rows, CSV ({size:.2f} GB, ids in order): mlgit check data --no-cache {verdict}")
    print(f"  wall {sample.seconds:.1f} s, peak RSS {sample.rss_mb:,.0f} MB   (target: <= 1,024 MB)")
    return 0 if sample.passed else 1


def report(results: list[tuple[int, str, str, Sample, float]]) -> None:
    """One table with every tool side by side, then the targets."""
    header = ["rows", "format", "tool", "median s", "x floor", "x polars", "x mlgit", "peak RSS MB", "10 checks passed"]
    mlgit_time = {(r, f): s.seconds for r, f, n, s, _ in results if n == "mlgit"}
    by_hand = {(r, f): s.seconds for r, f, n, s, _ in results if n == "polars (by hand)"}
    rows_out = []
    for rows, fmt, name, s, floor in results:
        ref, hand = mlgit_time.get((rows, fmt)), by_hand.get((rows, fmt))
        rows_out.append(
            [
                f"{rows:,}",
                fmt,
                name,
                f"{s.seconds:.2f}",
                f"{s.seconds / floor:.2f}" if floor else "-",
                f"{s.seconds / hand:.2f}" if hand else "-",
                f"{s.seconds / ref:.2f}" if ref else "-",
                f"{s.rss_mb:,.0f}",
                "yes" if s.passed else "NO",
            ]
        )
    widths = [max(len(h), *(len(r[i]) for r in rows_out)) for i, h in enumerate(header)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows_out:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print("\ntargets at 10M rows: mlgit <= 1.1x floor (CSV), <= 1.3x floor (Parquet), <= 1.05x the polars query by")
    print("hand; mlgit peak memory <= 500 MB.")


if __name__ == "__main__":
    raise SystemExit(main())
