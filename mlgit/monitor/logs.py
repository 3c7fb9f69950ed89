"""Prediction logs as one stream of requests: `mlgit serve`'s JSONL, KServe's CloudEvents, or plain tables.

Every source is read line by line (tables through polars), so a log of any size is bounded work; a line that
is not a request (bad JSON, a truncated record, wrong types) is counted and skipped with its file and line,
never a traceback. A path may be a file, a folder (its `*.jsonl*`, `*.csv`, `*.parquet` files, rotated ones
included) or a URL, read through DVC's filesystems.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from mlgit.errors import InputError
from mlgit.repo import dvc

if TYPE_CHECKING:
    import polars as pl

MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_PENDING = 100_000  # CloudEvents requests waiting for their response before they count as unanswered
SAMPLES = 5
META = ("id", "time", "timestamp", "latency_ms", "status", "error", "model", "version")
_REQUEST = "org.kubeflow.serving.inference.request"
_RESPONSE = "org.kubeflow.serving.inference.response"


@dataclass
class Request:
    """One logged request: columns of input values, the outputs (None when not answered), how it went."""

    id: str | None
    time: datetime | None
    model: str | None
    version: str | None
    inputs: dict[str, list[Any]]
    outputs: dict[str, list[Any]] | None
    latency_ms: float | None
    status: int
    rows: int


@dataclass
class Skipped:
    """Lines that are not requests: how many, and the first few with file, line and why."""

    count: int = 0
    samples: list[str] = field(default_factory=list)

    def add(self, where: str, why: str) -> None:
        self.count += 1
        if len(self.samples) < SAMPLES:
            self.samples.append(f"{where}: {why}")


class _Bad(ValueError):
    """A line that is not a request (the message says why)."""


def parse_time(text: Any) -> datetime | None:
    """An ISO 8601 timestamp as UTC (`Z` or an offset; naive times are UTC); None when absent."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise _Bad(f"time {text!r} is not an ISO 8601 string")
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(f"time {text[:40]!r} is not ISO 8601") from None
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def _rows(inputs: dict[str, list[Any]]) -> int:
    sizes = {len(v) for v in inputs.values()}
    if len(sizes) > 1:
        raise _Bad(f"inputs of different lengths {sorted(sizes)}")
    return sizes.pop() if sizes else 0


def _columns(value: Any, what: str) -> dict[str, list[Any]]:
    if not isinstance(value, dict):
        raise _Bad(f"{what} is not an object of columns")
    out: dict[str, list[Any]] = {}
    for k, v in value.items():
        out[str(k)] = v if isinstance(v, list) else [v]
    return out


def _mlgit(doc: dict[str, Any]) -> Request:
    inputs = doc.get("inputs")
    status = doc.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool):
        raise _Bad(f"status {status!r} is not an integer")
    latency = doc.get("latency_ms")
    if latency is not None and (not isinstance(latency, int | float) or isinstance(latency, bool)):
        raise _Bad(f"latency_ms {latency!r} is not a number")
    columns = _columns(inputs, "inputs") if inputs is not None else {}
    outputs = doc.get("outputs")
    return Request(
        id=None if doc.get("id") is None else str(doc["id"]),
        time=parse_time(doc.get("time")),
        model=doc.get("model"),
        version=doc.get("version"),
        inputs=columns,
        outputs=_columns(outputs, "outputs") if outputs is not None else None,
        latency_ms=None if latency is None else float(latency),
        status=status,
        rows=_rows(columns),
    )


def _tensors(tensors: Any, what: str) -> dict[str, list[Any]]:
    """OIP v2 tensors (one per column) as columns; KServe v1's `instances` are not named, so not read."""
    if not isinstance(tensors, list):
        raise _Bad(f"{what} is not a list of tensors")
    out: dict[str, list[Any]] = {}
    for t in tensors:
        if not isinstance(t, dict) or "name" not in t or not isinstance(t.get("data"), list):
            raise _Bad(f"{what}: a tensor without name or data")
        data: list[Any] = t["data"]
        while data and isinstance(data[0], list):  # [[v], [v]] as sent by some clients
            data = [x for row in data for x in (row if isinstance(row, list) else [row])]
        out[str(t["name"])] = data
    return out


def _event_data(doc: dict[str, Any]) -> dict[str, Any]:
    data = doc.get("data")
    if isinstance(data, str):
        data = json.loads(data)
    if not isinstance(data, dict):
        raise _Bad("the CloudEvent carries no JSON data")
    return data


