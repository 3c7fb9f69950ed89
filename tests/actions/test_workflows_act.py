"""The generated GitHub workflows, run end to end with act on a copy of example_repo.

act runs each job on this machine (self-hosted mode, no Docker). The pinned actions are replaced by the
stand-ins in testing/actions (see its README); a bare repository plays GitHub's copy of the repo, a folder plays
the DVC remote, and testing/fakegithub.py plays the REST API the commenter calls. mlgit is installed into each job
the way users install it: `pip install` of `ci.install`, here pointing at this checkout.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlgit.actions import pins
from mlgit.cli.main import main
from testing import fakegithub
from testing.oip import WHEEL_CACHE_ENV
from testing.repos import BIN, REPO_ROOT, commit_all, dvc, git, golden_csv, set_param

ACT = BIN / "act"
OWNER_REPO = "acme/cancer-classifier"
MODEL = "cancer-classifier"
_JOB_LINE = re.compile(r"^\[[^\]/]+/[^\]]+\] ")  # act's "[workflow/job] " prefix


@dataclass(frozen=True)
class ActRun:
    """What act printed and how it ended."""

    code: int
    log: str

    @property
    def summary(self) -> str:
        """The job summaries the steps wrote ($GITHUB_STEP_SUMMARY), as act echoes them after 'Summary - '."""
        out: list[str] = []
        inside = False
        for line in self.log.splitlines():
            if _JOB_LINE.match(line) or line.startswith(("time=", "Error: ")):
                inside = "Summary - " in line
                if inside:
                    out.append(line.split("Summary - ", 1)[1])
            elif inside:
                out.append(line)
        return "\n".join(out)

    def step(self, name: str) -> str:
        """'Success', 'Failure' or 'skipped' for the named step."""
        for line in self.log.splitlines():
            for outcome in ("Success", "Failure"):
                if f"{outcome} - Main {name}" in line:
                    return outcome
        return "skipped"


@dataclass
class Forge:
    """A developer's clone, the 'GitHub' bare repository it pushes to, and act's folders."""

    work: Path
    origin: Path
    tmp: Path

    @property
    def artifacts(self) -> Path:
        return self.tmp / "artifacts"

    def push(self, *refs: str) -> None:
        git("push", "-q", "origin", *refs, cwd=self.work)

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.work).strip()

    def act(self, event_name: str, event: dict[str, Any], workflow: str, env: dict[str, str] | None = None) -> ActRun:
        """Run one generated workflow for one event; the step environment gets `env` on top of the stand-ins'."""
        event_file = self.tmp / f"event-{event_name}.json"
        event_file.write_text(json.dumps({"repository": _repository(), **event}))
        step_env = {
            "MLGIT_ACT_ORIGIN": str(self.origin),
            "MLGIT_ACT_PYTHON": sys.executable,
            "MLGIT_ACT_SITE": os.pathsep.join(site.getsitepackages()),
            "MLGIT_ACT_ARTIFACTS": str(self.artifacts),
            # ci.install is this checkout: build it with the hatchling installed here, never reach an index.
            "PIP_NO_INDEX": "1",
            "PIP_NO_BUILD_ISOLATION": "0",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            **(env or {}),
        }
        args = [
            str(ACT),
            event_name,
            "--eventpath",
            str(event_file),
            "--workflows",
            f".github/workflows/{workflow}",
            "--platform",
            "ubuntu-latest=-self-hosted",
            "--platform",
            "self-hosted=-self-hosted",  # the deploy job of a local target asks for a self-hosted runner
            "--secret",
            "GITHUB_TOKEN=dummy",
            # Use the checkout stand-in (a clone of the bare 'GitHub' repo at GITHUB_SHA) instead of act's copy of
            # the work tree, so the job sees only what was pushed. The stand-ins keep artifacts themselves, so
            # act's own artifact server (--artifact-server-path) is not needed.
            "--no-skip-checkout",
            "--remote-name",
            "github",
            "--action-cache-path",
            str(self.tmp / "act"),
            "--no-cache-server",
        ]
        for repo, pin in pins.ACTIONS.items():
            args += ["--local-repository", f"{repo}@{pin.sha}={REPO_ROOT / 'testing' / 'actions' / repo.split('/')[1]}"]
        for key, value in step_env.items():
            args += ["--env", f"{key}={value}"]
        home = self.tmp / "home"
        home.mkdir(exist_ok=True)
        proc = subprocess.run(
            args,
            cwd=self.work,
            capture_output=True,
            text=True,
            env={**os.environ, "HOME": str(home)},  # no ~/.actrc of the person running the tests
            timeout=900,
            check=False,
        )
        return ActRun(proc.returncode, proc.stdout + proc.stderr)


