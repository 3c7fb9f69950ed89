"""Tiny stand-ins for the parts of GitHub's and GitLab's REST APIs that mlgit uses, on a loopback port."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

BOT = "github-actions[bot]"


@dataclass
class FakeGitHub:
    """Pull requests, their comments, and every request received."""

    repo: str
    pulls: dict[int, str] = field(default_factory=dict)  # number -> head sha
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, authorization
    opened: dict[int, dict[str, Any]] = field(default_factory=dict)  # pull requests made through the API
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # issues (mlgit monitor --alert)
    dispatches: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # workflow, payload
    url: str = ""
    _next_id: int = 1000

    def writes(self) -> list[tuple[str, str]]:
        """The requests that changed something."""
        return [(m, p) for m, p, _ in self.requests if m in {"POST", "PATCH", "PUT", "DELETE"}]

    def handle(self, method: str, path: str, payload: Any) -> tuple[int, Any]:
        base = f"/repos/{self.repo}"
        route = path.split("?", 1)[0]
        if method == "GET" and route == "/user":
            return 403, {"message": "Resource not accessible by integration"}
        answer = self._pulls(method, route, path, payload) or self._issues(method, route, path, payload)
        if answer is not None:
            return answer
        m = re.fullmatch(rf"{re.escape(base)}/pulls/(\d+)", route)
        if method == "GET" and m:
            number = int(m[1])
            if number not in self.pulls:
                return 404, {"message": "Not Found"}
            return 200, {"number": number, "head": {"sha": self.pulls[number]}}
        m = re.fullmatch(rf"{re.escape(base)}/issues/(\d+)/comments", route)
        if m:
            number = int(m[1])
            if number not in self.pulls:
                return 404, {"message": "Not Found"}
            thread = self.comments.setdefault(number, [])
            if method == "GET":
                return 200, thread
            if method == "POST":
                self._next_id += 1
                comment = {
                    "id": self._next_id,
                    "body": payload["body"],
                    "user": {"login": BOT},
                    "html_url": f"https://github.test/{self.repo}/pull/{number}#issuecomment-{self._next_id}",
                }
                thread.append(comment)
                return 201, comment
        m = re.fullmatch(rf"{re.escape(base)}/issues/comments/(\d+)", route)
        if m and method == "PATCH":
            for thread in self.comments.values():
                for comment in thread:
                    if comment["id"] == int(m[1]):
                        comment["body"] = payload["body"]
                        return 200, comment
        return 404, {"message": "Not Found"}

    def _pulls(self, method: str, route: str, path: str, payload: Any) -> tuple[int, Any] | None:
        """List (by head and state), open and edit pull requests."""
        from urllib.parse import parse_qs, urlsplit

        base = f"/repos/{self.repo}/pulls"
        if route == base and method == "GET":
            q = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
            owner = self.repo.split("/")[0]
            found = [
                p
                for p in self.opened.values()
                if p["state"] == q.get("state", "open")
                and ("head" not in q or q["head"] == f"{owner}:{p['head']['ref']}")
            ]
            return 200, found
        if route == base and method == "POST":
            if any(p["head"]["ref"] == payload["head"] and p["state"] == "open" for p in self.opened.values()):
                return 422, {"message": f"A pull request already exists for {payload['head']}."}
            self._next_id += 1
            number = len(self.opened) + 1
            pr = {
                "number": number,
                "state": "open",
                "title": payload["title"],
                "body": payload["body"],
                "draft": bool(payload.get("draft")),
                "head": {"ref": payload["head"]},
                "base": {"ref": payload["base"]},
                "html_url": f"https://github.test/{self.repo}/pull/{number}",
            }
            self.opened[number] = pr
            return 201, pr
        m = re.fullmatch(rf"{re.escape(base)}/(\d+)", route)
        if m and method == "PATCH" and int(m[1]) in self.opened:
            pr = self.opened[int(m[1])]
            pr.update({k: v for k, v in payload.items() if k in ("title", "body", "state")})
            return 200, pr
        return None


    def _issues(self, method: str, route: str, path: str, payload: Any) -> tuple[int, Any] | None:
        """List (by state and label), open and edit issues; record workflow dispatches."""
        from urllib.parse import parse_qs, urlsplit

        base = f"/repos/{self.repo}"
        m = re.fullmatch(rf"{re.escape(base)}/actions/workflows/([^/]+)/dispatches", route)
        if m and method == "POST":
            self.dispatches.append((m[1], payload))
            return 204, None
        if route == f"{base}/issues" and method == "GET":
            q = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
            found = [
                i
                for i in self.issues.values()
                if i["state"] == q.get("state", "open") and ("labels" not in q or q["labels"] in i["labels"])
            ]
            return 200, found
        if route == f"{base}/issues" and method == "POST":
            number = 100 + len(self.issues)
            issue = {
                "number": number,
                "state": "open",
                "title": payload["title"],
                "body": payload["body"],
                "labels": list(payload.get("labels") or []),
                "user": {"login": BOT},
                "html_url": f"https://github.test/{self.repo}/issues/{number}",
            }
            self.issues[number] = issue
            return 201, issue
        m = re.fullmatch(rf"{re.escape(base)}/issues/(\d+)", route)
        if m and method == "PATCH" and int(m[1]) in self.issues:
            issue = self.issues[int(m[1])]
            issue.update({k: v for k, v in payload.items() if k in ("title", "body", "state")})
            return 200, issue
        return None


@dataclass
class FakeGitLab:
    """Merge requests, their notes, and every request received (the API under `url` + /api/v4)."""

    project: str  # the project's id or path, as CI_PROJECT_ID gives it
    merge_requests: dict[int, str] = field(default_factory=dict)  # iid -> head sha
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, PRIVATE-TOKEN
    user_id: int = 42
    url: str = ""
    _next_id: int = 5000

    @property
    def api(self) -> str:
        """What CI_API_V4_URL is on this fake."""
        return f"{self.url}/api/v4"

    def writes(self) -> list[tuple[str, str]]:
        """The requests that changed something."""
        return [(m, p) for m, p, _ in self.requests if m in {"POST", "PATCH", "PUT", "DELETE"}]

    def handle(self, method: str, path: str, payload: Any) -> tuple[int, Any]:
        from urllib.parse import quote

        route = path.split("?", 1)[0]
        if method == "GET" and route == "/api/v4/user":
            return 200, {"id": self.user_id, "username": "project_bot"}
        base = f"/api/v4/projects/{quote(self.project, safe='')}/merge_requests"
        m = re.fullmatch(rf"{re.escape(base)}/(\d+)(/notes(?:/(\d+))?)?", route)
        if not m or int(m[1]) not in self.merge_requests:
            return 404, {"message": "404 Not found"}
        iid = int(m[1])
        if not m[2]:
            return (200, {"iid": iid, "sha": self.merge_requests[iid]}) if method == "GET" else (405, {})
        thread = self.notes.setdefault(iid, [])
        if method == "GET" and not m[3]:
            return 200, thread
        if method == "POST" and not m[3]:
            self._next_id += 1
            note = {"id": self._next_id, "body": payload["body"], "author": {"id": self.user_id}, "system": False}
            thread.append(note)
            return 201, note
        if method == "PUT" and m[3]:
            for note in thread:
                if note["id"] == int(m[3]):
                    note["body"] = payload["body"]
                    return 200, note
        return 404, {"message": "404 Not found"}


_F = TypeVar("_F", FakeGitHub, FakeGitLab)


@contextmanager
def serve(repo: str) -> Iterator[FakeGitHub]:
    """Run a FakeGitHub on 127.0.0.1 for the duration of the block."""
    with _serving(FakeGitHub(repo), "Authorization") as fake:
        yield fake


@contextmanager
def serve_gitlab(project: str) -> Iterator[FakeGitLab]:
    """Run a FakeGitLab on 127.0.0.1 for the duration of the block."""
    with _serving(FakeGitLab(project), "PRIVATE-TOKEN") as fake:
        yield fake


@contextmanager
def _serving(fake: _F, auth_header: str) -> Iterator[_F]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with lock:
                fake.requests.append((self.command, self.path, self.headers.get(auth_header)))
                status, doc = fake.handle(self.command, self.path, json.loads(raw) if raw else None)
            body = b"" if status == 204 else json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_PUT = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
