"""`mlgit comment` against a local fake GitHub/GitLab API that paginates and records every request."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlgit.actions import forge
from mlgit.render.markdown import MARKER

TOKEN = "t0ken-secret"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Fake:
    """The state of a fake forge: comments per PR/MR, scripted failures, and the request log."""

    base: str = ""
    requests: list[Request] = field(default_factory=list)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    page_cap: int = 2  # the server pages after 2 items whatever per_page says, to force pagination
    user_status: int = 403  # GITHUB_TOKEN may not call GET /user
    login: str = "github-actions[bot]"  # who the token posts as
    gitlab_user: int = 42
    write_status: int = 0  # e.g. 403 for a fork's read-only token
    script: list[tuple[str, str, int, dict[str, str], bytes]] = field(default_factory=list)
    next_id: int = 1000
    heads: dict[int, str] = field(default_factory=dict)  # PR/MR number -> head commit
    after_create: list[int] = field(default_factory=list)  # statuses answered to POSTs that DID create (e.g. 502)

    def add(self, pr: int, body: str, author: str | int) -> int:
        self.next_id += 1
        user = {"login": author} if isinstance(author, str) else {"id": author, "username": f"u{author}"}
        self.comments.setdefault(pr, []).append({"id": self.next_id, "body": body, "user": user, "author": user})
        return self.next_id

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method != "GET"]

    def handle(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        for i, (method, prefix, status, headers, body) in enumerate(self.script):
            if req.method == method and req.path.startswith(prefix):
                del self.script[i]
                return status, headers, body
        if req.path.startswith("/api/v3/"):
            return self._github(req)
        if req.path.startswith("/api/v4/"):
            return self._gitlab(req)
        return 404, {}, b'{"message": "Not Found"}'

    def _page(self, items: list[dict[str, Any]], req: Request) -> tuple[list[dict[str, Any]], int, int]:
        size = min(int(req.query.get("per_page", 30)), self.page_cap)
        page = int(req.query.get("page", 1))
        pages = max(1, -(-len(items) // size))
        return items[(page - 1) * size : page * size], page, pages

    def _github(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {}, b'{"message": "Bad credentials"}'
        parts = req.path.removeprefix("/api/v3").strip("/").split("/")
        if parts == ["user"]:
            if self.user_status != 200:
                return self.user_status, {}, b'{"message": "Resource not accessible by integration"}'
            return 200, {}, json.dumps({"login": self.login}).encode()
        if parts[:3] != ["repos", "octo", "repo"]:
            return 404, {}, b'{"message": "Not Found"}'
        if len(parts) == 5 and parts[3] == "pulls" and int(parts[4]) in self.heads:
            return 200, {}, json.dumps({"number": int(parts[4]), "head": {"sha": self.heads[int(parts[4])]}}).encode()
        if len(parts) == 6 and parts[3] == "issues" and parts[5] == "comments":
            pr = int(parts[4])
            if req.method == "GET":
                items, page, pages = self._page(self.comments.get(pr, []), req)
                links = []
                q = {k: v for k, v in req.query.items() if k != "page"}
                if page < pages:
                    links.append(
                        f'<{self.base}{req.path}?{urllib.parse.urlencode({**q, "page": page + 1})}>; rel="next"'
                    )
                    links.append(f'<{self.base}{req.path}?{urllib.parse.urlencode({**q, "page": pages})}>; rel="last"')
                body = [{k: v for k, v in c.items() if k != "author"} for c in items]
                return 200, {"Link": ", ".join(links)} if links else {}, json.dumps(body).encode()
            if self.write_status:
                return self.write_status, {}, b'{"message": "Resource not accessible by integration"}'
            cid = self.add(pr, req.body["body"], self.login)
            return self._created(json.dumps(self._gh(cid)).encode())
        if len(parts) == 6 and parts[3:5] == ["issues", "comments"] and req.method == "PATCH":
            if self.write_status:
                return self.write_status, {}, b'{"message": "Resource not accessible by integration"}'
            for items in self.comments.values():
                for c in items:
                    if c["id"] == int(parts[5]):
                        c["body"] = req.body["body"]
                        return 200, {}, json.dumps(self._gh(c["id"])).encode()
        return 404, {}, b'{"message": "Not Found"}'

    def _created(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """201 with the new comment, or a scripted server error although the comment was created."""
        if self.after_create:
            return self.after_create.pop(0), {}, b"<html>502 Bad Gateway</html>"
        return 201, {}, body

    def _gh(self, cid: int) -> dict[str, Any]:
        for items in self.comments.values():
            for c in items:
                if c["id"] == cid:
                    return {"id": cid, "body": c["body"], "user": c["user"], "html_url": f"https://gh.test/c/{cid}"}
        raise KeyError(cid)

    def _gitlab(self, req: Request) -> tuple[int, dict[str, str], bytes]:
        if req.headers.get("private-token") != TOKEN:
            return 401, {}, b'{"message": "401 Unauthorized"}'
        parts = req.path.removeprefix("/api/v4").strip("/").split("/")
        if parts == ["user"]:
            return 200, {}, json.dumps({"id": self.gitlab_user, "username": "project_7_bot"}).encode()
        if parts[:2] != ["projects", "7"] or parts[2:3] != ["merge_requests"] or len(parts) < 4:
            return 404, {}, b'{"message": "404 Not found"}'
        mr = int(parts[3])
        if len(parts) == 4 and mr in self.heads:
            return 200, {}, json.dumps({"iid": mr, "sha": self.heads[mr]}).encode()
        if len(parts) == 5 and req.method == "GET":
            items, page, pages = self._page(self.comments.get(mr, []), req)
            headers = {"X-Next-Page": str(page + 1) if page < pages else "", "X-Page": str(page)}
            body = [{"id": c["id"], "body": c["body"], "author": c["author"], "system": False} for c in items]
            return 200, headers, json.dumps(body).encode()
        if len(parts) == 5 and req.method == "POST":
            nid = self.add(mr, req.body["body"], self.gitlab_user)
            return self._created(
                json.dumps({"id": nid, "body": req.body["body"], "author": {"id": self.gitlab_user}}).encode()
            )
        if len(parts) == 6 and req.method == "PUT":
            for c in self.comments.get(mr, []):
                if c["id"] == int(parts[5]):
                    c["body"] = req.body["body"]
                    return 200, {}, json.dumps({"id": c["id"], "body": c["body"], "author": c["author"]}).encode()
        return 404, {}, b'{"message": "404 Not found"}'


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def _any(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        req = Request(
            self.command,
            url.path,
            dict(urllib.parse.parse_qsl(url.query)),
            {k.lower(): v for k, v in self.headers.items()},
            json.loads(raw) if raw else None,
        )
        fake: Fake = self.server.fake
        fake.requests.append(req)
        status, headers, body = fake.handle(req)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[Fake]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    state = Fake(base=f"http://127.0.0.1:{server.server_address[1]}")
    server.fake = state
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replaces forge.sleep: tests never wait, and see how long the client would have."""
    waits: list[float] = []
    monkeypatch.setattr(forge, "sleep", waits.append)
    monkeypatch.setattr(forge, "now", lambda: 1_800_000_000.0)
    return waits


