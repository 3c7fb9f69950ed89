"""`mlgit monitor` on real request logs of a real `mlgit serve`, against a real release's committed profile."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgit.monitor import window as windows
from testing import fakegithub
from testing.oip import MODEL
from tests.monitor.conftest import SIZE, rows

STORE = Path("monitoring") / MODEL / "v0.1.0"


def _monitor(mlgit: Any, repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    res = mlgit(repo, "monitor", *args, "--json")
    assert res.code in (0, 1), res.err
    return res.code, json.loads(res.out)


def _codes(doc: dict[str, Any], severity: str | None = None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        if severity is None or f["severity"] == severity:
            out.setdefault(f["code"], []).append(f)
    return out


def _monitor_config(repo: Path, **settings: object) -> None:
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][MODEL]["monitor"] = settings
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_training_like_traffic_passes_and_its_window_is_stored(
    monitored: Path, served_logs: dict[str, Path], mlgit: Any
) -> None:
    code, doc = _monitor(mlgit, monitored, "--logs", str(served_logs["calm"]))
    codes = _codes(doc)
    assert code == 0, [f["message"] for f in doc["findings"] if f["severity"] != "info"]
    assert "monitor.input-drift" not in codes and "monitor.prediction-drift" not in codes
    measured = {f["column"]: f["data"] for f in codes["monitor.drift"]}
    assert "mean_radius" in measured and len(measured) == 30  # every feature, each with its value and threshold
    assert all(d["value"] <= d["threshold"] for d in measured.values())
    [rate] = codes["monitor.error-rate"]
    assert rate["data"] == {"errors": 3, "requests": 303, "rate": 3 / 303}  # the three bad requests, logged too
    assert "monitor.latency" in codes and "monitor.no-prediction-reference" in codes
    [stored] = (monitored / STORE).glob("*.json")
    w = windows.loads(stored.read_bytes(), str(stored))
    assert (w.model, w.release, w.requests, w.rows) == (MODEL, "v0.1.0", 303, 300)
    assert w.reference == "schemas/train.profile.json"
    assert len(stored.read_bytes()) < 40_000  # a window is small whatever the traffic
    col = w.column("mean_radius")
    assert col is not None and col.count == 300


def test_shifted_features_are_caught_by_name_and_fail(
    monitored: Path, served_logs: dict[str, Path], mlgit: Any
) -> None:
    # The release's first window: the reference for prediction drift.
    _monitor(mlgit, monitored, "--logs", str(served_logs["calm"]))
    code, doc = _monitor(mlgit, monitored, "--logs", str(served_logs["shifted"]))
    errors = _codes(doc, "error")
    assert code == 1
    assert {f["column"] for f in errors["monitor.input-drift"]} == set(SIZE)  # and none of the 24 others
    drifted = errors["monitor.input-drift"][0]["data"]
    assert drifted["method"] == "psi" and drifted["value"] > drifted["threshold"]
    # Larger radii make the model predict the other class more often: its predictions drift too.
    assert {f["column"] for f in errors["monitor.prediction-drift"]} & {"predict_proba:class", "predict_proba[1]"}
    human = mlgit(monitored, "monitor", "--logs", str(served_logs["shifted"]))
    assert human.code == 1 and "mean_radius drifted from" in human.out and "FAILED" in human.out


def test_against_an_earlier_window(monitored: Path, served_logs: dict[str, Path], mlgit: Any) -> None:
    _monitor(mlgit, monitored, "--logs", str(served_logs["calm"]))
    [first] = (monitored / STORE).glob("*.json")
    code, doc = _monitor(mlgit, monitored, "--logs", str(served_logs["shifted"]), "--base", first.stem)
    assert code == 1
    drifted = _codes(doc, "error")["monitor.input-drift"]
    assert {f["column"] for f in drifted} == set(SIZE)
    assert {f["data"]["base"] for f in drifted} == {f"window {first.stem}"}


def test_base_names_a_release_as_every_command_does(monitored: Path, served_logs: dict[str, Path], mlgit: Any) -> None:
    # `stage:NAME` and `best` go through the one baseline resolver: same messages, same release as elsewhere.
    res = mlgit(monitored, "monitor", "--logs", str(served_logs["calm"]), "--base", "stage:prod")
    assert res.code == 2 and f"no version of {MODEL} is assigned to stage 'prod'" in res.err
    assert f"mlgit assign {MODEL} prod" in res.err
    assert mlgit(monitored, "assign", MODEL, "prod").code == 0
    for base in ("stage:prod", "best", "v0.1.0"):
        code, _doc = _monitor(mlgit, monitored, "--logs", str(served_logs["calm"]), "--base", base)
        assert code == 0, base
        [stored] = (monitored / STORE).glob("*.json")
        assert windows.loads(stored.read_bytes(), str(stored)).release == "v0.1.0"


def test_malformed_lines_are_counted_and_skipped(
    monitored: Path, served_logs: dict[str, Path], mlgit: Any, tmp_path: Path
) -> None:
    logs = tmp_path / "logs.jsonl"
    good = [line for f in sorted(served_logs["calm"].glob("*.jsonl")) for line in f.read_text().splitlines()]
    bad = ["{not json", '{"schema": "mlgit.request/1", "inputs": 7}', good[0][: len(good[0]) // 2], "[1, 2]"]
    logs.write_text("\n".join(good[:100] + bad + good[100:]) + "\n")
    code, doc = _monitor(mlgit, monitored, "--logs", str(logs))
    [malformed] = _codes(doc)["monitor.malformed-records"]
    assert malformed["severity"] == "warning" and malformed["data"]["count"] == 4
    assert malformed["data"]["samples"][0].startswith(f"{logs}:101: not JSON")
    assert f"{logs}:102: inputs is not an object of columns" in malformed["data"]["samples"]
    assert code == 0  # the good records are all counted
    [window] = _codes(doc)["monitor.window"]
    assert "303 requests, 300 rows" in window["message"]


def test_windows_merge_exactly(monitored: Path, served_logs: dict[str, Path], mlgit: Any, tmp_path: Path) -> None:
    records = [
        json.loads(line) for f in sorted(served_logs["calm"].glob("*.jsonl")) for line in f.read_text().splitlines()
    ]
    for i, r in enumerate(records):  # two hours of traffic, the first 150 requests in the first hour
        r["time"] = f"2026-12-01T{10 + (i >= 150):02d}:{i % 60:02d}:00.000Z"
    logs = tmp_path / "timed.jsonl"
    logs.write_text("".join(json.dumps(r) + "\n" for r in records))
    spans = [
        "2026-12-01T10:00Z/2026-12-01T11:00Z",
        "2026-12-01T11:00Z/2026-12-01T12:00Z",
        "2026-12-01T10:00Z/2026-12-01T12:00Z",
    ]
    for span in spans:
        _monitor(mlgit, monitored, "--logs", str(logs), "--window", span)
    stored = {p.stem: windows.loads(p.read_bytes(), str(p)) for p in (monitored / STORE).glob("*.json")}
    first, second, whole = (
        stored[n]
        for n in (
            "20261201T100000Z--20261201T110000Z",
            "20261201T110000Z--20261201T120000Z",
            "20261201T100000Z--20261201T120000Z",
        )
    )
    assert first.requests == 150 and second.requests == 153
    merged = windows.merge([first, second])
    assert (merged.requests, merged.rows, merged.errors, merged.latency) == (
        whole.requests,
        whole.rows,
        whole.errors,
        whole.latency,
    )
    for name, col in whole.inputs:
        m = merged.column(name)
        assert m is not None and (m.counts, m.values, m.other, m.nulls, m.min, m.max) == (
            col.counts,
            col.values,
            col.other,
            col.nulls,
            col.min,
            col.max,
        ), name
    assert dict(merged.violations) == dict(whole.violations)


def test_labels_join_by_request_id(monitored: Path, served_logs: dict[str, Path], mlgit: Any, tmp_path: Path) -> None:
    truth = rows(monitored)[:300]
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "id,label\n" + "".join(f"train-{i},{int(r['target'])}\n" for i, r in enumerate(truth)) + "ghost,1\n"
    )
    code, doc = _monitor(mlgit, monitored, "--logs", str(served_logs["calm"]), "--labels", str(labels))
    [quality] = _codes(doc)["monitor.quality"]
    assert code == 0 and quality["data"]["labelled"] == 300 and quality["data"]["value"] > 0.8
    assert quality["data"]["released"] is not None
    [unmatched] = _codes(doc)["monitor.labels-unmatched"]
    assert unmatched["data"] == {"unmatched": 1, "labels": 301}
    flipped = tmp_path / "flipped.csv"
    flipped.write_text("id,label\n" + "".join(f"train-{i},{1 - int(r['target'])}\n" for i, r in enumerate(truth)))
    code, doc = _monitor(mlgit, monitored, "--logs", str(served_logs["calm"]), "--labels", str(flipped))
    assert code == 1 and "monitor.quality-degraded" in _codes(doc, "error")


def test_error_rate_and_latency_budgets(monitored: Path, served_logs: dict[str, Path], mlgit: Any) -> None:
    _monitor_config(monitored, max_error_rate=0.001, p95_ms=1e-6)
    code, doc = _monitor(mlgit, monitored, "--logs", str(served_logs["calm"]))
    errors = _codes(doc, "error")
    assert code == 1 and {"monitor.error-rate-high", "monitor.latency-over-budget"} <= errors.keys()
    assert "monitor.max_error_rate" in errors["monitor.error-rate-high"][0]["message"]


def test_kserve_cloudevents_and_tables_give_the_same_window(
    monitored: Path, served_logs: dict[str, Path], mlgit: Any, tmp_path: Path
) -> None:
    records = [
        json.loads(line) for f in sorted(served_logs["calm"].glob("*.jsonl")) for line in f.read_text().splitlines()
    ]
    ok = [r for r in records if r["status"] == 200]
    events = tmp_path / "kserve.jsonl"
    with events.open("w") as fh:
        for r in ok:
            inputs = [{"name": k, "shape": [1], "datatype": "FP64", "data": v} for k, v in r["inputs"].items()]
            outputs = [{"name": k, "shape": [1, 2], "datatype": "FP64", "data": v} for k, v in r["outputs"].items()]
            common = {"specversion": "1.0", "id": r["id"], "source": "http://localhost:9081/", "time": r["time"]}
            fh.write(
                json.dumps({**common, "type": "org.kubeflow.serving.inference.request", "data": {"inputs": inputs}})
                + "\n"
            )
            response = {"model_name": MODEL, "model_version": "v0.1.0", "outputs": outputs}
            fh.write(json.dumps({**common, "type": "org.kubeflow.serving.inference.response", "data": response}) + "\n")
    table = tmp_path / "table.csv"
    names = list(ok[0]["inputs"])
    table.write_text(
        ",".join(["id", "time", *names, "prediction"])
        + "\n"
        + "".join(
            ",".join(
                [
                    r["id"],
                    r["time"],
                    *(repr(r["inputs"][n][0]) for n in names),
                    str(int(r["outputs"]["predict_proba"][1] > 0.5)),
                ]
            )
            + "\n"
            for r in ok
        )
    )
    got = {}
    for source, store in ((events, "ce"), (table, "tab")):
        code, doc = _monitor(mlgit, monitored, "--logs", str(source), "--store", store)
        assert code == 0, [f["message"] for f in doc["findings"] if f["severity"] != "info"]
        [path] = (monitored / store / MODEL / "v0.1.0").glob("*.json")
        got[store] = windows.loads(path.read_bytes(), str(path))
    assert got["ce"].rows == got["tab"].rows == 300
    assert got["ce"].inputs == got["tab"].inputs
    classes = got["tab"].column("prediction", predictions=True)
    assert classes is not None and classes.count == 300


def test_bad_input_is_one_message_and_exit_2(
    monitored: Path, served_logs: dict[str, Path], mlgit: Any, tmp_path: Path
) -> None:
    res = mlgit(monitored, "monitor", "--logs", str(tmp_path / "missing.jsonl"))
    assert res.code == 2 and "missing.jsonl: no such log file or folder" in res.err and "Traceback" not in res.err
    res = mlgit(monitored, "monitor", "--logs", str(served_logs["calm"]), "--window", "yesterday")
    assert res.code == 2 and "--window 'yesterday': expected START/END" in res.err
    res = mlgit(monitored, "monitor", "--logs", str(served_logs["calm"]), "--base", "v9.9.9")
    assert res.code == 2 and "v9.9.9" in res.err
    # A stored window is never replaced by another profile of the same span without --force.
    assert mlgit(monitored, "monitor", "--logs", str(served_logs["calm"])).code == 0
    [stored] = (monitored / STORE).glob("*.json")
    before = stored.read_bytes()
    extra = tmp_path / "more.jsonl"
    lines = [line for f in sorted(served_logs["calm"].glob("*.jsonl")) for line in f.read_text().splitlines()]
    extra.write_text("\n".join(lines[:-1]) + "\n")  # the same span without its last request: other counts
    res = mlgit(monitored, "monitor", "--logs", str(extra), "--window", f"{_span(before)}")
    assert res.code == 2 and "already holds another profile" in res.err and stored.read_bytes() == before
    assert mlgit(monitored, "monitor", "--logs", str(extra), "--window", _span(before), "--force").code in (0, 1)
    assert stored.read_bytes() != before


def _span(raw: bytes) -> str:
    w = windows.loads(raw, "stored")
    return f"{w.start}/{w.end}"


def test_no_traffic_is_an_error(monitored: Path, mlgit: Any, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, doc = _monitor(mlgit, monitored, "--logs", str(empty))
    assert code == 1 and "monitor.no-traffic" in _codes(doc, "error")
    assert not (monitored / STORE).exists()  # nothing to keep


def test_one_alert_issue_opened_updated_and_closed_and_retrain_dispatched_on_drift(
    monitored: Path, served_logs: dict[str, Path], mlgit: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with fakegithub.serve("acme/cancer") as fake:
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/cancer")
        monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
        healthy = ("--logs", str(served_logs["calm"]), "--alert", "--retrain")
        code, doc = _monitor(mlgit, monitored, *healthy)
        assert code == 0 and doc["alert"] == {"action": "none", "issue": None, "url": None}
        assert not doc["retrain_dispatched"] and fake.issues == {} and fake.dispatches == []
        shifted = ("--logs", str(served_logs["shifted"]), "--alert", "--retrain", "--report", str(tmp_path / "r.md"))
        code, doc = _monitor(mlgit, monitored, *shifted)
        assert code == 1 and doc["alert"]["action"] == "opened" and doc["retrain_dispatched"]
        [issue] = fake.issues.values()
        assert issue["labels"] == ["mlgit-monitor"] and f"<!-- mlgit:monitor:{MODEL} -->" in issue["body"]
        assert "monitor.input-drift" in issue["body"] and "FAILED" in issue["title"] + issue["body"]
        assert fake.dispatches == [("mlgit-retrain.yml", {"ref": "main", "inputs": {"trigger": "drift"}})]
        report = (tmp_path / "r.md").read_text()
        assert "xychart-beta" in report and "| window | requests |" in report  # the trend over both windows
        # Someone else's issue with the same marker is never touched.
        fake.issues[999] = {**issue, "number": 999, "user": {"login": "someone"}}
        code, doc = _monitor(mlgit, monitored, "--logs", str(served_logs["shifted"]), "--alert", "--force")
        assert doc["alert"]["action"] in ("unchanged", "updated") and doc["alert"]["issue"] == issue["number"]
        code, doc = _monitor(mlgit, monitored, *healthy)
        assert code == 0 and doc["alert"]["action"] == "closed"
        assert fake.issues[issue["number"]]["state"] == "closed" and fake.issues[999]["state"] == "open"
        assert len(fake.dispatches) == 1


def test_a_table_counted_column_by_column_equals_row_by_row(
    monitored: Path, served_logs: dict[str, Path], tmp_path: Path
) -> None:
    from mlgit.config import settings
    from mlgit.monitor import collect, logs, reference
    from mlgit.repo.state import RepoState

    records = [
        json.loads(line) for f in sorted(served_logs["calm"].glob("*.jsonl")) for line in f.read_text().splitlines()
    ]
    names = list(records[0]["inputs"])
    lines = [",".join(["id", "time", "latency_ms", "status", *names, "score", "label"])]
    for r in records:
        ins = r["inputs"] or {}
        score = r["outputs"]["predict_proba"][1] if r["outputs"] else ""
        label = ("benign" if score and score > 0.5 else "malignant") if r["outputs"] else ""
        cells = [r["id"], r["time"], str(r["latency_ms"]), str(r["status"])]
        cells += [repr(ins[n][0]) if n in ins else "" for n in names] + [str(score), label]
        lines.append(",".join(cells))
    lines.append(",".join(["late", "2026-12-01T00:00:00Z", "1.0", "200", *(["1e9"] * len(names)), "0.5", "x"]))
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    repo = RepoState.open(monitored)
    cfg = settings.load(monitored)
    model = cfg.model(None)
    ref = reference.resolve(repo, cfg, model, "last-release", "monitoring")
    inputs = frozenset(c.name for c in ref.profile.columns)
    target = collect.WindowTarget(
        model.name, "v0.1.0", ref.release.commit, ref.profile_path, ref.profile, ref.schema, {}, None, None
    )
    got = []
    for vectorised in (True, False):
        skipped = logs.Skipped()
        [table] = logs.read([str(tmp_path / "t.csv")], inputs, skipped)
        assert isinstance(table, logs.LogTable)
        items = [table] if vectorised else list(table.requests(inputs, skipped))
        got.append(collect.collect(items, target, False, skipped, inputs).window())
    fast, slow = got
    assert (fast.requests, fast.rows, fast.errors, fast.latency) == (
        slow.requests,
        slow.rows,
        slow.errors,
        slow.latency,
    )
    assert (fast.start, fast.end, fast.violations) == (slow.start, slow.end, slow.violations)
    assert dict(fast.violations)["mean_radius"] == (("out-of-range", 1),)  # the 1e9 row
    for (n1, a), (n2, b) in zip(fast.inputs + fast.predictions, slow.inputs + slow.predictions, strict=True):
        assert n1 == n2 and (a.counts, a.values, a.other, a.nulls, a.nonfinite, a.min, a.max) == (
            b.counts,
            b.values,
            b.other,
            b.nulls,
            b.nonfinite,
            b.min,
            b.max,
        ), n1


def test_a_remote_log_is_read_through_dvcs_filesystem(
    monitored: Path, served_logs: dict[str, Path], mlgit: Any, tmp_path: Path
) -> None:
    import functools
    import http.server
    import threading

    web = tmp_path / "web"
    web.mkdir()
    lines = [line for f in sorted(served_logs["calm"].glob("*.jsonl")) for line in f.read_text().splitlines()]
    (web / "requests.jsonl").write_text("\n".join(lines) + "\nnot json\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(web))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/requests.jsonl"
        code, doc = _monitor(mlgit, monitored, "--logs", url, "--store", "remote")
    finally:
        server.shutdown()
        server.server_close()
    code_local, _ = _monitor(mlgit, monitored, "--logs", str(served_logs["calm"]), "--store", "local")
    assert code == code_local == 0
    [malformed] = _codes(doc)["monitor.malformed-records"]
    assert malformed["data"]["samples"] == [
        f"{url}:{len(lines) + 1}: not JSON (Expecting value: line 1 column 1 (char 0))"
    ]
    [a] = (monitored / "remote" / MODEL / "v0.1.0").glob("*.json")
    [b] = (monitored / "local" / MODEL / "v0.1.0").glob("*.json")
    assert a.read_text() == b.read_text()
