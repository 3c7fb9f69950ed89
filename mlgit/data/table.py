"""Dataset files as tables: locate them (one file or a folder of part files), sniff for bad input, scan lazily.

Reading is streaming through polars (imported only here, only when data is read); every problem with a file
becomes a `TableError` or `TableProblem` that names the file, never a traceback.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import os
import posixpath
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgit.repo import cache, git
from mlgit.results.codes import Code
from mlgit.system import files
from mlgit.system.files import looks_utf16

if TYPE_CHECKING:
    import polars as pl

EXTENSIONS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
SNIFF_BYTES = 64 * 1024
MAX_HEADER_BYTES = 1024 * 1024
SAMPLE_ROWS = 100_000
_SAMPLE_CHUNKS = 64
_PARQUET_SLICES = 8
_DELIMITERS = (";", "\t", "|")
# Below this many bytes a dataset is read whole (memory: a few times its size, at most a few hundred MB): polars'
# streaming engine keeps state per expression and thread, so its memory grows with columns x aggregates
# (20,000 columns: many GB, issue 12), while larger data is streamed in bounded batches of rows.
IN_MEMORY_BYTES = 64 * 1024 * 1024
MAX_EXPRESSIONS = 2_000  # aggregates in one polars query (see aggregate)


class TableError(Exception):
    """A problem that stops a dataset from being read (becomes an error finding naming the file)."""

    def __init__(self, code: Code, message: str, file: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.file = file
        self.hint = hint


@dataclass(frozen=True)
class TableProblem:
    """A problem with a file that still lets the rest of it be checked."""

    code: Code
    message: str
    file: str


@dataclass(frozen=True)
class Source:
    """A dataset's files in the work tree (paths relative to the repository root, sorted)."""

    root: Path
    path: str
    format: str
    files: tuple[str, ...]
    size: int
    fingerprint: str  # changes whenever a file is rewritten (size, mtime, inode)

    @property
    def abspaths(self) -> list[str]:
        """Absolute file paths, for the reader."""
        return [str(self.root / f) for f in self.files]

    @property
    def label(self) -> str:
        """The path as a person reads it (a folder says how many parts)."""
        return (
            self.path
            if len(self.files) == 1 and self.files[0] == self.path
            else f"{self.path} ({len(self.files)} files)"
        )


def format_of(path: str) -> str | None:
    """The table format implied by a file name."""
    return EXTENSIONS.get(posixpath.splitext(path)[1].lower())


def dvc_hashes(root: Path) -> dict[str, str]:
    """path -> DVC md5 of every output recorded in the work tree's .dvc files and dvc.lock files."""
    from mlgit.repo import dvc as pipeline

    files: dict[str, bytes | None] = {}
    for rel in git.work_tree_files(root, ["*.dvc", "dvc.lock", "*/dvc.lock"]):
        try:
            files[rel] = (root / rel).read_bytes()
        except OSError:
            files[rel] = None
    return pipeline.hashes_in(files, deps=False, root=root)


def locate(root: Path, path: str, fmt: str | None, tracked: Collection[str] = ()) -> Source:
    """Find a dataset's files; a missing DVC-tracked path says to `dvc pull`."""
    full = root / path
    if not full.exists():
        if (
            path in tracked
            or any(path.startswith(t.rstrip("/") + "/") for t in tracked)
            or (root / f"{path}.dvc").exists()
        ):
            raise TableError(
                Code.DATA_NOT_PULLED,
                f"{path} is tracked by DVC but is not in the work tree",
                path,
                hint=f"run 'dvc pull {path}' (or 'dvc repro' if a pipeline stage writes it)",
            )
        raise TableError(
            Code.DATA_MISSING, f"{path} does not exist", path, hint="check the dataset's path in mlgit.yaml"
        )
    if full.is_dir():
        files = []
        for dirpath, dirnames, filenames in os.walk(full):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
            rel = os.path.relpath(dirpath, root).replace(os.sep, "/")
            for name in sorted(filenames):
                if name.startswith((".", "_")):
                    continue  # .crc, _SUCCESS, _metadata: written beside the parts by Spark and friends
                kind = format_of(name)
                if kind is not None and (fmt is None or kind == fmt):
                    files.append(f"{rel}/{name}")
        kinds = {format_of(f) for f in files}
        if not files:
            want = f".{fmt}" if fmt else ".csv, .parquet or .jsonl"
            raise TableError(Code.DATA_NO_FILES, f"{path} is a folder without {want} part files", path)
        if fmt is None and len(kinds) > 1:
            raise TableError(
                Code.DATA_MIXED_FORMATS,
                f"{path} holds part files of several formats ({', '.join(sorted(str(k) for k in kinds))})",
                path,
                hint="set the dataset's format in mlgit.yaml",
            )
        fmt = fmt or next(iter(kinds))
    else:
        files = [path]
        fmt = fmt or format_of(path)
        if fmt is None:
            raise TableError(
                Code.DATA_UNKNOWN_FORMAT,
                f"{path}: cannot tell the table format from the name",
                path,
                hint="set format: csv | parquet | jsonl for the dataset in mlgit.yaml",
            )
    assert fmt is not None
    digest = hashlib.sha256()
    size = 0
    for rel in files:
        st = (root / rel).stat()
        size += st.st_size
        digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ino}\n".encode())
    return Source(root, path, fmt, tuple(files), size, digest.hexdigest()[:32])