@pytest.fixture
def github(fake: Fake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, slept: list[float]) -> Path:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", f"{fake.base}/api/v3")
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/repo")
    report = tmp_path / "report.md"
    report.write_text(f"{MARKER}\n## mlgit report: PASS\nfirst version\n")
    return report


@pytest.fixture
def gitlab(fake: Fake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, slept: list[float]) -> Path:
    monkeypatch.setenv("GITLAB_CI", "true")
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("CI_API_V4_URL", f"{fake.base}/api/v4")
    monkeypatch.setenv("CI_PROJECT_ID", "7")
    monkeypatch.setenv("CI_MERGE_REQUEST_IID", "3")
    report = tmp_path / "report.md"
    report.write_text("## mlgit report: PASS\n")
    return report


def test_github_creates_one_comment_after_reading_every_page(fake: Fake, github: Path, mlgit) -> None:
    for i in range(5):  # three pages of other people's comments, one quoting the marker
        fake.add(12, f"{MARKER} quoted by a human" if i == 3 else f"looks good {i}", "octocat")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 0, r.err
    assert "created the report comment on pull request #12" in r.out
    gets = [q for q in fake.requests if q.method == "GET" and q.path.endswith("/comments")]
    assert [q.query.get("page", "1") for q in gets] == ["1", "2", "3"]  # followed the Link header to the end
    assert gets[0].query["per_page"] == "100"
    assert [(w.method, w.path) for w in fake.writes()] == [("POST", "/api/v3/repos/octo/repo/issues/12/comments")]
    assert fake.writes()[0].body["body"].startswith(MARKER)
    assert all(q.headers["authorization"] == f"Bearer {TOKEN}" for q in fake.requests)
    assert TOKEN not in r.out + r.err
    # The human's comment with the marker was not taken for ours.
    assert fake.comments[12][3]["body"] == f"{MARKER} quoted by a human"


