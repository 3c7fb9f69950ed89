"""GitHub and GitLab REST clients for the one sticky report comment: the only network code in mlgit.

Plain urllib, so the commenter job needs nothing but mlgit. Rate limits are honoured (`retry-after`,
`x-ratelimit-reset`, GitLab's `RateLimit-Reset`) with bounded retries; `sleep` and `now` are module
attributes so tests replace them and never wait.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlgit import __version__
from mlgit.errors import MlgitError
from mlgit.results.status import Status

sleep: Callable[[float], None] = time.sleep
now: Callable[[], float] = time.time

MAX_ATTEMPTS = 4  # one request and at most three retries
MAX_WAIT = 120.0  # seconds: a longer rate-limit wait fails with the time to retry instead of hanging CI
MAX_PAGES = 100
TIMEOUT = 30.0
UNCONFIRMED_HINT = "the comment may have been created anyway: re-running 'mlgit comment' updates it, never adds one"
FORK_HINT = (
    "a pull request from a fork gets a read-only token, so the job that built the report cannot comment. "
    "Post the comment from the fork-safe 'workflow_run' workflow instead (mlgit ci generate writes it): the "
    "pull_request job uploads report.md with the PR number as an artifact, and the workflow_run job, which has "
    "'pull-requests: write', runs 'mlgit comment --pr N --file report.md'"
)


class HttpError(MlgitError):
    """The forge answered with an error status that retrying cannot fix."""

    def __init__(self, status: int, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class Unconfirmed(MlgitError):
    """A POST whose effect is unknown: the forge answered 5xx, or the connection broke, after it was sent.

    GitHub can create a comment and still answer 502, so posting again could leave two; the caller looks
    before it posts again."""


@dataclass(frozen=True)
class Response:
    """One HTTP response; header names are lower-case."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise MlgitError(f"the forge answered HTTP {self.status} with a body that is not JSON") from None


@dataclass(frozen=True)
class Comment:
    """A PR comment or MR note."""

    id: int
    author: str
    body: str
    url: str | None


@dataclass(frozen=True)
class Pull:
    """A pull request."""

    number: int
    url: str | None
    draft: bool
    body: str


def _pull(p: Any) -> Pull:
    if not isinstance(p, dict) or "number" not in p:
        raise MlgitError("GitHub returned a pull request without a number")
    return Pull(int(p["number"]), p.get("html_url"), bool(p.get("draft")), str(p.get("body") or ""))


@dataclass(frozen=True)
class Issue:
    """An issue."""

    number: int
    author: str
    body: str
    url: str | None


def _issue(i: Any) -> Issue:
    if not isinstance(i, dict) or "number" not in i:
        raise MlgitError("GitHub returned an issue without a number")
    user = i.get("user") or {}
    return Issue(int(i["number"]), str(user.get("login", "")), str(i.get("body") or ""), i.get("html_url"))


ALERT_LABEL = "mlgit-monitor"


