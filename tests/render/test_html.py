"""The HTML report in a real headless browser (Debian's chromium), driven over the DevTools protocol.

Chromium talks DevTools over a pipe (fds 3 and 4, `--remote-debugging-pipe`), so the test needs no
port, no websocket library and no driver: it loads the file, collects console messages, exceptions,
log entries and every network request, measures the charts in the laid-out page, and takes a screenshot.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testing.repos import REPO_ROOT, commit_all, git

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
]
TIMEOUT = 30.0


def _find_chromium() -> str | None:
    for name in (os.environ.get("MLGIT_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser; installed with .ci/ensure-chromium.sh when missing and we may; else a clear skip."""
    found = _find_chromium()
    if found:
        return found
    script = REPO_ROOT / ".ci" / "ensure-chromium.sh"
    if os.geteuid() != 0:
        pytest.skip(f"chromium is not installed and installing it needs root: run 'sudo {script}'")
    res = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900, check=False)
    found = _find_chromium()
    if found is None:
        tail = "\n".join((res.stdout + res.stderr).strip().splitlines()[-5:])
        pytest.skip(f"chromium could not be installed by {script} (exit {res.returncode}):\n{tail}")
    return found


class Browser:
    """One headless chromium driven over its DevTools pipe."""

    def __init__(self, exe: str, profile: Path) -> None:
        cmd_r, cmd_w = os.pipe()
        out_r, out_w = os.pipe()
        # Park the child's ends above 10 so placing them on fds 3 and 4 cannot clobber one another.
        child_in = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(out_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_r)
        os.close(out_w)

        def place_fds() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.proc = subprocess.Popen(
            [exe, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4),
            preexec_fn=place_fds,  # the only way to hand chromium fds 3 and 4
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(child_in)
        os.close(child_out)
        self.w, self.r = cmd_w, out_r
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _recv(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise EOFError(f"chromium closed the DevTools pipe:\n{err[-2000:]}")
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        while True:
            reply = self._recv(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not any(e.get("method") == method for e in self.events):
            self.events.append(self._recv(deadline))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Iterator[Browser]:
    b = Browser(chromium, tmp_path / "profile")
    yield b
    b.close()


_PROBE = """JSON.stringify({
  verdict: (document.getElementById('verdict') || {}).textContent,
  headline: document.querySelector('h1 + p') && document.querySelector('h1 + p').innerText,
  charts: [...document.querySelectorAll('svg.chart')].map(s => {
    const r = s.getBoundingClientRect();
    return {metric: s.dataset.metric, width: r.width, height: r.height,
            points: [...s.querySelectorAll('circle[data-label]')].map(c => c.dataset.label), lines: s.querySelectorAll('polyline, line.pending').length};
  }),
  tables: document.querySelectorAll('table').length,
  textLength: document.body.innerText.length,
})"""


def load(b: Browser, page: Path) -> dict[str, Any]:
    """Open a file; return what the page shows and everything the browser complained about or fetched."""
    target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        b.call(f"{domain}.enable", session=session)
    b.events.clear()
    b.call("Page.navigate", {"url": page.as_uri()}, session=session)
    b.wait_for("Page.loadEventFired")
    probe = b.call("Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=session)
    shot = b.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session=session)
    mine = [e for e in b.events if e.get("sessionId") == session]
    console = [e["params"] for e in mine if e.get("method") == "Runtime.consoleAPICalled"]
    return {
        "page": json.loads(probe["result"]["value"]),
        "errors": [c for c in console if c["type"] in {"error", "assert", "warning"}],
        "exceptions": [e["params"] for e in mine if e.get("method") == "Runtime.exceptionThrown"],
        "log": [e["params"]["entry"] for e in mine if e.get("method") == "Log.entryAdded"],
        "requests": [e["params"]["request"]["url"] for e in mine if e.get("method") == "Network.requestWillBeSent"],
        "png": shot["data"],
    }


@pytest.fixture
def history_repo(git_repo: Path, mlgit) -> Path:
    """git_repo with three releases, then a branch whose accuracy improves while its loss worsens."""
    assert mlgit(git_repo, "promote").code == 0
    for acc, loss in ((0.82, 0.38), (0.85, 0.35)):
        (git_repo / "metrics.json").write_text(json.dumps({"accuracy": acc, "loss": loss}) + "\n")
        commit_all(git_repo, f"accuracy {acc}")
        assert mlgit(git_repo, "promote").code == 0
    git("checkout", "-q", "-b", "candidate", cwd=git_repo)
    (git_repo / "metrics.json").write_text(json.dumps({"accuracy": 0.9, "loss": 0.36}) + "\n")
    commit_all(git_repo, "accuracy 0.9")
    return git_repo


def test_html_report_renders_with_charts_and_no_errors(
    history_repo: Path, mlgit, browser: Browser, tmp_path: Path
) -> None:
    assert mlgit(history_repo, "promote", "--dry-run").code == 1  # loss got worse: the gate refuses
    r = mlgit(history_repo, "report", "--output", "report.html")
    assert r.code == 0, r.err
    seen = load(browser, history_repo / "report.html")
    (tmp_path / "report.png").write_bytes(__import__("base64").b64decode(seen["png"]))
    assert seen["exceptions"] == [] and seen["errors"] == []
    assert [e for e in seen["log"] if e["level"] in {"error", "warning"}] == []
    assert seen["requests"] == [(history_repo / "report.html").as_uri()]  # nothing but the file itself
    page = seen["page"]
    assert page["verdict"] == "FAIL"
    assert "clf would be rejected" in page["headline"]
    charts = {c["metric"]: c for c in page["charts"]}
    assert set(charts) == {"accuracy", "loss"}
    for c in charts.values():
        assert c["width"] > 300 and c["height"] > 150  # laid out and visible
        assert c["points"] == ["v0.1.0", "v0.2.0", "v0.3.0", "this change"]
        assert c["lines"] == 2  # the release line and the dashed step to this change
    assert page["tables"] >= 3 and page["textLength"] > 500
    assert (tmp_path / "report.png").read_bytes().startswith(b"\x89PNG")


def test_the_harness_sees_console_errors_exceptions_and_fetches(browser: Browser, tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><body><svg class='chart' data-metric='m'></svg>"
        "<img src='http://127.0.0.1:9/pixel.png'>"
        "<script>console.error('broken chart'); null.x;</script></body></html>"
    )
    seen = load(browser, bad)
    assert [c["args"][0]["value"] for c in seen["errors"]] == ["broken chart"]
    assert len(seen["exceptions"]) == 1
    assert "http://127.0.0.1:9/pixel.png" in seen["requests"]
