"""A released example repository with committed data profiles, and real request logs from `mlgit serve`."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.oip import MODEL, Served, call

# The size features, scaled together in the shifted traffic (larger tumours: the model's predictions move too).
SIZE = ("mean_radius", "mean_perimeter", "mean_area", "worst_radius", "worst_perimeter", "worst_area")


def rows(repo: Path, name: str = "train") -> list[dict[str, float]]:
    """The rows of a prepared dataset, as numbers."""
    with (repo / f"data/prepared/{name}.csv").open() as fh:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def request(row: dict[str, float], rid: str, scale: dict[str, float] | None = None) -> dict[str, object]:
    """An OIP infer request of one row (one FP64 tensor per feature), features optionally scaled."""
    scale = scale or {}
    inputs = [
        {"name": k, "shape": [1], "datatype": "FP64", "data": [v * scale.get(k, 1.0)]}
        for k, v in row.items()
        if k != "target"
    ]
    return {"id": rid, "inputs": inputs}


def serve_and_send(archive: Path, log_dir: Path, requests: list[dict[str, object]], err: Path) -> list[int]:
    """Serve the bundle with a request log, send each request over HTTP, stop; the statuses."""
    args = [sys.executable, "-m", "mlgit", "serve", str(archive), "--port", "0", "--log-dir", str(log_dir)]
    statuses = []
    with Served(args, err) as server:
        conn = server.connect()
        for body in requests:
            status, _ = call(conn, "POST", f"/v2/models/{MODEL}/infer", body)
            statuses.append(status)
        code, _ = server.stop()
    assert code == 0
    return statuses


@pytest.fixture(scope="module")
def served_logs(
    _monitored_template: Path, packaged: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Path]]:
    """Request logs of the real server: training-like traffic (with a few bad requests) and shifted traffic."""
    base = tmp_path_factory.mktemp("served")
    train = rows(_monitored_template)
    calm = [request(r, f"train-{i}") for i, r in enumerate(train[:300])]
    bad = [
        {"id": f"bad-{i}", "inputs": [{"name": "nope", "shape": [1], "datatype": "FP64", "data": [1.0]}]}
        for i in range(3)
    ]
    statuses = serve_and_send(packaged, base / "calm", calm + bad, base / "calm.err")
    assert statuses.count(200) == 300 and len(statuses) == 303
    shifted = [request(r, f"shift-{i}", dict.fromkeys(SIZE, 1.4)) for i, r in enumerate(train[:200])]
    serve_and_send(packaged, base / "shifted", shifted, base / "shifted.err")
    yield {"calm": base / "calm", "shifted": base / "shifted"}