class ForgeWrite(Status):
    """What a write to the forge did with the one comment, issue or pull request mlgit keeps there."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    WOULD_CREATE = "would-create"  # dry runs
    WOULD_UPDATE = "would-update"
    OPENED = "opened"  # the alert issue
    CLOSED = "closed"
    NONE = "none"  # healthy, and no alert issue to close


def alert(
    gh: GitHub, marker: str, author: str | None, title: str, body: str, healthy: bool
) -> tuple[ForgeWrite, Issue | None]:
    """Keep one open issue per marker: opened when unhealthy, updated in place, closed when healthy.

    Only issues with the marker written by `author` (the token's user, else github-actions[bot]) are touched.
    """
    who = author or gh.me() or gh.default_bot
    mine = sorted(
        (i for i in gh.open_issues(ALERT_LABEL) if marker in i.body and i.author == who), key=lambda i: i.number
    )
    if healthy:
        if not mine:
            return ForgeWrite.NONE, None
        for i in mine:
            gh.edit_issue(i.number, body=body, state="closed")
        return ForgeWrite.CLOSED, mine[0]
    if not mine:
        return ForgeWrite.OPENED, gh.create_issue(title, body, ALERT_LABEL)
    if mine[0].body.strip() == body.strip():
        return ForgeWrite.UNCHANGED, mine[0]
    return ForgeWrite.UPDATED, gh.edit_issue(mine[0].number, title=title, body=body)


def one_pull(gh: GitHub, branch: str, base: str, title: str, body: str, draft: bool) -> tuple[ForgeWrite, Pull]:
    """Open the one pull request of `branch`, or update it in place: (created | updated | unchanged, the PR).

    A draft made when the gate refused stays a draft until a person marks it ready (REST cannot undraft).
    """
    if len(body) > gh.body_limit:
        raise MlgitError(f"the pull request body has {len(body):,} characters; GitHub accepts {gh.body_limit:,}")
    found = gh.open_pulls(branch)
    if not found:
        return ForgeWrite.CREATED, gh.create_pull(branch, base, title, body, draft)
    first = min(found, key=lambda p: p.number)
    if first.body.strip() == body.strip():
        return ForgeWrite.UNCHANGED, first
    return ForgeWrite.UPDATED, gh.update_pull(first.number, title, body)


class Transport:
    """Authenticated JSON requests to one API root, with retries for rate limits and server errors."""

    def __init__(self, api: str, headers: Mapping[str, str], forge: str) -> None:
        self.api = api.rstrip("/")
        parts = urllib.parse.urlsplit(self.api)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise MlgitError(f"the {forge} API URL {api!r} is not an http(s) URL")
        self.origin = (parts.scheme, parts.netloc)
        self.headers = {"Accept": "application/json", "User-Agent": f"mlgit/{__version__}", **headers}
        self.forge = forge

    def url(self, path: str, query: Mapping[str, str | int] | None = None) -> str:
        """An absolute URL under the API root."""
        q = f"?{urllib.parse.urlencode(query)}" if query else ""
        return f"{self.api}{path}{q}"

    def request(self, method: str, url: str, payload: Any = None) -> Response:
        """Send a request; retry on rate limits, 5xx and connection errors; raise MlgitError on failure."""
        parts = urllib.parse.urlsplit(url)
        if (parts.scheme, parts.netloc) != self.origin:
            # A pagination link to another host must never receive the token.
            raise MlgitError(f"the {self.forge} API pointed to {parts.scheme}://{parts.netloc}, outside {self.api}")
        data = None if payload is None else json.dumps(payload).encode()
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        last = ""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - scheme checked
            try:
                with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:  # noqa: S310 - scheme checked
                    return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
            except urllib.error.HTTPError as exc:
                res = Response(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                last = f"cannot reach {self.api}: {reason}"
                if method == "POST":
                    raise Unconfirmed(f"POST {url} failed: {last}", hint=UNCONFIRMED_HINT) from None
                if attempt < MAX_ATTEMPTS:
                    sleep(2.0**attempt)
                    continue
                raise MlgitError(last, hint="check the API URL and the network") from None
            wait = self._wait(res)
            if wait is None:
                raise self._error(method, url, res)
            if method == "POST" and res.status >= 500:
                raise Unconfirmed(f"POST {url} answered HTTP {res.status} ({self._detail(res)})", hint=UNCONFIRMED_HINT)
            if wait > MAX_WAIT:
                until = time.strftime("%H:%M:%S UTC", time.gmtime(now() + wait))
                raise MlgitError(f"{self.forge} rate limit reached; it resets at {until}", hint="re-run the job then")
            last = f"HTTP {res.status} ({self._detail(res)})"
            if attempt < MAX_ATTEMPTS:
                sleep(wait)
        raise MlgitError(
            f"{method} {url} still failed after {MAX_ATTEMPTS} attempts: {last}", hint="re-run the job later"
        )

    def _wait(self, res: Response) -> float | None:
        """Seconds to wait before retrying, or None when retrying cannot help."""
        h = res.headers
        limited = res.status == 429 or (
            res.status == 403
            and (h.get("x-ratelimit-remaining") == "0" or "retry-after" in h or b"rate limit" in res.body.lower())
        )
        if limited:
            if "retry-after" in h:
                try:
                    return max(0.0, float(h["retry-after"]))
                except ValueError:
                    pass
            for name in ("x-ratelimit-reset", "ratelimit-reset"):
                if name in h:
                    try:
                        return max(0.0, float(h[name]) - now()) + 1.0
                    except ValueError:
                        pass
            return 60.0  # GitHub's advice for a secondary rate limit without headers
        if res.status in {500, 502, 503, 504}:
            return 2.0
        return None

    @staticmethod
    def _detail(res: Response) -> str:
        try:
            doc = json.loads(res.body)
        except ValueError:
            return res.body[:200].decode("utf-8", "replace").strip() or "no details"
        if isinstance(doc, dict):
            return str(doc.get("message") or doc.get("error") or doc)[:300]
        return str(doc)[:300]

    def _error(self, method: str, url: str, res: Response) -> HttpError:
        detail = self._detail(res)
        token = (
            "GITHUB_TOKEN"
            if self.forge == "GitHub"
            else "GITLAB_TOKEN (MLGIT_NOTE_TOKEN in the generated .gitlab-ci.yml)"
        )
        if res.status == 401:
            return HttpError(401, f"{self.forge} rejected the token (401: {detail})", hint=f"check {token}")
        if res.status == 403:
            if method != "GET":
                return HttpError(403, f"{self.forge} refused to write the comment (403: {detail})", hint=FORK_HINT)
            return HttpError(
                403,
                f"{self.forge} refused to read {url} (403: {detail})",
                hint=f"check that {token} can read the repository",
            )
        if res.status == 404:
            return HttpError(
                404,
                f"{self.forge} answered 404 for {method} {url} ({detail})",
                hint="check the repository/project, the PR/MR number, and that the token can see them",
            )
        return HttpError(res.status, f"{self.forge} answered HTTP {res.status} for {method} {url}: {detail}")


def _next_link(link: str | None) -> str | None:
    """The rel="next" URL of a GitHub Link header."""
    for part in (link or "").split(","):
        url, _, params = part.partition(";")
        if any(p.strip().replace(" ", "") in {'rel="next"', "rel=next"} for p in params.split(";")):
            return url.strip().lstrip("<").rstrip(">")
    return None


class GitHub:
    """Issue comments on a pull request (a PR is an issue in GitHub's REST API)."""

    name = "GitHub"
    body_limit = 65_536
    default_bot = "github-actions[bot]"

    def __init__(self, api: str, repo: str, token: str) -> None:
        self.t = Transport(
            api,
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            self.name,
        )
        owner, _, name = repo.partition("/")
        self.repo = f"{urllib.parse.quote(owner, safe='')}/{urllib.parse.quote(name, safe='')}"

    def me(self) -> str | None:
        """The token's login, or None when the token may not ask (GITHUB_TOKEN gets 403 on GET /user)."""
        try:
            res = self.t.request("GET", self.t.url("/user"))
        except HttpError as exc:
            if exc.status in {403, 404}:
                return None
            raise
        login = res.json().get("login") if isinstance(res.json(), dict) else None
        return str(login) if login else None

    def comments(self, pr: int) -> Iterator[Comment]:
        """Every comment on the PR, oldest first, following the Link header's pages."""
        url: str | None = self.t.url(f"/repos/{self.repo}/issues/{pr}/comments", {"per_page": 100})
        seen: set[str] = set()
        while url and url not in seen and len(seen) < MAX_PAGES:
            seen.add(url)
            res = self.t.request("GET", url)
            for c in res.json() or []:
                yield self._comment(c)
            url = _next_link(res.headers.get("link"))

    def head_sha(self, pr: int) -> str | None:
        """The commit the pull request's head branch points at now."""
        doc = self.t.request("GET", self.t.url(f"/repos/{self.repo}/pulls/{pr}")).json()
        head = doc.get("head") if isinstance(doc, dict) else None
        return str(head["sha"]) if isinstance(head, dict) and head.get("sha") else None

    def create(self, pr: int, body: str) -> Comment:
        """Post a new comment."""
        res = self.t.request("POST", self.t.url(f"/repos/{self.repo}/issues/{pr}/comments"), {"body": body})
        return self._comment(res.json())

    def update(self, pr: int, comment: Comment, body: str) -> Comment:
        """Replace a comment's body."""
        res = self.t.request("PATCH", self.t.url(f"/repos/{self.repo}/issues/comments/{comment.id}"), {"body": body})
        return self._comment(res.json())

    def open_pulls(self, branch: str) -> list[Pull]:
        """Open pull requests whose head is `branch` of this repository."""
        owner = self.repo.split("/", 1)[0]
        query: dict[str, str | int] = {
            "head": f"{urllib.parse.unquote(owner)}:{branch}",
            "state": "open",
            "per_page": 100,
        }
        res = self.t.request("GET", self.t.url(f"/repos/{self.repo}/pulls", query))
        return [
            _pull(p) for p in res.json() or [] if isinstance(p, dict) and (p.get("head") or {}).get("ref") == branch
        ]

    def create_pull(self, branch: str, base: str, title: str, body: str, draft: bool) -> Pull:
        """Open a pull request from `branch` into `base`."""
        payload = {"head": branch, "base": base, "title": title, "body": body, "draft": draft}
        return _pull(self.t.request("POST", self.t.url(f"/repos/{self.repo}/pulls"), payload).json())

    def update_pull(self, number: int, title: str, body: str) -> Pull:
        """Replace a pull request's title and body."""
        payload = {"title": title, "body": body}
        return _pull(self.t.request("PATCH", self.t.url(f"/repos/{self.repo}/pulls/{number}"), payload).json())

    def open_issues(self, label: str) -> Iterator[Issue]:
        """Open issues carrying `label` (pull requests excluded), every page."""
        url: str | None = self.t.url(f"/repos/{self.repo}/issues", {"state": "open", "labels": label, "per_page": 100})
        seen: set[str] = set()
        while url and url not in seen and len(seen) < MAX_PAGES:
            seen.add(url)
            res = self.t.request("GET", url)
            for i in res.json() or []:
                if isinstance(i, dict) and "pull_request" not in i:
                    yield _issue(i)
            url = _next_link(res.headers.get("link"))

    def create_issue(self, title: str, body: str, label: str) -> Issue:
        """Open an issue."""
        payload = {"title": title, "body": body, "labels": [label]}
        return _issue(self.t.request("POST", self.t.url(f"/repos/{self.repo}/issues"), payload).json())

    def edit_issue(self, number: int, **fields: str) -> Issue:
        """Change an issue's title, body or state."""
        return _issue(self.t.request("PATCH", self.t.url(f"/repos/{self.repo}/issues/{number}"), fields).json())

    def dispatch(self, workflow: str, ref: str, inputs: Mapping[str, str]) -> None:
        """Start a workflow_dispatch run (the one event the job token may start)."""
        path = f"/repos/{self.repo}/actions/workflows/{urllib.parse.quote(workflow, safe='')}/dispatches"
        self.t.request("POST", self.t.url(path), {"ref": ref, "inputs": dict(inputs)})

    @staticmethod
    def _comment(c: Any) -> Comment:
        if not isinstance(c, dict) or "id" not in c:
            raise MlgitError("GitHub returned a comment without an id")
        user = c.get("user") or {}
        return Comment(int(c["id"]), str(user.get("login", "")), str(c.get("body") or ""), c.get("html_url"))


class GitLab:
    """Notes on a merge request."""

    name = "GitLab"
    body_limit = 1_000_000
    default_bot = None

    def __init__(self, api: str, project: str, token: str) -> None:
        self.t = Transport(api, {"PRIVATE-TOKEN": token}, self.name)
        self.project = urllib.parse.quote(project, safe="")

    def me(self) -> str | None:
        """The token's user id (as text): notes are matched by author id."""
        res = self.t.request("GET", self.t.url("/user"))
        doc = res.json()
        return str(doc["id"]) if isinstance(doc, dict) and "id" in doc else None

    def comments(self, mr: int) -> Iterator[Comment]:
        """Every note on the MR, oldest first, following X-Next-Page."""
        path = f"/projects/{self.project}/merge_requests/{mr}/notes"
        page: str | None = "1"
        seen: set[str] = set()
        while page and page not in seen and len(seen) < MAX_PAGES:
            seen.add(page)
            query: dict[str, str | int] = {"per_page": 100, "page": page, "sort": "asc", "order_by": "created_at"}
            res = self.t.request("GET", self.t.url(path, query))
            for n in res.json() or []:
                if isinstance(n, dict) and not n.get("system"):
                    yield self._note(n)
            page = (res.headers.get("x-next-page") or "").strip() or None

    def head_sha(self, mr: int) -> str | None:
        """The merge request's head commit now."""
        doc = self.t.request("GET", self.t.url(f"/projects/{self.project}/merge_requests/{mr}")).json()
        return str(doc["sha"]) if isinstance(doc, dict) and doc.get("sha") else None

    def create(self, mr: int, body: str) -> Comment:
        """Post a new note."""
        res = self.t.request("POST", self.t.url(f"/projects/{self.project}/merge_requests/{mr}/notes"), {"body": body})
        return self._note(res.json())

    def update(self, mr: int, comment: Comment, body: str) -> Comment:
        """Replace a note's body."""
        url = self.t.url(f"/projects/{self.project}/merge_requests/{mr}/notes/{comment.id}")
        return self._note(self.t.request("PUT", url, {"body": body}).json())

    @staticmethod
    def _note(n: Any) -> Comment:
        if not isinstance(n, dict) or "id" not in n:
            raise MlgitError("GitLab returned a note without an id")
        author = n.get("author") or {}
        return Comment(int(n["id"]), str(author.get("id", "")), str(n.get("body") or ""), None)


Forge = GitHub | GitLab


@dataclass(frozen=True)
class CommentOutcome:
    """What the sticky-comment step did."""

    action: ForgeWrite
    comment: Comment | None
    author: str  # who the comment was matched by
    duplicates: int  # other matching comments left alone (from before mlgit kept one)


def sticky(
    forge: Forge,
    pr: int,
    body: str,
    marker: str,
    author: str | None,
    *,
    expected_head: str | None = None,
    dry_run: bool = False,
) -> CommentOutcome:
    """Create or update the one comment that carries `marker` and was written by `author`.

    `author` None asks the forge who the token is (GitHub: falls back to github-actions[bot], since
    GITHUB_TOKEN may not call GET /user). Comments by anyone else are never touched, even with the marker.
    `expected_head`: the commit the report was made for; the PR's head must still be that commit (the
    fork-safe commenter gets the PR number from an artifact the fork controls, the commit from the event).
    """
    if len(body) > forge.body_limit:
        raise MlgitError(
            f"the comment has {len(body):,} characters; {forge.name} accepts at most {forge.body_limit:,}",
            hint="post the markdown that 'mlgit report --format md' writes: it stays under the limit",
        )
    if expected_head:
        head = forge.head_sha(pr)
        if head != expected_head:
            raise MlgitError(
                f"#{pr}'s head is {(head or 'unknown')[:12]}, but the report was made for {expected_head[:12]}"
                " (MLGIT_HEAD_SHA); not commenting",
                hint="the PR moved on since (its newer run will comment), or the PR number in the report artifact"
                " does not belong to the run that made it",
            )
    who = author or forge.me() or forge.default_bot
    if who is None:
        raise MlgitError(f"cannot tell which {forge.name} user the token belongs to (GET /user failed)")
    mine = _mine(forge, pr, marker, who)
    extra = max(0, len(mine) - 1)
    if not mine:
        if dry_run:
            return CommentOutcome(ForgeWrite.WOULD_CREATE, None, who, 0)
        return CommentOutcome(ForgeWrite.CREATED, _create(forge, pr, body, marker, who), who, 0)
    target = mine[0]  # the oldest keeps its place in the conversation
    if target.body.strip() == body.strip():
        return CommentOutcome(ForgeWrite.UNCHANGED, target, who, extra)
    if dry_run:
        return CommentOutcome(ForgeWrite.WOULD_UPDATE, target, who, extra)
    return CommentOutcome(ForgeWrite.UPDATED, forge.update(pr, target, body), who, extra)


def _mine(forge: Forge, pr: int, marker: str, who: str) -> list[Comment]:
    return [c for c in forge.comments(pr) if marker in c.body and c.author == who]


def _create(forge: Forge, pr: int, body: str, marker: str, who: str) -> Comment:
    """POST the comment; when the answer leaves unknown whether it was created (a 5xx after GitHub created it, a
    broken connection), look for it before posting again, so a retry never leaves two sticky comments."""
    for _ in range(MAX_ATTEMPTS - 1):
        try:
            return forge.create(pr, body)
        except Unconfirmed:
            found = _mine(forge, pr, marker, who)
            if found:
                return found[0]
            sleep(2.0)
    return forge.create(pr, body)