def _repository() -> dict[str, Any]:
    owner, name = OWNER_REPO.split("/")
    return {"full_name": OWNER_REPO, "name": name, "owner": {"login": owner}, "default_branch": "main"}


def _pull_request(number: int, head: str, head_ref: str, base: str) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": head, "ref": head_ref, "repo": _repository()},
            "base": {"sha": base, "ref": "main", "repo": _repository()},
        },
    }


def _install_from_this_checkout(work: Path) -> None:
    cfg = work / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("\nci:\n", f"\nci:\n  install: {json.dumps(str(REPO_ROOT))}\n", 1))


def _publish(work: Path, tmp_path: Path) -> Forge:
    assert main(["-C", str(work), "ci", "generate"]) == 0
    commit_all(work, "CI by mlgit")
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=work)
    git("remote", "add", "github", f"https://github.com/{OWNER_REPO}.git", cwd=work)
    git("push", "-q", "origin", "main", cwd=work)
    return Forge(work, origin, tmp_path)


@pytest.fixture
def forge(joblib_repo: Path, tmp_path: Path) -> Forge:
    """example_repo (saving joblib) with a local DVC remote, schemas, ci.install at this checkout, its CI, pushed."""
    work = joblib_repo
    dvc("remote", "add", "-d", "storage", str(tmp_path / "dvc-remote"), cwd=work)
    _install_from_this_checkout(work)
    # This variant's model is a joblib pickle: mlgit loads it only when the user opts in (and it is unchanged).
    cfg = work / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace(f"  {MODEL}:\n", f"  {MODEL}:\n    trust_pickle: true\n", 1))
    assert main(["-C", str(work), "schema", "infer"]) == 0  # the data checks need committed schemas
    dvc("push", "-q", cwd=work)
    return _publish(work, tmp_path)


@pytest.fixture
def commenter(example_repo: Path, tmp_path: Path) -> Forge:
    """Just enough for the commenter workflow, which never sees the repository's files."""
    _install_from_this_checkout(example_repo)
    return _publish(example_repo, tmp_path)


@pytest.fixture
def skops_forge(example_repo: Path, tmp_path: Path) -> Forge:
    """The example as it ships (a skops model, no pickle trust) with a golden input, its CI, pushed to 'GitHub'."""
    import yaml

    work = example_repo
    dvc("remote", "add", "-d", "storage", str(tmp_path / "dvc-remote"), cwd=work)
    _install_from_this_checkout(work)
    golden_csv(work)
    cfg = work / "mlgit.yaml"
    data = yaml.safe_load(cfg.read_text())
    data["models"][MODEL]["golden"] = {"input": "golden/input.csv", "key": "model", "method": "predict_proba"}
    cfg.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["-C", str(work), "schema", "infer"]) == 0
    dvc("push", "-q", cwd=work)
    return _publish(work, tmp_path)


def test_a_new_release_is_packaged_checked_and_kept_with_the_run(
    skops_forge: Forge, packaged: Path, wheel_cache: Path
) -> None:
    # `packaged` filled the session's wheel cache with this environment's wheels: the job downloads nothing.
    forge = skops_forge
    head = forge.head()
    event = {"ref": "refs/heads/main", "after": head}
    run = forge.act("push", event, "mlgit-release.yml", {WHEEL_CACHE_ENV: str(wheel_cache)})
    assert run.code == 0, run.log
    assert f"PASSED: tagged {MODEL}@v0.1.0" in run.log
    assert run.step(f"Package {MODEL}'s new release and check the bundle") == "Success"
    assert "package.golden-match" in run.log
    assert run.step("Keep the bundles and their evaluations with the run") == "Success"
    kept = forge.artifacts / "1" / "mlgit-bundles" / "1"
    name = f"{MODEL}-v0.1.0.tar.gz"
    assert {p.name for p in kept.iterdir()} == {name, f"{name}.sha256", f"{MODEL}-v0.1.0.evaluation.json"}
    digest = hashlib.sha256((kept / name).read_bytes()).hexdigest()
    assert (kept / f"{name}.sha256").read_text() == f"{digest}  {name}\n"
    evaluation = json.loads((kept / f"{MODEL}-v0.1.0.evaluation.json").read_text())
    assert evaluation["passed"] is True
    assert evaluation["bundle"] == {"sha256": digest, "model": MODEL, "version": "v0.1.0"}
    # The digest was pushed as the git note on the release commit: every clone's `mlgit registry` shows it.
    note = json.loads(git("notes", "--ref=mlgit-bundles", "show", head, cwd=forge.origin))
    assert note[f"{MODEL}@v0.1.0"]["sha256"] == digest