@dataclass
class _CloudEvents:
    """Pairs KServe logger request and response events by their CloudEvent id."""

    pending: dict[str, Request] = field(default_factory=dict)

    def take(self, doc: dict[str, Any]) -> Iterator[Request]:
        kind, cid = doc.get("type"), doc.get("id")
        if not isinstance(cid, str):
            raise _Bad("a CloudEvent without an id")
        data = _event_data(doc)
        if kind == _REQUEST:
            inputs = _tensors(data.get("inputs"), "inputs")
            req: Request | None = Request(
                cid, parse_time(doc.get("time")), data.get("model_name"), None, inputs, None, None, 200, _rows(inputs)
            )
            assert req is not None
            self.pending[cid] = req
            if len(self.pending) > MAX_PENDING:
                yield self.pending.pop(next(iter(self.pending)))
        elif kind == _RESPONSE:
            req = self.pending.pop(cid, None)
            if req is None:
                raise _Bad(f"a response event {cid[:40]!r} without its request")
            req.outputs = _tensors(data.get("outputs"), "outputs")
            req.model = req.model or data.get("model_name")
            req.version = data.get("model_version") or req.version
            yield req
        else:
            raise _Bad(f"CloudEvent type {str(kind)[:60]!r} is not a KServe inference request or response")

    def rest(self) -> Iterator[Request]:
        yield from self.pending.values()  # requests whose response was never logged
        self.pending.clear()


def _flat(doc: dict[str, Any], inputs: frozenset[str]) -> Request:
    """A table row: input columns, meta columns, and every other column as a prediction."""
    status = doc.get("status", 200)
    if status is None:
        status = 200
    if not isinstance(status, int | float) or isinstance(status, bool):
        raise _Bad(f"status {status!r} is not an integer")
    latency = doc.get("latency_ms")
    if latency is not None and not isinstance(latency, int | float):
        raise _Bad(f"latency_ms {latency!r} is not a number")
    ins = {k: [v] for k, v in doc.items() if k in inputs}
    outs = {k: [v] for k, v in doc.items() if k not in inputs and k not in META}
    stamp = doc.get("time", doc.get("timestamp"))
    if isinstance(stamp, datetime):
        stamp = stamp.isoformat()
    return Request(
        id=None if doc.get("id") is None else str(doc["id"]),
        time=parse_time(stamp),
        model=doc.get("model"),
        version=doc.get("version"),
        inputs=ins,
        outputs=outs or None,
        latency_ms=None if latency is None else float(latency),
        status=int(status),
        rows=1,
    )


def _json_lines(fh: IO[bytes], where: str, inputs: frozenset[str], skipped: Skipped) -> Iterator[Request]:
    events = _CloudEvents()
    number = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            break
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            skipped.add(f"{where}:{number}", f"a line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB")
            while raw and not raw.endswith(b"\n"):  # the rest of the long line
                raw = fh.readline(MAX_LINE_BYTES)
            continue
        if not raw.strip():
            continue
        try:
            doc = json.loads(raw)
            if not isinstance(doc, dict):
                raise _Bad("not a JSON object")
            if doc.get("schema") == "mlgit.request/1":
                yield _mlgit(doc)
            elif "specversion" in doc:
                yield from events.take(doc)
            else:
                yield _flat(doc, inputs)
        except (ValueError, RecursionError) as exc:  # json.JSONDecodeError and _Bad are ValueErrors
            why = str(exc) if isinstance(exc, _Bad) else f"not JSON ({str(exc)[:80]})"
            skipped.add(f"{where}:{number}", why)
    yield from events.rest()


@dataclass
class LogTable:
    """A table log (CSV or Parquet), handed over whole so the collector can count it column by column."""

    frame: pl.DataFrame
    where: str
    first_line: int  # the line (CSV) or row (Parquet) number of the first row

    def requests(self, inputs: frozenset[str], skipped: Skipped) -> Iterator[Request]:
        """Row by row: the reference behaviour the vectorised path must match, and its fallback."""
        for number, row in enumerate(self.frame.iter_rows(named=True), start=self.first_line):
            try:
                yield _flat(row, inputs)
            except ValueError as exc:
                skipped.add(f"{self.where}:{number}", str(exc))


TABLE_CHUNK = 200_000  # rows of a table log held at once: memory stays flat whatever the log's size