def test_github_updates_its_own_comment_and_then_has_nothing_to_do(fake: Fake, github: Path, mlgit) -> None:
    for i in range(4):
        fake.add(12, f"chatter {i}", "octocat")
    ours = fake.add(12, f"{MARKER}\nold report", "github-actions[bot]")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 0, r.err
    assert f"updated the report comment on pull request #12: https://gh.test/c/{ours}" in r.out
    assert [(w.method, w.path) for w in fake.writes()] == [("PATCH", f"/api/v3/repos/octo/repo/issues/comments/{ours}")]
    assert "first version" in fake.comments[12][-1]["body"]
    assert len(fake.comments[12]) == 5  # no second comment
    fake.requests.clear()
    again = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert again.code == 0 and "already up to date" in again.out
    assert fake.writes() == []


def test_github_login_from_get_user_when_the_token_may_ask(fake: Fake, github: Path, mlgit) -> None:
    fake.user_status, fake.login = 200, "mlgit-bot"
    fake.add(12, f"{MARKER}\nby the actions bot", "github-actions[bot]")  # another author: not ours
    mine = fake.add(12, f"{MARKER}\nby mlgit-bot", "mlgit-bot")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 0, r.err
    assert [w.path for w in fake.writes()] == [f"/api/v3/repos/octo/repo/issues/comments/{mine}"]


def test_author_override_and_dry_run(fake: Fake, github: Path, mlgit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLGIT_COMMENT_AUTHOR", "my-app[bot]")
    app = fake.add(12, f"{MARKER}\nold", "my-app[bot]")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github), "--dry-run")
    assert r.code == 0, r.err
    assert "dry run: would update" in r.out and str(app) in r.out
    assert fake.writes() == []
    assert not any(q.path == "/api/v3/user" for q in fake.requests)  # the override needs no lookup


def test_pr_number_from_the_event_file(fake: Fake, github: Path, mlgit, monkeypatch: pytest.MonkeyPatch) -> None:
    event = github.parent / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 31}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    r = mlgit(github.parent, "comment", "--file", "report.md")
    assert r.code == 0, r.err
    assert fake.writes()[0].path == "/api/v3/repos/octo/repo/issues/31/comments"