def _branch_with_param(forge: Forge, branch: str, c: str) -> str:
    work = forge.work
    git("checkout", "-q", "-b", branch, cwd=work)
    set_param(work, "C", c)
    dvc("repro", "-q", cwd=work)
    head = commit_all(work, f"Train with C={c}")
    dvc("push", "-q", cwd=work)
    forge.push(branch)
    return head


def test_push_to_main_releases_then_a_stage_is_assigned_by_hand(forge: Forge) -> None:
    head = forge.head()
    run = forge.act("push", {"ref": "refs/heads/main", "after": head}, "mlgit-release.yml")
    assert run.code == 0, run.log
    assert run.step(f"Promote {MODEL}") == "Success"
    assert f"PASSED: tagged {MODEL}@v0.1.0" in run.log
    # The tag is on 'GitHub' (the bare origin), annotated, on the pushed commit, with the lineage.
    tag = f"refs/tags/{MODEL}@v0.1.0"
    assert git("cat-file", "-t", tag, cwd=forge.origin).strip() == "tag"
    assert git("rev-parse", f"{tag}^{{commit}}", cwd=forge.origin).strip() == head
    message = git("tag", "-l", "--format=%(contents)", f"{MODEL}@v0.1.0", cwd=forge.origin)
    assert json.loads(message.split("\n", 2)[2])["commit"] == head
    assert "github-actions[bot]" in git("tag", "-l", "--format=%(taggername)", f"{MODEL}@v0.1.0", cwd=forge.origin)
    # The developer's clone was never touched: the job worked on its own checkout.
    assert git("tag", "--list", cwd=forge.work).strip() == ""

    # Then, by hand from the Actions tab: assign the latest release to prod.
    dispatch = {"inputs": {"model": MODEL, "stage": "prod", "version": ""}}
    run = forge.act("workflow_dispatch", dispatch, "mlgit-assign.yml")
    assert run.code == 0, run.log
    stage_tags = git("tag", "--list", f"{MODEL}#prod#*", cwd=forge.origin).split()
    assert len(stage_tags) == 1
    assert git("rev-parse", f"{stage_tags[0]}^{{commit}}", cwd=forge.origin).strip() == head


def test_pull_request_checks_pass_report_and_sticky_comment(forge: Forge) -> None:
    base = forge.head()
    git("checkout", "-q", "-b", "docs", cwd=forge.work)
    readme = forge.work / "README.md"
    readme.write_text(readme.read_text() + "\nHow to retrain: `dvc repro`.\n")
    head = commit_all(forge.work, "Document retraining")
    forge.push("docs")
    run = forge.act("pull_request", _pull_request(7, head, "docs", base), "mlgit-checks.yml")
    assert run.code == 0, run.log
    for step in (
        "Pull data and models from the DVC remote",
        "Generated CI files are up to date",
        "Checks (mlgit check)",
    ):
        assert run.step(step) == "Success", step
    assert "generated CI (github) is up to date" in run.log
    assert re.search(r"cache miss for key dvc-Linux-[0-9a-f]{64} \(path \.dvc/cache\)", run.log)  # keyed on dvc.lock
    assert "## ✅ mlgit report: PASS" in run.summary and f"### ✅ {MODEL}" in run.summary
    uploaded = forge.artifacts / "1" / "mlgit-report"
    assert (uploaded / "pr-number").read_text() == "7\n"
    assert (uploaded / "head-sha").read_text() == f"{head}\n"
    report = (uploaded / "report.md").read_text()
    assert MODEL in report

    # The fork-safe commenter: a workflow_run event of that run, no checkout, posts to the (fake) API.
    with fakegithub.serve(OWNER_REPO) as api:
        api.pulls[7] = head
        env = {"GITHUB_API_URL": api.url}
        first = forge.act("workflow_run", _workflow_run(1, head), "mlgit-comment.yml", env)
        assert first.code == 0, first.log
        assert "created the report comment on pull request #7" in first.log
        again = forge.act("workflow_run", _workflow_run(1, head), "mlgit-comment.yml", env)
        assert again.code == 0, again.log
    # The whole report, under the conclusion GitHub recorded for the run (the workflow_run event's own data).
    marker, _, rest = report.strip().partition("\n")
    body = api.comments[7][0]["body"]
    assert len(api.comments[7]) == 1 and rest in body
    assert body.startswith(f"{marker}\n> Checks run: **success** (recorded by the forge")
    assert api.writes() == [("POST", f"/repos/{OWNER_REPO}/issues/7/comments")]  # sticky: no duplicate