# -- sniffing: cheap looks at each file's head and tail, so common bad input gets a precise message ----------


def _read_head(path: Path, n: int) -> bytes:
    with path.open("rb") as fh:
        return fh.read(n)


def _read_tail(path: Path, n: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        fh.seek(max(0, end - n))
        return fh.read()


def _check_utf8(data: bytes, rel: str, *, at_end: bool) -> None:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=at_end)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise TableError(
            Code.DATA_ENCODING,
            f"{rel}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line} cannot be decoded)",
            rel,
            hint="re-encode the file as UTF-8, e.g. 'iconv -f latin1 -t utf-8'",
        ) from None


def _binary(head: bytes, rel: str, fmt: str) -> None:
    hint = None
    if head.startswith(b"PAR1"):
        hint = "it looks like a Parquet file: set format: parquet in mlgit.yaml"
    elif head.startswith(b"\x1f\x8b"):
        hint = "it is gzip-compressed: store it uncompressed (DVC deduplicates and compresses nothing itself)"
    elif head.startswith(b"PK\x03\x04"):
        hint = "it is a zip archive: unpack it"
    if hint is None and looks_utf16(head):
        raise TableError(
            Code.DATA_ENCODING,
            f"{rel}: UTF-16 text, not UTF-8 (a byte-order mark or NUL bytes between the characters)",
            rel,
            hint="re-encode the file as UTF-8, e.g. 'iconv -f utf-16 -t utf-8'",
        )
    nul = head.find(b"\x00")
    if hint is not None or nul >= 0:
        where = f" (a NUL byte at offset {nul})" if nul >= 0 else ""
        raise TableError(Code.DATA_NOT_TEXT, f"{rel}: binary data, not {fmt.upper()} text{where}", rel, hint=hint)


def _header(head: bytes, rel: str, size: int) -> list[str]:
    eol = head.find(b"\n")
    if eol < 0:
        if size > len(head):
            cr = "\r" in head.decode("utf-8", "replace")
            raise TableError(
                Code.DATA_LINE_TOO_LONG,
                f"{rel}: the first line is longer than {len(head) // 1024} KiB",
                rel,
                hint="lines must end in \\n: convert the bare \\r line endings"
                if cr
                else "is it one huge record, or a file that is not line-oriented?",
            )
        eol = len(head)
    text = head[:eol].decode("utf-8", "replace").rstrip("\r").lstrip("\ufeff")
    try:
        return next(csv.reader([text]), [])
    except csv.Error as exc:  # a bare \r inside the line (old Mac line endings), a NUL, ...
        raise TableError(
            Code.DATA_UNREADABLE,
            f"{rel}: the header cannot be read as CSV ({exc})",
            rel,
            hint="lines must end in \\n: convert the bare \\r line endings" if "\r" in text else None,
        ) from None


