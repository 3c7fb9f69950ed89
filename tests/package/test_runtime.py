"""The bundle's serving runtime as a real process from a venv without mlgit: OIP v2, metrics, logs, drain."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from testing.oip import MODEL, Served, call, folder_of

INFER = f"/v2/models/{MODEL}/infer"


def _serve(python: Path, archive: Path, tmp_path: Path, *extra: str) -> Served:
    folder = folder_of(archive)
    return Served([str(python), str(folder), "serve", "--port", "0", *extra], tmp_path / "server.err")


def _golden(archive: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    folder = folder_of(archive)
    request = json.loads((folder / "golden/input.json").read_text())
    return request, json.loads((folder / "golden/output.json").read_text())["outputs"]


def _one_row(request: dict[str, Any]) -> dict[str, Any]:
    return {"inputs": [{**t, "data": t["data"][:1], "shape": [1]} for t in request["inputs"]]}


def test_the_bundle_runs_without_mlgit_dvc_polars_or_pydantic(bundle_python: Path) -> None:
    probe = "import importlib.util as u; print([m for m in ('mlgit', 'dvc', 'polars', 'pydantic') if u.find_spec(m)])"
    out = subprocess.run([str(bundle_python), "-c", probe], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == "[]"


def test_oip_endpoints_metadata_infer_and_metrics(bundle_python: Path, packaged: Path, tmp_path: Path) -> None:
    digest = packaged.with_name(packaged.name + ".sha256").read_text().split()[0]
    request, outputs = _golden(packaged)
    with _serve(bundle_python, packaged, tmp_path) as server:
        conn = server.connect()
        assert call(conn, "GET", "/v2/health/live") == (200, {"live": True})
        assert call(conn, "GET", "/v2/health/ready") == (200, {"ready": True})
        assert call(conn, "GET", "/v2")[1]["name"] == "mlgit-serve"
        status, meta = call(conn, "GET", f"/v2/models/{MODEL}")
        assert status == 200 and meta["versions"] == ["v0.1.0"] and meta["parameters"]["digest"] == f"sha256:{digest}"
        assert [t["name"] for t in meta["inputs"]][:2] == ["mean_radius", "mean_texture"]
        assert meta["outputs"][0]["name"] == "predict_proba"
        assert call(conn, "GET", f"/v2/models/{MODEL}/versions/v0.1.0")[1] == meta
        assert call(conn, "GET", f"/v2/models/{MODEL}/versions/v0.1.0/ready") == (200, {"ready": True})
        assert call(conn, "GET", f"/v2/models/{MODEL}/versions/v9.9.9")[0] == 404
        assert call(conn, "GET", "/v2/models/other/ready")[0] == 404
        status, reply = call(conn, "POST", INFER, request)
        assert status == 200 and reply["id"] == "golden" and reply["model_version"] == "v0.1.0"
        assert reply["outputs"] == outputs
        status, reply = call(conn, "POST", f"/v2/models/{MODEL}/versions/v0.1.0/infer", _one_row(request))
        assert status == 200 and reply["outputs"][0]["shape"] == [1, 2] and reply["id"]
        status, text = call(conn, "GET", "/metrics")
        assert status == 200
        assert 'mlgit_requests_total{endpoint="infer",status="200"} 2' in text
        assert "mlgit_inference_duration_seconds_count 2" in text
        assert f'mlgit_model_info{{model="{MODEL}",version="v0.1.0",digest="sha256:{digest}"}} 1' in text
        code, stopped = server.stop()
    assert code == 0 and stopped["accepted"] == stopped["answered"]


def _malformed(request: dict[str, Any]) -> list[Any]:
    """Bodies that are wrong in every way a client gets an infer body wrong (each a distinct request)."""
    row = _one_row(request)
    first = row["inputs"][0]
    bad: list[Any] = [b"", b"{", b"[]", b"null", b"42", b'"text"', b"\xff\xfe", b"{" * 5000 + b"}" * 5000]
    bad += [{}, {"inputs": []}, {"inputs": {}}, {"inputs": [1]}, {"inputs": [{}]}, {"id": 5, **row}]
    for value in ("x", None, True, [1.0], {"a": 1}):
        bad.append({"inputs": [{**first, "data": [value]}, *row["inputs"][1:]]})
    for shape in ([], [2], [-1], [1, 2], ["1"], None, "1", [1, 1, 1]):
        bad.append({"inputs": [{**first, "shape": shape}, *row["inputs"][1:]]})
    for datatype in ("BYTES", "BOOL", None, "FP128"):
        bad.append({"inputs": [{**first, "datatype": datatype}, *row["inputs"][1:]]})
    bad += [{"inputs": row["inputs"][1:]}, {"inputs": [*row["inputs"], {**first, "name": "extra"}]}]
    bad += [{"inputs": [{**first, "name": 7}, *row["inputs"][1:]]}, {"inputs": [{"name": "m", "shape": [1, 29]}]}]
    bad += [{"inputs": [{"name": "m", "datatype": "FP64", "shape": [1, 30], "data": ["a"] * 30}]}]
    bad += [{"inputs": [{"name": "m", "datatype": "FP64", "shape": [0, 30], "data": []}]}]
    # One per column: that column missing, or its data the wrong length.
    for i, tensor in enumerate(row["inputs"]):
        others = row["inputs"][:i] + row["inputs"][i + 1 :]
        bad.append({"inputs": others})
        bad.append({"inputs": [*others, {**tensor, "data": [1.0, 2.0]}]})
        bad.append({"inputs": [*others, {**tensor, "data": [[[[[[[[[[1.0]]]]]]]]]]}]})
        bad.append({"inputs": [*others, {**tensor, "datatype": "BYTES", "data": ["x"]}]})
        bad.append({"inputs": [*others, {**tensor, "shape": [1, 2]}]})
    return bad


def test_malformed_requests_get_4xx_oip_errors_and_the_server_keeps_serving(
    bundle_python: Path, packaged: Path, tmp_path: Path
) -> None:
    request, outputs = _golden(packaged)
    bodies = _malformed(request)
    statuses: list[int] = []
    with _serve(bundle_python, packaged, tmp_path, "--max-body-bytes", "100000") as server:
        conn = server.connect()
        for body in bodies:
            status, doc = call(conn, "POST", INFER, body, {"Content-Type": "application/json"})
            assert isinstance(doc, dict) and isinstance(doc.get("error"), str), (body, doc)
            statuses.append(status)
        for method, path in (("GET", INFER), ("DELETE", f"/v2/models/{MODEL}"), ("GET", "/nope"), ("GET", "/v2/x/y")):
            statuses.append(call(conn, method, path)[0])
        statuses.extend(_protocol_abuse(server))
        assert call(server.connect(), "POST", INFER, request)[1]["outputs"] == outputs
        assert server.proc.poll() is None
        code, stopped = server.stop()
    assert len(statuses) >= 200
    assert all(400 <= s < 500 for s in statuses), str(sorted(set(statuses)))
    assert code == 0 and stopped["accepted"] == stopped["answered"]


def _raw(server: Served, data: bytes) -> int:
    with socket.create_connection((server.host, server.port), timeout=60) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def _protocol_abuse(server: Served) -> list[int]:
    """Requests broken below JSON: no length, chunked, oversized, junk request lines and headers."""
    post = f"POST {INFER} HTTP/1.1\r\nHost: x\r\n".encode()
    return [
        _raw(server, post + b"\r\n{}"),
        _raw(server, post + b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        _raw(server, post + b"Content-Length: 999999999\r\n\r\n{}"),
        _raw(server, post + b"Content-Length: -5\r\n\r\n"),
        _raw(server, post + b"Content-Length: 10\r\n\r\n{}"),
        _raw(server, b"GARBAGE\r\n\r\n"),
        _raw(server, b"GET /v2 HTTP/9.9\r\n\r\n"),
        _raw(server, b"GET " + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"),
        _raw(server, b"GET /v2 HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n"),
    ]


def test_sigterm_under_load_answers_every_accepted_request(bundle_python: Path, packaged: Path, tmp_path: Path) -> None:
    body = json.dumps(_one_row(_golden(packaged)[0])).encode()
    answered = [0] * 6
    enough = threading.Event()
    lock = threading.Lock()
    total = [0]

    def client(i: int, server: Served) -> None:
        conn = server.connect()
        while True:
            try:
                status, _doc = call(conn, "POST", INFER, body, {"Content-Type": "application/json"})
            except (OSError, ConnectionError, Exception):  # noqa: BLE001 - the server went away: this client stops
                return
            assert status == 200
            answered[i] += 1
            with lock:
                total[0] += 1
                if total[0] >= 300:
                    enough.set()

    with _serve(bundle_python, packaged, tmp_path) as server:
        threads = [threading.Thread(target=client, args=(i, server)) for i in range(len(answered))]
        for t in threads:
            t.start()
        assert enough.wait(120)
        code, stopped = server.stop()
        for t in threads:
            t.join()
    assert code == 0
    assert stopped["accepted"] == stopped["answered"] == sum(answered), (stopped, answered)


def test_request_log_records_sampled_requests(bundle_python: Path, packaged: Path, tmp_path: Path) -> None:
    request, outputs = _golden(packaged)
    logs = tmp_path / "logs"
    with _serve(bundle_python, packaged, tmp_path, "--log-dir", str(logs), "--log-sample", "0.5") as server:
        conn = server.connect()
        for n in range(10):
            call(conn, "POST", INFER, {**request, "id": f"req-{n}"})
        call(conn, "POST", INFER, b"{")
        server.stop()
    records = [json.loads(line) for f in sorted(logs.glob("requests-*.jsonl")) for line in f.read_text().splitlines()]
    assert [r["id"] for r in records if r["status"] == 200] == ["req-1", "req-3", "req-5", "req-7", "req-9"]
    first = records[0]
    assert set(first) == {
        "schema",
        "time",
        "id",
        "model",
        "version",
        "digest",
        "inputs",
        "outputs",
        "latency_ms",
        "status",
        "error",
    }
    assert first["model"] == MODEL and first["version"] == "v0.1.0" and first["digest"].startswith("sha256:")
    assert first["inputs"]["mean_radius"] == request["inputs"][0]["data"]
    assert first["outputs"]["predict_proba"] == outputs[0]["data"]
    assert len(records) == 5  # the 11th request (bad JSON) falls between two samples


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_predict_file_prints_one_prediction_per_row(
    bundle_python: Path, packaged: Path, tmp_path: Path, suffix: str
) -> None:
    request, outputs = _golden(packaged)
    names = [t["name"] for t in request["inputs"]]
    rows = list(zip(*(t["data"] for t in request["inputs"]), strict=True))
    batch = tmp_path / f"batch{suffix}"
    if suffix == ".csv":
        batch.write_text(",".join(names) + "\n" + "".join(",".join(map(repr, r)) + "\n" for r in rows))
    else:
        batch.write_text("".join(json.dumps(dict(zip(names, r, strict=True))) + "\n" for r in rows))
    out = subprocess.run(
        [str(bundle_python), str(folder_of(packaged)), "predict", str(batch)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": ""},
    )
    got = [json.loads(line)["predict_proba"] for line in out.stdout.splitlines()]
    flat = outputs[0]["data"]
    assert got == [flat[i : i + 2] for i in range(0, len(flat), 2)]


def test_a_skops_model_loads_only_with_the_types_the_release_trusted(
    packaged: Path, bundle_python: Path, tmp_path: Path
) -> None:
    import fractions
    import shutil

    import skops.io as sio

    folder = tmp_path / "bundle"
    shutil.copytree(folder_of(packaged), folder)
    signature = json.loads((folder / "signature.json").read_text())
    assert signature["trusted_types"] == []  # the example's pipeline needs none beyond skops' defaults
    batch = tmp_path / "batch.csv"
    names = [t["name"] for t in signature["inputs"]]
    batch.write_text(",".join(names) + "\n" + ",".join(["1.0"] * len(names)) + "\n")
    predict = [str(bundle_python), "-I", str(folder), "predict", str(batch)]
    assert subprocess.run(predict, capture_output=True, text=True, check=False).returncode == 0
    # The model file swapped for one that needs a type the release never trusted: it is not loaded.
    model = folder / signature["file"]
    obj = sio.load(model)
    obj["note"] = fractions.Fraction(1, 3)
    sio.dump(obj, model)
    res = subprocess.run(predict, capture_output=True, text=True, check=False)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "needs types the release did not trust: fractions.Fraction" in res.stderr
    # Listed in the signature (what packaging writes when the release declares it in trusted_types), it loads.
    signature["trusted_types"] = ["fractions.Fraction"]
    (folder / "signature.json").write_text(json.dumps(signature))
    assert subprocess.run(predict, capture_output=True, text=True, check=False).returncode == 0