def _workflow_run(run_id: int, head: str, conclusion: str = "success") -> dict[str, Any]:
    return {
        "action": "completed",
        "workflow_run": {
            "id": run_id,
            "name": "mlgit checks",
            "event": "pull_request",
            "conclusion": conclusion,
            "head_sha": head,
            "head_branch": "feature",
            "head_repository": {"full_name": "someone/fork"},
            "pull_requests": [],  # always empty for a fork: the number travels in the artifact
        },
    }


def _prepared_report(forge: Forge, run_id: int, pr: int, head: str, text: str) -> None:
    folder = forge.artifacts / str(run_id) / "mlgit-report"
    folder.mkdir(parents=True)
    (folder / "report.md").write_text(f"<!-- mlgit:report -->\n{text}\n")
    (folder / "pr-number").write_text(f"{pr}\n")
    (folder / "head-sha").write_text(f"{head}\n")


def test_commenter_posts_then_updates_one_sticky_comment_without_checking_out(commenter: Forge) -> None:
    head = "1" * 40
    with fakegithub.serve(OWNER_REPO) as api:
        api.pulls[12] = head
        env = {"GITHUB_API_URL": api.url}
        _prepared_report(commenter, 41, 12, head, "## mlgit report: PASS")
        first = commenter.act("workflow_run", _workflow_run(41, head, "failure"), "mlgit-comment.yml", env)
        assert first.code == 0, first.log
        _prepared_report(commenter, 42, 12, head, "## mlgit report: FAIL")
        second = commenter.act("workflow_run", _workflow_run(42, head), "mlgit-comment.yml", env)
        assert second.code == 0, second.log
    assert "updated the report comment on pull request #12" in second.log
    # Run 42 succeeded but its report claims FAIL: the comment says what GitHub recorded, marks the claim, and
    # shows the disagreeing report as plain text (issue 12: it cannot render as the bot's own verdict).
    assert [c["body"] for c in api.comments[12]] == [
        "<!-- mlgit:report -->\n> ⚠️ Checks run: **success**, but the report below claims FAIL. The report was "
        "written by the pull request's own code: trust the checks run, not the report.\n\n"
        "```text\n## mlgit report: FAIL\n```\n"
    ]
    assert [m for m, _ in api.writes()] == ["POST", "PATCH"]
    assert all(auth == "Bearer dummy" for _, _, auth in api.requests)
    # It never checked out the pull request's code: no checkout step, and the workspace stayed empty.
    assert "actions/checkout" not in first.log


def test_commenter_skips_runs_that_were_not_pull_requests(commenter: Forge) -> None:
    event = _workflow_run(43, "2" * 40)
    event["workflow_run"]["event"] = "push"
    with fakegithub.serve(OWNER_REPO) as api:
        run = commenter.act("workflow_run", event, "mlgit-comment.yml", {"GITHUB_API_URL": api.url})
    assert run.code == 0, run.log
    assert "Create or update the sticky comment" not in run.log
    assert api.requests == []


def test_commenter_refuses_a_pr_number_that_does_not_match_the_run(commenter: Forge) -> None:
    # A fork controls its own artifact: a forged number must not let it comment on someone else's PR.
    with fakegithub.serve(OWNER_REPO) as api:
        api.pulls[9] = "3" * 40  # PR 9's real head
        _prepared_report(commenter, 44, 9, "4" * 40, "forged")
        run = commenter.act(
            "workflow_run", _workflow_run(44, "4" * 40), "mlgit-comment.yml", {"GITHUB_API_URL": api.url}
        )
    assert run.code != 0
    assert "#9's head is 333333333333, but the report was made for 444444444444 (MLGIT_HEAD_SHA)" in run.log
    assert api.writes() == []


def test_degrading_change_turns_the_checks_red(forge: Forge) -> None:
    # With a release on main, the gate compares against it (as promotion will).
    assert main(["-C", str(forge.work), "promote", "--push"]) == 0
    base = forge.head()
    head = _branch_with_param(forge, "worse-model", "0.0003")
    run = forge.act("pull_request", _pull_request(8, head, "worse-model", base), "mlgit-checks.yml")
    assert run.code != 0
    assert run.step("Checks (mlgit check)") == "Failure"
    # The report is still written to the summary and uploaded, so the PR comment shows why.
    assert run.step("Report to the job summary") == "Success"
    summary = run.summary
    assert "## ❌ mlgit report: FAIL" in summary
    assert f"{MODEL}: would be rejected" in summary and f"Gate baseline: {MODEL}@v0.1.0" in summary
    assert "| ❌ | `accuracy` | regression |" in summary
    assert (forge.artifacts / "1" / "mlgit-report" / "report.md").is_file()