def sniff(source: Source) -> list[TableProblem]:
    """Look at each file's head and tail; raise TableError for input that cannot be read at all."""
    problems: list[TableProblem] = []
    expected: list[str] | None = None
    first_schema: dict[str, Any] | None = None
    from mlgit.repo import dvc as pipeline

    caches = pipeline.cache_dirs(source.root)
    for rel in source.files:
        # A committed link to /dev/zero (size 0, endless) or out of the repository is refused, naming the file.
        path, st = files.regular_file(source.root, rel, links_into=caches)
        size = st.st_size
        if size == 0:
            raise TableError(Code.DATA_EMPTY_FILE, f"{rel} is empty (0 bytes)", rel, hint="regenerate or re-pull it")
        if source.format == "parquet":
            head, tail = _read_head(path, 4), _read_tail(path, 4)
            if head != b"PAR1" or tail != b"PAR1":
                which = "start" if head != b"PAR1" else "end"
                raise TableError(
                    Code.DATA_NOT_PARQUET,
                    f"{rel} is not a Parquet file (no PAR1 marker at the {which}): truncated, or another format",
                    rel,
                    hint="regenerate or re-pull it (dvc pull)",
                )
            if len(source.files) > 1:
                first_schema = _same_parquet_schema(source, rel, first_schema)
            continue
        head = _read_head(path, MAX_HEADER_BYTES if source.format == "csv" else SNIFF_BYTES)
        _binary(head[:SNIFF_BYTES], rel, source.format)
        whole = len(head) >= size
        _check_utf8(head[:SNIFF_BYTES] if not whole else head, rel, at_end=whole and len(head) <= SNIFF_BYTES)
        tail = head if whole else _read_tail(path, SNIFF_BYTES)
        if source.format == "csv":
            header = _header(head, rel, size)
            _csv_header_checks(header, rel)
            if expected is None:
                expected = header
            elif header != expected:
                raise TableError(
                    Code.DATA_PARTS_DISAGREE,
                    f"{rel}: its header differs from {source.files[0]}'s",
                    rel,
                    hint="every part file of a folder needs the same columns in the same order",
                )
            body = head[head.find(b"\n") + 1 :] if b"\n" in head else b""
            if whole and not body.strip() and len(source.files) == 1:
                raise TableError(Code.DATA_NO_ROWS, f"{rel} has a header but no rows", rel)
            problems += _csv_tail(tail, rel, len(header), whole=whole)
        else:
            problems += _jsonl_tail(tail, rel)
    return problems


def _same_parquet_schema(source: Source, rel: str, first: dict[str, Any] | None) -> dict[str, Any]:
    import polars as pl

    try:
        schema = dict(pl.read_parquet_schema(source.root / rel))
    except read_errors() as exc:
        raise reading_error(exc, source) from None
    if first is not None and schema != first:
        gone = [c for c in first if c not in schema]
        new = [c for c in schema if c not in first]
        changed = [f"{c} ({first[c]} -> {schema[c]})" for c in schema if c in first and first[c] != schema[c]]
        what = "; ".join(
            part
            for part in (
                f"missing {', '.join(gone)}" if gone else "",
                f"extra {', '.join(new)}" if new else "",
                f"other types: {', '.join(changed)}" if changed else "",
            )
            if part
        )
        raise TableError(
            Code.DATA_PARTS_DISAGREE,
            f"{rel}: its columns differ from {source.files[0]}'s ({what})",
            rel,
            hint="every part file of a folder needs the same columns and types",
        )
    return first if first is not None else schema


def _csv_header_checks(header: list[str], rel: str) -> None:
    if len(header) == 1:
        for d in _DELIMITERS:
            if d in header[0]:
                shown = "\\t" if d == "\t" else d
                raise TableError(
                    Code.DATA_WRONG_DELIMITER,
                    f"{rel}: the header is one column {header[0][:60]!r}: the file seems to use {shown!r} as its "
                    "delimiter, and mlgit reads comma-separated values",
                    rel,
                    hint="convert it to comma-separated values",
                )
    seen: dict[str, int] = {}
    dupes = []
    for i, name in enumerate(header, 1):
        if name in seen:
            dupes.append(f"{name!r} (columns {seen[name]} and {i})")
        seen.setdefault(name, i)
    if dupes:
        raise TableError(
            Code.DATA_DUPLICATE_COLUMN,
            f"{rel}: the header repeats column names: {', '.join(dupes[:5])}",
            rel,
            hint="give every column a distinct name",
        )


def _csv_tail(tail: bytes, rel: str, width: int, *, whole: bool) -> list[TableProblem]:
    if not tail or tail.endswith(b"\n"):
        return []
    last = tail[tail.rfind(b"\n") + 1 :]
    if not last.strip() or (whole and b"\n" not in tail):
        return []
    try:
        fields = next(csv.reader([last.decode("utf-8", "replace").rstrip("\r")]), [])
    except csv.Error:
        return []  # the reader names what is wrong with that line
    if len(fields) < width:
        return [
            TableProblem(
                Code.DATA_TRUNCATED,
                f"{rel}: the last line is cut short ({len(fields)} of {width} fields and no line break): "
                "was the file truncated?",
                rel,
            )
        ]
    return []


