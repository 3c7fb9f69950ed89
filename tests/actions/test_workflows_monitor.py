"""The scheduled monitor and retrain workflows: generated only when a model says where its logs are, least
privilege, every action SHA-pinned, windows kept off the default branch, and clean under actionlint and zizmor."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mlgit.actions import pins
from mlgit.cli.main import main
from testing.repos import BIN, REPO_ROOT, dvc

GH = ".github/workflows"
FILES = ("mlgit-monitor.yml", "mlgit-retrain.yml")


@pytest.fixture
def monitored_ci(example_repo: Path) -> Path:
    dvc("remote", "add", "-d", "storage", "s3://bucket/cancer", cwd=example_repo)
    path = example_repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["ci"]["remote_secrets"] = {"AWS_ACCESS_KEY_ID": "DVC_KEY_ID", "AWS_SECRET_ACCESS_KEY": "DVC_SECRET"}
    data["models"]["cancer-classifier"]["monitor"] = {
        "logs": ["s3://bucket/serving/logs/", "logs/extra.jsonl"],
        "schedule": "5 * * * *",
        "retrain_schedule": "0 4 * * 1",
        "runner": "ubuntu-latest-8-cores",
        "timeout_minutes": 240,
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["-C", str(example_repo), "ci", "generate"]) == 0
    return example_repo


def _load(repo: Path, name: str) -> dict[object, object]:
    doc = yaml.safe_load((repo / GH / name).read_text())
    assert isinstance(doc, dict)
    return doc


def test_no_monitor_workflows_without_monitor_logs(example_repo: Path) -> None:
    assert not any((example_repo / GH / name).exists() for name in FILES)
    assert main(["-C", str(example_repo), "ci", "check", "--forge", "github"]) == 0


def test_schedules_runner_timeout_and_least_privilege(monitored_ci: Path) -> None:
    mon, ret = (_load(monitored_ci, n) for n in FILES)
    # PyYAML reads the `on:` key as True.
    assert mon[True]["schedule"] == [{"cron": "5 * * * *"}] and "workflow_dispatch" in mon[True]
    assert ret[True]["schedule"] == [{"cron": "0 4 * * 1"}]
    assert ret[True]["workflow_dispatch"]["inputs"]["trigger"]["options"] == ["manual", "new-data", "drift", "schedule"]
    for doc, perms in (
        (mon, {"contents": "write", "issues": "write", "actions": "write"}),
        (ret, {"contents": "write", "pull-requests": "write"}),
    ):
        assert doc["permissions"] == {}
        [job] = doc["jobs"].values()
        assert job["permissions"] == perms
        assert job["runs-on"] == "ubuntu-latest-8-cores" and job["timeout-minutes"] == 240
        for step in job["steps"]:
            if "uses" in step:
                repo, _, sha = step["uses"].partition("@")
                assert sha == pins.ACTIONS[repo].sha
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False
            assert "${{" not in step.get("run", "")  # values reach scripts through env only


def test_windows_go_to_their_own_branch_and_retrains_to_theirs(monitored_ci: Path) -> None:
    mon = (monitored_ci / GH / FILES[0]).read_text()
    ret = (monitored_ci / GH / FILES[1]).read_text()
    pushes = [line.strip() for line in (mon + ret).splitlines() if line.strip().startswith("git") and " push " in line]
    assert pushes == ["git -C .mlgit-monitoring push -q origin HEAD:refs/heads/mlgit/monitoring"]
    assert 'mlgit monitor "cancer-classifier" --logs "s3://bucket/serving/logs/" "logs/extra.jsonl"' in mon
    assert "--store .mlgit-monitoring/monitoring --alert --retrain" in mon
    assert 'mlgit retrain "cancer-classifier" --trigger "$TRIGGER" --pr' in ret
    assert "secrets.MLGIT_RETRAIN_TOKEN || github.token" in ret  # checks run only on PRs made with a real token
    assert "secrets.DVC_KEY_ID" in ret and "dvc pull" in ret


def test_retrain_runs_only_on_the_default_branch(monitored_ci: Path) -> None:
    # `dvc repro` runs the pipeline's code with a write token and the remote's secrets: a dispatch on a branch
    # nobody merged must not run it. A schedule runs on the default branch and its event names no repository.
    ret = _load(monitored_ci, FILES[1])
    [job] = ret["jobs"].values()
    assert job["if"] == (
        "github.event_name == 'schedule' || "
        "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    )
    assert set(ret[True]) == {"schedule", "workflow_dispatch"}  # no push or pull_request trigger to gate too
    mon = _load(monitored_ci, FILES[0])
    assert "pull_request" not in mon[True] and "push" not in mon[True]


def test_readme_token_table_lists_every_permission_each_job_asks_for(monitored_ci: Path) -> None:
    # The README's table is how a user sets up tokens: each single-job workflow's row names every permission.
    rows = [line for line in (REPO_ROOT / "README.md").read_text().splitlines() if line.startswith("| ")]
    checked = []
    for path in sorted((monitored_ci / GH).glob("mlgit-*.yml")):
        jobs = _load(monitored_ci, path.name)["jobs"]
        if len(jobs) != 1:
            continue  # deploy: one row per job, named by the job
        [job] = jobs.values()
        [row] = [r for r in rows if f"(`{path.name}`)" in r]
        for key, level in job["permissions"].items():
            assert f"`{key}: {level}`" in row, (path.name, key, row)
        if "MLGIT_RETRAIN_TOKEN" in path.read_text():
            assert "`MLGIT_RETRAIN_TOKEN`" in row
        checked.append(path.name)
    assert {"mlgit-checks.yml", "mlgit-release.yml", "mlgit-monitor.yml", "mlgit-retrain.yml"} <= set(checked)


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_linters_report_nothing(monitored_ci: Path, persona: str) -> None:
    files = [monitored_ci / GH / n for n in FILES]
    r = _run(BIN / "actionlint", *files, cwd=monitored_ci)
    assert r.returncode == 0, r.stdout + r.stderr
    z = _run(
        BIN / "zizmor", "--offline", "--no-config", "--format", "json", "--persona", persona, *files, cwd=monitored_ci
    )
    assert z.returncode == 0 and json.loads(z.stdout) == [], z.stdout + z.stderr
    s = _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files, cwd=monitored_ci)
    assert s.returncode == 0, s.stdout + s.stderr


def test_the_linters_would_catch_an_unpinned_action(monitored_ci: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    shutil.copyfile(monitored_ci / GH / FILES[0], bad)
    text = bad.read_text()
    sha = pins.ACTIONS["actions/checkout"].sha
    bad.write_text(text.replace(f"actions/checkout@{sha}", "actions/checkout@main"))
    z = _run(BIN / "zizmor", "--offline", "--no-config", "--format", "json", bad, cwd=tmp_path)
    assert z.returncode != 0 and any(f["ident"] == "unpinned-uses" for f in json.loads(z.stdout))


def test_a_log_path_that_could_inject_is_refused(example_repo: Path) -> None:
    path = example_repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"]["cancer-classifier"]["monitor"] = {"logs": ["logs/$(curl evil)"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["-C", str(example_repo), "ci", "generate"]) == 2