def test_improving_retrain_is_green_though_its_pickle_is_not_loaded(forge: Forge) -> None:
    # The PR's retrained joblib model comes from the change under review: mlgit will not unpickle it in CI,
    # says so as a warning, and the gate (which reads metrics, not the model) decides the check.
    assert main(["-C", str(forge.work), "promote", "--push"]) == 0
    base = forge.head()
    head = _branch_with_param(forge, "better-model", "1.0")
    run = forge.act("pull_request", _pull_request(9, head, "better-model", base), "mlgit-checks.yml")
    assert run.code == 0, run.log
    assert run.step("Checks (mlgit check)") == "Success"
    assert "model.untrusted-pickle" in run.log and "artifact checks skipped" in run.log
    assert "## ⚠️ mlgit report: PASS WITH WARNINGS" in run.summary
    assert f"{MODEL} would be released as v0.2.0" in run.summary
    assert (forge.artifacts / "1" / "mlgit-report" / "report.html").is_file()


@pytest.fixture
def deploy_forge(_released_template: Path, tmp_path: Path, packaged: Path) -> Forge:
    """The released example (golden input, pickle trust) with a local deploy target for prod, on 'GitHub'.

    `packaged` fills the session's wheel cache: the job packages offline (PIP_NO_INDEX), as every act test runs.
    """
    import shutil

    import yaml

    work = tmp_path / "work"
    shutil.copytree(_released_template, work, symlinks=True)
    for tag in git("tag", "--list", cwd=work).split():
        git("tag", "-d", tag, cwd=work)  # the release is made again below, after CI is committed
    dvc("remote", "add", "-d", "storage", str(tmp_path / "dvc-remote"), cwd=work)
    dvc("push", "-q", cwd=work)
    _install_from_this_checkout(work)
    cfg = yaml.safe_load((work / "mlgit.yaml").read_text())
    cfg["deploy"] = {"prod": {"target": "local", "port": _free_port()}}
    (work / "mlgit.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return _publish(work, tmp_path)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_pushed_stage_tag_deploys_to_the_local_target(deploy_forge: Forge, wheel_cache: Path) -> None:
    import yaml

    from mlgit.deploy import front, state
    from testing.oip import WHEEL_CACHE_ENV, Served

    work = deploy_forge.work
    port = yaml.safe_load((work / "mlgit.yaml").read_text())["deploy"]["prod"]["port"]
    assert main(["-C", str(work), "promote"]) == 0
    assert main(["-C", str(work), "assign", MODEL, "prod"]) == 0
    tag = git("tag", "--list", f"{MODEL}#prod#*", cwd=work).split()[0]
    git("push", "-q", "origin", "--tags", cwd=work)
    env = {WHEEL_CACHE_ENV: str(wheel_cache), state.VENVS_ENV: str(deploy_forge.tmp / "venvs")}
    event = {"ref": f"refs/tags/{tag}", "after": deploy_forge.head()}
    try:
        run = deploy_forge.act("push", event, "mlgit-deploy.yml", env)
        assert run.code == 0, run.log
        assert run.step("Package and evaluate the release the stage holds") == "Success"
        assert run.step("Deploy (converge the stage's target to its tags)") == "Success"
        assert f"{MODEL} v0.1.0 -> prod (local): deployed" in run.log
        conn = Served.__new__(Served)
        conn.host, conn.port = "127.0.0.1", port
        from testing.oip import call

        status, meta = call(conn.connect(), "GET", f"/v2/models/{MODEL}")
        assert status == 200 and meta["versions"] == ["v0.1.0"]
    finally:
        _stop_fronts_under(deploy_forge.tmp, front.__file__)


def _stop_fronts_under(tmp: Path, script: str) -> None:
    """SIGTERM the fronts the job left serving (act deletes its workspace, and with it their state folder)."""
    import signal
    import time

    mine = []
    for proc in Path("/proc").iterdir():
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"mlgit/deploy/front.py") for a in args) and any(str(tmp).encode() in a for a in args):
            mine.append(int(proc.name))
    for pid in mine:
        os.kill(pid, signal.SIGTERM)  # the front stops its backends, then exits
    for pid in mine:
        while True:  # cleanup only: waits for the exit, measures nothing
            try:
                if b"zombie" in Path(f"/proc/{pid}/status").read_bytes().lower():
                    break
            except OSError:
                break
            time.sleep(0.05)