def _jsonl_tail(tail: bytes, rel: str) -> list[TableProblem]:
    if not tail or tail.endswith(b"\n"):
        return []
    last = tail[tail.rfind(b"\n") + 1 :].strip()
    if not last:
        return []
    try:
        json.loads(last)
    except ValueError:
        raise TableError(
            Code.DATA_TRUNCATED,
            f"{rel}: the last line is not complete JSON and has no line break: was the file truncated?",
            rel,
            hint="regenerate or re-pull it (dvc pull)",
        ) from None
    return []


def find_bad_utf8(source: Source) -> TableError | None:
    """The first file and line that is not UTF-8 (read in full: only after the reader failed)."""
    for rel in source.files:
        decoder = codecs.getincrementaldecoder("utf-8")()
        line = 1
        with (source.root / rel).open("rb") as fh:
            while chunk := fh.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line += chunk.count(b"\n", 0, exc.start)
                    return TableError(
                        Code.DATA_ENCODING,
                        f"{rel}: not UTF-8 text (byte 0x{chunk[exc.start]:02x} on line {line} cannot be decoded)",
                        rel,
                        hint="re-encode the file as UTF-8, e.g. 'iconv -f latin1 -t utf-8'",
                    )
                line += chunk.count(b"\n")
    return None


# -- types ---------------------------------------------------------------------------------------------------


def type_name(dtype: Any) -> str:
    """The schema type of a polars dtype."""
    import polars as pl

    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical):
        return "string"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return "other"


def polars_type(name: str) -> Any:
    """The polars dtype that reads a schema type (None: let the reader decide)."""
    import polars as pl

    return {
        "int": pl.Int64,
        "float": pl.Float64,
        "string": pl.String,
        "bool": pl.Boolean,
        "date": pl.Date,
        "datetime": pl.Datetime("us"),
    }.get(name)


def coerce(expr: pl.Expr, type_: str) -> pl.Expr:
    """Text to a schema type; unparseable values become null (used when a column has mixed types)."""
    import polars as pl

    if type_ == "int":
        return expr.str.strip_chars().cast(pl.Int64, strict=False)
    if type_ == "float":
        return expr.str.strip_chars().cast(pl.Float64, strict=False)
    if type_ == "bool":
        return expr.str.to_lowercase().replace_strict(
            {"true": True, "false": False}, default=None, return_dtype=pl.Boolean
        )
    if type_ == "date":
        return expr.str.to_date(strict=False)
    if type_ == "datetime":
        return expr.str.to_datetime(strict=False, time_unit="us")
    return expr


# -- reading -------------------------------------------------------------------------------------------------


def scan(
    source: Source, types: Mapping[str, str] | None = None, *, as_text: Collection[str] = (), infer_rows: int = 10_000
) -> pl.LazyFrame:
    """A lazy scan of all files; `types` fixes declared columns' types, `as_text` reads columns as text."""
    import polars as pl

    overrides: dict[str, Any] = {}
    for name, t in (types or {}).items():
        dtype = pl.String if name in as_text else polars_type(t)
        if dtype is not None:
            overrides[name] = dtype
    files = source.abspaths
    try:
        if source.format == "csv":
            return pl.scan_csv(
                files,
                schema_overrides=overrides or None,
                infer_schema_length=infer_rows,
                try_parse_dates=types is None,
                raise_if_empty=False,
            )
        if source.format == "jsonl":
            return pl.scan_ndjson(files, schema_overrides=overrides or None, infer_schema_length=infer_rows)
        return pl.scan_parquet(files)
    except read_errors() as exc:
        raise reading_error(exc, source) from None


def read_errors() -> tuple[type[BaseException], ...]:
    """What reading a file with polars raises on bad input; a corrupt Parquet file can make its Rust code panic,
    which reaches Python as a BaseException (issue 12: found by tests/cli/test_fuzz.py)."""
    import polars as pl

    return (pl.exceptions.PolarsError, pl.exceptions.PanicException, OSError, MemoryError)


