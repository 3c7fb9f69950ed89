"""`mlgit comment`: create or update the one sticky report comment on a pull request or merge request.

GitHub: GITHUB_TOKEN, GITHUB_API_URL (default https://api.github.com), GITHUB_REPOSITORY (owner/name);
the PR number from --pr or the event in GITHUB_EVENT_PATH. GitLab: GITLAB_TOKEN, CI_API_V4_URL,
CI_PROJECT_ID; the MR number from --pr or CI_MERGE_REQUEST_IID. The comment is found again by a hidden
marker AND its author: the token's own user (GET /user), or on GitHub, where GITHUB_TOKEN may not ask,
github-actions[bot]; MLGIT_COMMENT_AUTHOR overrides both (e.g. a GitHub App's `name[bot]`).
With MLGIT_HEAD_SHA set (the fork-safe workflow_run commenter sets it from the triggering run), the PR/MR's
head commit must be that one, so a PR number read from an artifact cannot point the comment elsewhere.
With MLGIT_RUN_CONCLUSION set (the same commenter sets it from the event's `workflow_run.conclusion`), the
comment opens with that conclusion, and a report claiming another verdict is marked as untrustworthy.
"""

from __future__ import annotations

import json as jsonlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from mlgit.actions import forge as forges
from mlgit.actions.forge import ForgeWrite
from mlgit.errors import MlgitError


def _detect(env: Mapping[str, str]) -> str:
    if env.get("GITHUB_ACTIONS") == "true":
        return "github"
    if env.get("GITLAB_CI") == "true":
        return "gitlab"
    raise MlgitError(
        "cannot tell the forge from the environment (neither GITHUB_ACTIONS nor GITLAB_CI is set)",
        hint="pass --forge github or --forge gitlab",
    )


def _need(env: Mapping[str, str], name: str, what: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise MlgitError(f"{name} is not set; it must hold {what}")
    return value


def _github_pr(env: Mapping[str, str]) -> int | None:
    path = env.get("GITHUB_EVENT_PATH")
    if not path:
        return None
    try:
        event = jsonlib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(event, dict):
        return None
    for key in ("pull_request", "issue"):
        number = (event.get(key) or {}).get("number") if isinstance(event.get(key), dict) else None
        if isinstance(number, int):
            return number
    prs = (
        (event.get("workflow_run") or {}).get("pull_requests") if isinstance(event.get("workflow_run"), dict) else None
    )
    if isinstance(prs, list) and prs and isinstance(prs[0], dict) and isinstance(prs[0].get("number"), int):
        return int(prs[0]["number"])
    return None


def client(kind: str, env: Mapping[str, str]) -> forges.Forge:
    """The forge client configured from the CI environment."""
    if kind == "github":
        repo = _need(env, "GITHUB_REPOSITORY", "the repository as owner/name")
        if "/" not in repo:
            raise MlgitError(f"GITHUB_REPOSITORY={repo!r} is not owner/name")
        token = _need(env, "GITHUB_TOKEN", "a token that may write pull-request comments")
        return forges.GitHub(env.get("GITHUB_API_URL") or "https://api.github.com", repo, token)
    token = _need(env, "GITLAB_TOKEN", "a project access token with the api scope (CI_JOB_TOKEN cannot post notes)")
    api = _need(env, "CI_API_V4_URL", "the GitLab API root, e.g. https://gitlab.com/api/v4")
    return forges.GitLab(api, _need(env, "CI_PROJECT_ID", "the project id"), token)


def _number(kind: str, pr: int | None, env: Mapping[str, str]) -> int:
    if pr is not None:
        if pr <= 0:
            raise MlgitError(f"--pr {pr}: a pull/merge request number is positive")
        return pr
    if kind == "github":
        found = _github_pr(env)
        if found is None:
            raise MlgitError(
                "no pull request number: this event does not carry one (a workflow_run from a fork never does)",
                hint="pass --pr N (the fork-safe workflow reads it from the report artifact)",
            )
        return found
    iid = env.get("CI_MERGE_REQUEST_IID", "").strip()
    if not iid.isdigit():
        raise MlgitError("no merge request number: CI_MERGE_REQUEST_IID is not set", hint="pass --pr N")
    return int(iid)


def run(cwd: Path, forge: str | None, pr: int | None, file: str, dry_run: bool = False) -> int:
    """Post the report as the PR/MR's one sticky comment, updating it when it exists."""
    from mlgit.render.markdown import MARKER, stamp_conclusion

    env = dict(os.environ)
    kind = forge or _detect(env)
    path = Path(file) if Path(file).is_absolute() else cwd / file
    try:
        body = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MlgitError(
            f"{file}: no such file", hint="write it first: mlgit report --format md --output report.md"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise MlgitError(f"cannot read {file}: {exc}") from None
    if not body.strip():
        raise MlgitError(f"{file} is empty; there is nothing to post")
    if MARKER not in body:
        body = f"{MARKER}\n{body}"
    conclusion = env.get("MLGIT_RUN_CONCLUSION", "").strip()
    if conclusion:
        if not conclusion.replace("_", "").isalpha():
            raise MlgitError(f"MLGIT_RUN_CONCLUSION={conclusion!r} is not a workflow run conclusion")
        body = stamp_conclusion(body, conclusion)
    number = _number(kind, pr, env)
    author = env.get("MLGIT_COMMENT_AUTHOR", "").strip() or None
    expected = env.get("MLGIT_HEAD_SHA", "").strip() or None
    out = forges.sticky(client(kind, env), number, body, MARKER, author, expected_head=expected, dry_run=dry_run)
    noun = "pull request" if kind == "github" else "merge request"
    where = (
        f" {out.comment.url}" if out.comment and out.comment.url else f" (id {out.comment.id})" if out.comment else ""
    )
    said = {
        ForgeWrite.CREATED: f"created the report comment on {noun} #{number}:{where}",
        ForgeWrite.UPDATED: f"updated the report comment on {noun} #{number}:{where}",
        ForgeWrite.UNCHANGED: f"the report comment on {noun} #{number} is already up to date:{where}",
        ForgeWrite.WOULD_CREATE: f"dry run: would create the report comment on {noun} #{number}",
        ForgeWrite.WOULD_UPDATE: f"dry run: would update the report comment on {noun} #{number}:{where}",
    }[out.action]
    sys.stdout.write(said + "\n")
    if out.duplicates:
        sys.stderr.write(f"note: {out.duplicates} older report comment(s) by {out.author} were left as they are\n")
    return 0