def _table(path: Path, where: str) -> Iterator[LogTable]:
    """A table log in chunks of TABLE_CHUNK rows (CSV columns typed from the first 10,000 rows, as one table)."""
    import polars as pl

    try:
        if path.suffix == ".parquet":
            lazy = pl.scan_parquet(path)
        else:
            schema = pl.read_csv(path, n_rows=10_000, infer_schema_length=10_000).schema
            lazy = pl.scan_csv(path, schema=schema)
        rows = int(lazy.select(pl.len()).collect().item())
        first = 1 if path.suffix == ".parquet" else 2
        for start in range(0, max(rows, 1), TABLE_CHUNK):
            yield LogTable(lazy.slice(start, TABLE_CHUNK).collect(), where, first + start)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise InputError(f"{where}: cannot be read as a table ({str(exc).splitlines()[0][:200]})") from None


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        found = [p for p in sorted(path.iterdir()) if p.is_file() and _kind(p.name) is not None]
        if not found:
            raise InputError(f"{path}: no log files (*.jsonl, *.csv, *.parquet) in this folder")
        return found
    if not path.exists():
        raise InputError(f"{path}: no such log file or folder")
    return [path]


def _kind(name: str) -> str | None:
    if ".jsonl" in name or name.endswith((".json", ".ndjson")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    return None


class _Lines:
    """`readline(limit)` over a file object that only reads (fsspec's remote files take no limit)."""

    def __init__(self, fh: Any, chunk: int = 1 << 20) -> None:
        self.fh, self.chunk, self.buf = fh, chunk, b""

    def readline(self, limit: int = -1) -> bytes:
        while b"\n" not in self.buf and (limit < 0 or len(self.buf) < limit):
            more = self.fh.read(self.chunk)
            if not more:
                break
            self.buf += more
        end = self.buf.find(b"\n") + 1 or len(self.buf)
        if limit >= 0:
            end = min(end, limit)
        line, self.buf = self.buf[:end], self.buf[end:]
        return line


def _remote(url: str, inputs: frozenset[str], skipped: Skipped) -> Iterator[Request]:
    """A URL read through DVC's filesystem for its scheme (s3://, gs://, azure://, http(s)://, ...)."""
    with dvc.open_url(url) as fh:
        yield from _json_lines(_Lines(fh), url, inputs, skipped)  # type: ignore[arg-type]  # readline is all it needs


def read(paths: Iterable[str], inputs: frozenset[str], skipped: Skipped) -> Iterator[Request | LogTable]:
    """Every request in the given logs, in file order (a table whole); `inputs` names the model's input columns."""
    for spec in paths:
        if "://" in spec and not spec.startswith("file://"):
            if _kind(spec.rsplit("/", 1)[-1]) != "jsonl":
                raise InputError(f"{spec}: remote logs are read as JSONL (.jsonl); copy a table locally first")
            yield from _remote(spec, inputs, skipped)
            continue
        for path in _files(Path(spec.removeprefix("file://"))):
            kind = _kind(path.name)
            if kind in ("csv", "parquet"):
                yield from _table(path, str(path))
                continue
            try:
                fh = path.open("rb")
            except OSError as exc:
                raise InputError(f"{path}: cannot be read ({exc.strerror})") from None
            with fh:
                yield from _json_lines(fh, str(path), inputs, skipped)


def read_labels(path: str, column: str | None) -> dict[str, object]:
    """request id -> true value, from a CSV, JSONL or Parquet table with an `id` column."""
    import polars as pl

    p = Path(path)
    kind = _kind(p.name)
    try:
        if kind == "parquet":
            frame = pl.read_parquet(p)
        elif kind == "jsonl":
            frame = pl.read_ndjson(p)
        else:
            frame = pl.read_csv(p, infer_schema_length=10_000)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise InputError(f"--labels {path}: cannot be read as a table ({str(exc).splitlines()[0][:200]})") from None
    others = [c for c in frame.columns if c != "id"]
    name = column or ("label" if "label" in others else (others[0] if len(others) == 1 else None))
    if "id" not in frame.columns or name is None or name not in frame.columns:
        raise InputError(
            f"--labels {path}: needs an 'id' column and the label column "
            f"({name or 'label'}; columns: {', '.join(frame.columns)[:200]})",
            hint="name the label column with models.<name>.monitor.label",
        )
    return {str(k): v for k, v in zip(frame["id"].to_list(), frame[name].to_list(), strict=True) if k is not None}