def reading_error(exc: BaseException, source: Source) -> TableError:
    """A reader's exception as a TableError that names the file."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    where = source.files[0] if len(source.files) == 1 else source.path
    if "utf-8" in first.lower() or "utf8" in first.lower():
        located = find_bad_utf8(source)
        if located is not None:
            return located
        return TableError(Code.DATA_ENCODING, f"{where}: not UTF-8 text ({first})", where)
    if "could not parse" in first or "cannot parse" in first:
        return TableError(Code.DATA_TYPE_MISMATCH, f"{where}: {first}", where)
    if "empty" in first.lower():
        return TableError(Code.DATA_EMPTY_FILE, f"{where}: {first}", where)
    if isinstance(exc, MemoryError):
        return TableError(Code.DATA_OUT_OF_MEMORY, f"{where}: out of memory while reading", where)
    bad = find_bad_line(source) if source.format != "parquet" else None
    if bad is not None:
        return bad
    return TableError(Code.DATA_UNREADABLE, f"{where}: cannot be read as {source.format.upper()}: {first[:300]}", where)


def find_bad_line(source: Source) -> TableError | None:
    """The first file and line the reader refused: a CSV row with more fields than the header, a JSONL line that
    is not a JSON object (read line by line, only after the reader failed)."""
    for rel in source.files:
        with (source.root / rel).open(encoding="utf-8", errors="replace", newline="") as fh:
            found = _bad_csv_row(fh) if source.format == "csv" else _bad_jsonl_line(fh)
        if found is not None:
            line, what = found
            return TableError(
                Code.DATA_UNREADABLE,
                f"{rel}:{line}: {what}",
                rel,
                hint="fix or remove that line (a field holding the delimiter needs double quotes)"
                if source.format == "csv"
                else "every line must be one JSON object",
            )
    return None


def _bad_csv_row(fh: io.TextIOBase) -> tuple[int, str] | None:
    reader = csv.reader(fh)
    limit = csv.field_size_limit(1 << 31)  # a long field is data (the reader read it), not the problem
    try:
        width = len(next(reader, []))
        for row in reader:
            if len(row) > width:
                return reader.line_num, f"{len(row)} fields where the header has {width}"
    except csv.Error as exc:
        return reader.line_num, f"cannot be read as CSV ({exc})"
    finally:
        csv.field_size_limit(limit)
    return None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _bad_jsonl_line(fh: io.TextIOBase) -> tuple[int, str] | None:
    for number, text in enumerate(fh, 1):
        if not text.strip():
            continue
        try:
            value = json.loads(text.strip(), parse_constant=_not_json)
        except json.JSONDecodeError as exc:
            return number, f"not valid JSON ({exc.msg} at column {exc.colno})"
        except ValueError as exc:  # an integer past Python's digit limit
            return number, f"not valid JSON ({exc})"
        except RecursionError:
            return number, "JSON nested too deep"
        if not isinstance(value, dict):
            return number, f"a JSON {type(value).__name__}, not an object"
    return None


def collect(query: pl.LazyFrame, source: Source) -> pl.DataFrame:
    """Run a query (a small dataset in memory, a large one streamed); reader errors name the file."""

    try:
        return query.collect(engine="in-memory" if source.size <= IN_MEMORY_BYTES else "streaming")
    except read_errors() as exc:
        raise reading_error(exc, source) from None


def aggregate(query: pl.LazyFrame, exprs: Sequence[pl.Expr], source: Source) -> dict[str, Any]:
    """One row of aggregates (alias -> value) over `query`, computed a batch of expressions at a time.

    polars keeps state for every expression of a query (kilobytes each; far more in the streaming engine), so
    the thousands of aggregates of a wide table run in batches: memory is bounded by a batch, not by the
    columns (issue 12). A small dataset is read once and each batch runs over that frame; a large one is
    streamed again for each batch.
    """
    if len(exprs) <= MAX_EXPRESSIONS:
        return dict(collect(query.select(exprs), source).row(0, named=True))
    if source.size <= IN_MEMORY_BYTES:
        query = collect(query, source).lazy()
    out: dict[str, Any] = {}
    for start in range(0, len(exprs), MAX_EXPRESSIONS):
        out.update(collect(query.select(exprs[start : start + MAX_EXPRESSIONS]), source).row(0, named=True))
    return out


def column_types(source: Source, *, thorough: bool = True) -> dict[str, str]:
    """Actual column names and their schema types (reads only headers, metadata, or the first rows).

    `thorough` looks at 10,000 rows and recognizes dates (for inference); otherwise 500 rows suffice, since
    checks read declared columns as their declared types anyway. Cached by the files' content (`repo.cache`):
    the schema check of unchanged data then does not even import polars.
    """
    if not cache.enabled():
        return _column_types(source, thorough)
    try:
        digest: str | None = cache.key(
            "column-types/1", source.format, str(thorough), cache.fingerprint(source.root, source.files)
        )
    except cache.Uncacheable:
        digest = None
    hit = cache.load(source.root, f"columns:{source.path}", digest) if digest is not None else None
    if hit is not None and isinstance(hit.get("types"), dict):
        return {str(k): str(v) for k, v in hit["types"].items()}
    found = _column_types(source, thorough)
    if digest is not None:
        cache.store(source.root, f"columns:{source.path}", digest, {"types": found})
    return found


def _column_types(source: Source, thorough: bool) -> dict[str, str]:
    lf = scan(source) if thorough else scan(source, {}, infer_rows=500)
    try:
        schema = lf.collect_schema()
    except read_errors() as exc:
        raise reading_error(exc, source) from None
    unnamed = [i for i, name in enumerate(schema, 1) if not name]
    if unnamed:
        raise TableError(
            Code.DATA_UNNAMED_COLUMN,
            f"{source.label}: column {unnamed[0]} has no name (an empty header cell)",
            source.files[0] if len(source.files) == 1 else source.path,
            hint="give every column a name (a pandas index written by to_csv? pass index=False, or name it)",
        )
    return {name: type_name(dtype) for name, dtype in schema.items()}


def _chunks(path: Path, start: int, end: int, parts: int, per_part: int) -> Iterator[bytes]:
    with path.open("rb") as fh:
        for i in range(parts):
            offset = start + (end - start) * i // parts
            fh.seek(offset)
            buf = fh.read(per_part)
            if offset > start:
                cut = buf.find(b"\n")
                buf = buf[cut + 1 :] if cut >= 0 else b""
            last = buf.rfind(b"\n")
            buf = buf[: last + 1] if last >= 0 else b""
            if buf:
                yield buf


def sample(source: Source, columns: Sequence[str], rows: int = SAMPLE_ROWS) -> pl.DataFrame:
    """About `rows` rows spread evenly over the whole dataset, as text (all of it when it is small)."""
    import polars as pl

    if source.format == "parquet":
        lf = pl.scan_parquet(source.abspaths).select(columns)
        total = int(collect(lf.select(pl.len()), source).item())
        if total <= rows:
            return collect(lf, source)
        # Separate small slices: each one reads only the row groups it touches (a concat of them would not).
        per = max(1, rows // _PARQUET_SLICES)
        return pl.concat([collect(lf.slice(total * i // _PARQUET_SLICES, per), source) for i in range(_PARQUET_SLICES)])
    if source.size <= 16 * 1024 * 1024:
        df = collect(scan(source, dict.fromkeys(columns, "string"), as_text=columns).select(columns), source)
        return df
    # Evenly spaced byte ranges, cut at line breaks: reading ~1 % of a large file gives a stratified sample.
    est_row = max(16, source.size // max(1, _estimate_rows(source)))
    budget = rows * est_row
    blobs: list[bytes] = []
    header = b""
    for rel in source.files:
        path = source.root / rel
        size = path.stat().st_size
        start = 0
        if source.format == "csv":
            head = _read_head(path, MAX_HEADER_BYTES)
            start = head.find(b"\n") + 1
            header = head[:start]
        share = max(1, round(_SAMPLE_CHUNKS * size / source.size))
        per_part = max(est_row * 4, budget * size // source.size // share)
        blobs.extend(_chunks(path, start, size, share, per_part))
    data = b"".join(blobs)
    try:
        if source.format == "csv":
            df = pl.read_csv(io.BytesIO(header + data), infer_schema=False, columns=list(columns))
        else:
            df = pl.read_ndjson(io.BytesIO(data), schema_overrides=dict.fromkeys(columns, pl.String)).select(columns)
    except (pl.exceptions.PolarsError, ValueError):
        # A quoted field with line breaks can cut a chunk mid-record: fall back to the first rows.
        text = scan(source, dict.fromkeys(columns, "string"), as_text=columns)
        df = collect(text.select(columns).head(rows), source)
    return df


def _estimate_rows(source: Source) -> int:
    head = _read_head(source.root / source.files[0], SNIFF_BYTES)
    lines = max(1, head.count(b"\n"))
    return max(1, source.size * lines // max(1, len(head)))