def test_workflow_run_from_a_fork_needs_pr(fake: Fake, github: Path, mlgit, monkeypatch: pytest.MonkeyPatch) -> None:
    event = github.parent / "event.json"
    event.write_text(json.dumps({"workflow_run": {"pull_requests": []}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    r = mlgit(github.parent, "comment", "--file", str(github))
    assert r.code == 2
    assert "no pull request number" in r.err and "--pr N" in r.err
    assert fake.requests == []


def test_rate_limits_are_waited_out_with_bounded_retries(fake: Fake, github: Path, mlgit, slept: list[float]) -> None:
    path = "/api/v3/repos/octo/repo/issues/12/comments"
    fake.script += [
        ("GET", path, 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(1_800_000_000 + 30)}, b"{}"),
        ("GET", path, 429, {"retry-after": "7"}, b'{"message": "secondary rate limit"}'),
        ("POST", path, 502, {}, b"bad gateway"),
    ]
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 0, r.err
    assert slept == [31.0, 7.0, 2.0]  # reset - now + 1 s, retry-after, then a short server-error pause
    assert [w.method for w in fake.writes()] == ["POST", "POST"]  # the 502 was retried once
    assert len(fake.comments[12]) == 1


@pytest.mark.parametrize(("forge_fixture", "number", "args"), [("github", 12, ("--pr", "12")), ("gitlab", 3, ())])
def test_a_5xx_after_the_comment_was_created_never_leaves_two(
    fake: Fake,
    mlgit,
    slept: list[float],
    request: pytest.FixtureRequest,
    forge_fixture: str,
    number: int,
    args: tuple[str, ...],
) -> None:
    # GitHub (and GitLab behind a proxy) can create the comment and still answer 502: a blind retry of the POST
    # would post a second sticky comment (issue 12). mlgit looks before it posts again.
    report: Path = request.getfixturevalue(forge_fixture)
    fake.after_create += [502]
    r = mlgit(report.parent, "comment", *args, "--file", str(report))
    assert r.code == 0, r.err
    (only,) = fake.comments[number]
    assert MARKER in only["body"] and only["body"].endswith(report.read_text())
    assert [w.method for w in fake.writes()] == ["POST"]
    assert slept == []
    # The next run updates that one comment.
    report.write_text(report.read_text() + "second version\n")
    r = mlgit(report.parent, "comment", *args, "--file", str(report))
    assert r.code == 0, r.err
    (only,) = fake.comments[number]
    assert only["body"].endswith("second version\n")


def test_a_post_that_keeps_failing_says_the_comment_may_exist(
    fake: Fake, github: Path, mlgit, slept: list[float]
) -> None:
    path = "/api/v3/repos/octo/repo/issues/12/comments"
    fake.script += [("POST", path, 503, {}, b"unavailable") for _ in range(forge.MAX_ATTEMPTS)]
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2 and "Traceback" not in r.err
    assert "answered HTTP 503" in r.err and "re-running 'mlgit comment' updates it" in r.err
    assert [w.method for w in fake.writes()] == ["POST"] * forge.MAX_ATTEMPTS
    assert slept == [2.0] * (forge.MAX_ATTEMPTS - 1)


def test_rate_limit_gives_up_after_bounded_attempts(fake: Fake, github: Path, mlgit, slept: list[float]) -> None:
    path = "/api/v3/repos/octo/repo/issues/12/comments"
    fake.script += [("GET", path, 429, {"retry-after": "1"}, b"{}") for _ in range(10)]
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2
    assert f"still failed after {forge.MAX_ATTEMPTS} attempts" in r.err and "HTTP 429" in r.err
    assert len([q for q in fake.requests if q.path == path]) == forge.MAX_ATTEMPTS
    assert slept == [1.0] * (forge.MAX_ATTEMPTS - 1)
    assert "Traceback" not in r.err


def test_a_long_rate_limit_fails_at_once_with_the_reset_time(
    fake: Fake, github: Path, mlgit, slept: list[float]
) -> None:
    reset = 1_800_000_000 + 3600
    fake.script.append(
        ("GET", "/api/v3/repos", 403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}, b"{}")
    )
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2
    assert "rate limit reached; it resets at" in r.err
    assert slept == []


def test_read_only_fork_token_points_at_the_workflow_run_commenter(fake: Fake, github: Path, mlgit) -> None:
    fake.write_status = 403
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2
    assert "refused to write the comment (403: Resource not accessible by integration)" in r.err
    assert "fork" in r.err and "workflow_run" in r.err and "mlgit comment --pr N" in r.err
    assert "Traceback" not in r.err


def test_bad_token_and_missing_settings(fake: Fake, github: Path, mlgit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2 and "rejected the token (401: Bad credentials)" in r.err and "GITHUB_TOKEN" in r.err
    monkeypatch.delenv("GITHUB_REPOSITORY")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2 and "GITHUB_REPOSITORY is not set" in r.err
    monkeypatch.delenv("GITHUB_ACTIONS")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2 and "--forge github or --forge gitlab" in r.err
    r = mlgit(github.parent, "comment", "--forge", "github", "--pr", "12", "--file", "missing.md")
    assert r.code == 2 and "missing.md: no such file" in r.err


def test_too_long_for_github_is_refused_before_any_request(fake: Fake, github: Path, mlgit) -> None:
    github.write_text(MARKER + "x" * 70_000)
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2 and "at most 65,536" in r.err
    assert fake.requests == []


def test_pagination_link_to_another_host_never_gets_the_token(fake: Fake, github: Path, mlgit) -> None:
    path = "/api/v3/repos/octo/repo/issues/12/comments"
    fake.script.append(("GET", path, 200, {"Link": '<http://evil.invalid/steal?page=2>; rel="next"'}, b"[]"))
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2 and "outside" in r.err
    assert fake.writes() == []


def test_gitlab_updates_its_note_found_on_a_later_page(fake: Fake, gitlab: Path, mlgit) -> None:
    fake.add(3, f"{MARKER}\nsomeone else's", 5)
    for i in range(3):
        fake.add(3, f"note {i}", 5)
    ours = fake.add(3, f"{MARKER}\nold", 42)
    r = mlgit(gitlab.parent, "comment", "--file", str(gitlab))
    assert r.code == 0, r.err
    assert "updated the report comment on merge request #3" in r.out
    pages = [q.query.get("page") for q in fake.requests if q.method == "GET" and q.path.endswith("/notes")]
    assert pages == ["1", "2", "3"]  # followed X-Next-Page until it was empty
    assert [(w.method, w.path) for w in fake.writes()] == [("PUT", f"/api/v4/projects/7/merge_requests/3/notes/{ours}")]
    assert all(q.headers["private-token"] == TOKEN for q in fake.requests)
    body = fake.writes()[0].body["body"]
    assert body.startswith(MARKER) and "mlgit report: PASS" in body  # marker added to a file without one


def test_gitlab_creates_a_note(fake: Fake, gitlab: Path, mlgit) -> None:
    r = mlgit(gitlab.parent, "comment", "--file", str(gitlab))
    assert r.code == 0, r.err
    assert [(w.method, w.path) for w in fake.writes()] == [("POST", "/api/v4/projects/7/merge_requests/3/notes")]


def test_gitlab_rate_limit_reset_header(fake: Fake, gitlab: Path, mlgit, slept: list[float]) -> None:
    fake.script.append(("GET", "/api/v4/projects", 429, {"RateLimit-Reset": str(1_800_000_000 + 4)}, b"{}"))
    r = mlgit(gitlab.parent, "comment", "--file", str(gitlab))
    assert r.code == 0, r.err
    assert slept == [5.0]


def test_next_link_parsing() -> None:
    link = '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=9>; rel="last"'
    assert forge._next_link(link) == "https://api.github.com/x?page=2"
    assert forge._next_link('<https://api.github.com/x?page=1>; rel="prev"') is None
    assert forge._next_link(None) is None


def test_unreachable_api_is_retried_a_bounded_number_of_times(github: Path, mlgit, monkeypatch, slept) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{port}/api/v3")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2 and f"cannot reach http://127.0.0.1:{port}/api/v3" in r.err
    assert slept == [2.0, 4.0, 8.0]


def test_head_commit_must_match_the_run_that_made_the_report(fake: Fake, github: Path, mlgit, monkeypatch) -> None:
    fake.heads = {12: "a" * 40, 9: "b" * 40}
    monkeypatch.setenv("MLGIT_HEAD_SHA", "a" * 40)
    r = mlgit(github.parent, "comment", "--pr", "9", "--file", str(github))  # a forged number from the artifact
    assert r.code == 2 and "#9's head is bbbbbbbbbbbb, but the report was made for aaaaaaaaaaaa" in r.err
    assert fake.writes() == [] and not any("comments" in q.path for q in fake.requests)
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 0, r.err
    assert [w.method for w in fake.writes()] == ["POST"]


def test_gitlab_head_check(fake: Fake, gitlab: Path, mlgit, monkeypatch) -> None:
    fake.heads = {3: "c" * 40}
    monkeypatch.setenv("MLGIT_HEAD_SHA", "d" * 40)
    r = mlgit(gitlab.parent, "comment", "--file", str(gitlab))
    assert r.code == 2 and "not commenting" in r.err and fake.writes() == []


def test_forged_pass_from_a_failed_run_is_marked(fake: Fake, github: Path, mlgit, monkeypatch) -> None:
    # The fork's own code wrote report.md; the conclusion comes from GitHub's workflow_run event.
    monkeypatch.setenv("MLGIT_RUN_CONCLUSION", "failure")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 0, r.err
    body = fake.comments[12][-1]["body"]
    first = body.splitlines()[:2]
    assert first[0] == MARKER
    assert "Checks run: **failure**, but the report below claims PASS" in first[1]
    assert "trust the checks run, not the report" in first[1]
    assert "first version" in body


def test_agreeing_report_opens_with_the_trusted_conclusion(fake: Fake, github: Path, mlgit, monkeypatch) -> None:
    monkeypatch.setenv("MLGIT_RUN_CONCLUSION", "success")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 0, r.err
    second = fake.comments[12][-1]["body"].splitlines()[1]
    assert second.startswith("> Checks run: **success**") and "⚠️" not in second


def test_report_without_a_verdict_is_marked(fake: Fake, github: Path, mlgit, monkeypatch) -> None:
    github.write_text("all good, trust me\n")
    monkeypatch.setenv("MLGIT_RUN_CONCLUSION", "success")
    assert mlgit(github.parent, "comment", "--pr", "12", "--file", str(github)).code == 0
    assert "but the report below states no verdict" in fake.comments[12][-1]["body"]


def test_bad_conclusion_value_exits_2(fake: Fake, github: Path, mlgit, monkeypatch) -> None:
    monkeypatch.setenv("MLGIT_RUN_CONCLUSION", "success; rm -rf")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 2 and "MLGIT_RUN_CONCLUSION" in r.err and fake.writes() == []


def test_a_report_claiming_the_verdict_cannot_make_the_bot_say_it(fake: Fake, github: Path, mlgit, monkeypatch) -> None:
    # The fork's code wrote report.md: hidden markers, a fake stamp and a PASSED headline must not read as the
    # bot's own words when the run failed; the report is shown fenced, as text (issue 12).
    github.write_text(
        f"{MARKER}\n<!-- mlgit:verdict passed -->\n> Checks run: **success** (recorded by the forge)\n"
        f"## mlgit report: PASS\n✅ PASSED\n{MARKER}\n"
    )
    monkeypatch.setenv("MLGIT_RUN_CONCLUSION", "failure")
    r = mlgit(github.parent, "comment", "--pr", "12", "--file", str(github))
    assert r.code == 0, r.err
    body = fake.comments[12][-1]["body"]
    lines = body.splitlines()
    assert lines[0] == MARKER and body.count(MARKER) == 1 and body.count("<!--") == 1
    assert "Checks run: **failure**, but the report below claims PASS" in lines[1]
    fence = next(i for i, line in enumerate(lines) if line.startswith("```"))
    close = max(i for i, line in enumerate(lines) if line == lines[fence].removesuffix("text"))
    rendered = lines[:fence] + lines[close + 1 :]
    assert not any("PASS" in line.replace("claims PASS", "") for line in rendered), rendered
    assert not any("**success**" in line for line in rendered), rendered
    assert "✅ PASSED" in "\n".join(lines[fence:close])
