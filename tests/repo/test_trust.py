"""Trust and gate settings come from the default branch as the remote has it, never from the change (issue 12)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgit.config import settings as config
from mlgit.repo import trust
from mlgit.repo.state import RepoState
from testing.oip import WHEEL_CACHE_ENV
from testing.repos import commit_all, commit_policy, dvc, git, golden_csv, set_param

MODEL = "cancer-classifier"
# Every command that loads a model, in every output format.
LOADING = [
    ("check", "--json"),
    ("check",),
    ("check", "model", "--json"),
    ("check", "model"),
    ("report", "--format", "json"),
    ("report", "--format", "md"),
    ("report", "--format", "html"),
    ("report", "--format", "text"),
]


class Payload:
    """Unpickling this creates a directory: proof that a file was (or was not) unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.mkdir, (str(self.marker),))


def edit_config(repo: Path, model: dict[str, Any] | None = None, **top: dict[str, Any]) -> None:
    """Merge keys into the only model's mapping and into top-level mappings of mlgit.yaml."""
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    data["models"][MODEL].update(model or {})
    for key, values in top.items():
        data[key].update(values)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def publish(repo: Path, tmp_path: Path) -> Path:
    """Push main to a bare `origin` and point origin/HEAD at it, as in a reviewer's clone."""
    origin = tmp_path / "origin.git"
    git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    git("remote", "add", "origin", str(origin), cwd=repo)
    git("push", "-q", "origin", "main", cwd=repo)
    git("remote", "set-head", "origin", "main", cwd=repo)
    return origin


@pytest.fixture
def trusting(joblib_repo: Path, tmp_path: Path) -> Path:
    """The example with `trust_pickle: true` reviewed and merged on main, pushed to origin."""
    edit_config(joblib_repo, {"trust_pickle": True})
    commit_all(joblib_repo, "trust the joblib model built by the pipeline")
    publish(joblib_repo, tmp_path)
    return joblib_repo


def attack(repo: Path, marker: Path) -> None:
    """A pull request with a malicious model that tries to vouch for itself in its own mlgit.yaml."""
    import joblib

    git("checkout", "-q", "-b", "pr", cwd=repo)
    joblib.dump(Payload(marker), repo / "models/model.joblib")
    dvc("commit", "-f", "-q", "train", cwd=repo)
    edit_config(repo, {"trust_pickle": True, "policy": {"base": "HEAD", "gates": {}}}, ci={"default_branch": "pr"})
    commit_all(repo, "a better model, promise")


def refused_by_every_loader(mlgit: Any, repo: Path, marker: Path) -> None:
    """Every command that loads the model, in every format, runs without unpickling it and says it refused."""
    for args in LOADING:
        res = mlgit(repo, *args)
        assert res.code in (0, 1), (args, res.err)
        assert not marker.exists(), args
        if args[0] == "check" or args[-1] in {"md", "text"}:
            assert "model.untrusted-pickle" in res.out, args


def worse_model_looser_gate(repo: Path, mlgit: Any) -> None:
    """After a release on main, a branch commits a worse model and a gate that would let it pass."""
    assert mlgit(repo, "promote").code == 0
    git("checkout", "-q", "-b", "worse", cwd=repo)
    set_param(repo, "C", "0.0003")
    dvc("repro", "-q", cwd=repo)
    path = repo / "mlgit.yaml"
    data = yaml.safe_load(path.read_text())
    gates = data["models"][MODEL]["policy"]["gates"]
    for gate in gates.values():
        gate["max_regression_rel"] = 1.0
    del gates["accuracy"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    commit_all(repo, "worse model, looser gate")


def findings(mlgit: Any, repo: Path, *args: str) -> dict[str, dict[str, Any]]:
    """Findings by code; for `model.untrusted-settings`, the one about the model (the `ci` one is apart)."""
    res = mlgit(repo, *args)
    assert res.code in (0, 1), res.err
    found = json.loads(res.out)["findings"]
    by_code = {f["code"]: f for f in found}
    notes = [f for f in found if f["code"] == "model.untrusted-settings" and f["subject"] in (MODEL, "mlgit.yaml")]
    if notes:
        by_code["model.untrusted-settings"] = notes[0]
    elif "model.untrusted-settings" in by_code:
        del by_code["model.untrusted-settings"]
    return by_code


def test_a_pull_request_cannot_vouch_for_its_own_pickle(trusting: Path, mlgit: Any, tmp_path: Path) -> None:
    marker = tmp_path / "unpickled"
    attack(trusting, marker)
    refused_by_every_loader(mlgit, trusting, marker)
    found = findings(mlgit, trusting, "check", "model", "--json")
    refused = found["model.untrusted-pickle"]
    assert "differs from the one on the default branch (origin/main)" in refused["message"]
    assert "comes from the change under review" in refused["message"]
    assert refused["data"]["trusted_from"] == "origin/main"
    ignored = found["model.untrusted-settings"]
    assert ignored["severity"] == "warning" and ignored["file"] == "mlgit.yaml"
    assert "cancer-classifier: policy.base" in ignored["data"]["ignored"]
    assert "cancer-classifier: policy.gates.accuracy (removed)" in ignored["data"]["ignored"]
    # The gate compares with the last release, as main says, not with the change itself; with none yet, a pull
    # request is judged against its merge-base with the default branch (issue 11).
    base = found["model.baseline"]
    assert base["message"].startswith("baseline: main (merge-base ") and "; no release yet)" in base["message"]
    head = git("rev-parse", "HEAD", cwd=trusting).strip()
    assert base["data"]["kind"] == "branch" and base["data"]["commit"] not in (None, head)
    report = json.loads(mlgit(trusting, "report", "--format", "json").out)
    codes = {f["code"] for f in report["findings"]}
    assert "model.untrusted-pickle" in codes and "model.untrusted-settings" in codes
    ci_note = [f for f in report["findings"] if f["code"] == "model.untrusted-settings" and f["subject"] == "ci"]
    assert [f["data"]["ignored"] for f in ci_note] == [["ci: default_branch"]]


def test_the_payload_runs_when_the_job_built_the_model_itself(
    trusting: Path, mlgit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The positive control: the same file IS unpickled once something outside the change vouches for it.
    marker = tmp_path / "unpickled"
    attack(trusting, marker)
    monkeypatch.setenv("MLGIT_TRUSTED_ARTIFACT", "1")
    found = findings(mlgit, trusting, "check", "model", "--json")
    assert marker.is_dir()
    assert "model.untrusted-pickle" not in found


def test_trust_pickle_set_only_by_the_change_is_not_applied(joblib_repo: Path, mlgit: Any, tmp_path: Path) -> None:
    publish(joblib_repo, tmp_path)
    marker = tmp_path / "unpickled"
    attack(joblib_repo, marker)
    found = findings(mlgit, joblib_repo, "check", "model", "--json")
    assert not marker.exists()
    msg = found["model.untrusted-pickle"]["message"]
    assert "trust_pickle is not set in mlgit.yaml on the default branch (origin/main)" in msg
    assert "this change sets it, but a change cannot trust its own files" in msg
    assert "cancer-classifier: trust_pickle" in found["model.untrusted-settings"]["data"]["ignored"]


def test_an_unchanged_model_on_a_branch_still_loads(trusting: Path, mlgit: Any) -> None:
    git("checkout", "-q", "-b", "docs", cwd=trusting)
    (trusting / "NOTES.md").write_text("nothing about the model\n")
    commit_all(trusting, "notes")
    found = findings(mlgit, trusting, "check", "model", "--json")
    assert "trusted: its DVC hash equals the one recorded at origin/main" in found["model.loads"]["message"]
    assert "model.untrusted-settings" not in found


def test_a_model_equal_to_the_last_release_loads(trusting: Path, mlgit: Any) -> None:
    assert mlgit(trusting, "promote").code == 0
    released = (trusting / "dvc.lock").read_text()
    set_param(trusting, "C", "1.0")
    dvc("repro", "-q", cwd=trusting)
    commit_all(trusting, "retrain on main")
    git("push", "-q", "origin", "main", cwd=trusting)
    # A branch off the new main that goes back to the released model: neither main's tip nor its fork point
    # holds those bytes, the release tag does.
    git("checkout", "-q", "-b", "back", cwd=trusting)
    git("checkout", "cancer-classifier@v0.1.0", "--", "dvc.lock", "params.yaml", "metrics.json", cwd=trusting)
    dvc("checkout", "-q", "--force", cwd=trusting)
    assert (trusting / "dvc.lock").read_text() == released
    commit_all(trusting, "back to the released model")
    found = findings(mlgit, trusting, "check", "model", "--json")
    assert (
        "trusted: its DVC hash equals the one recorded at cancer-classifier@v0.1.0" in found["model.loads"]["message"]
    )


def test_nothing_is_trusted_without_the_default_branch(trusting: Path, mlgit: Any) -> None:
    git("update-ref", "-d", "refs/remotes/origin/HEAD", cwd=trusting)
    git("update-ref", "-d", "refs/remotes/origin/main", cwd=trusting)
    found = findings(mlgit, trusting, "check", "model", "--json")
    msg = found["model.untrusted-pickle"]["message"]
    assert "no trusted mlgit.yaml allows it: this clone has no default branch to read them from" in msg
    assert "git fetch origin" in msg and "git remote set-head origin --auto" in msg
    note = found["model.untrusted-settings"]
    assert note["subject"] == "mlgit.yaml" and note["data"]["trusted_from"] is None
    assert "the promotion gate uses this change's own policy" in note["message"]
    # The fix the message names works.
    git("fetch", "-q", "origin", cwd=trusting)
    git("remote", "set-head", "origin", "--auto", cwd=trusting)
    found = findings(mlgit, trusting, "check", "model", "--json")
    assert "trusted: its DVC hash equals the one recorded at origin/main" in found["model.loads"]["message"]


def test_a_change_that_loosens_its_own_gate_is_judged_by_the_base_policy(
    trusting: Path, mlgit: Any, tmp_path: Path
) -> None:
    worse_model_looser_gate(trusting, mlgit)
    # Under its own policy the change would pass: the work tree's config says so.
    own = config.load(trusting).model(MODEL).policy
    assert all(g.max_regression_rel == 1.0 for g in own.gates)

    res = mlgit(trusting, "check", "model", "--json")
    assert res.code == 1
    found = json.loads(res.out)["findings"]
    regressed = {f["data"]["metric"] for f in found if f["code"] == "model.metric-regressed"}
    assert "accuracy" in regressed
    (note,) = [f for f in found if f["code"] == "model.untrusted-settings"]
    assert "cancer-classifier: policy.gates.accuracy (removed)" in note["data"]["ignored"]
    assert "cancer-classifier: policy.gates.f1.max_regression_rel" in note["data"]["ignored"]
    assert "the default branch's settings apply" in note["message"]

    assert mlgit(trusting, "check").code == 1
    report = json.loads(mlgit(trusting, "report", "--format", "json").out)
    assert report["verdict"] == "fail"
    (model,) = report["models"]
    assert model["gate"]["status"] == "rejected"
    assert "accuracy" in {r["metric"] for r in model["gate"]["rules"] if not r["passed"]}
    res = mlgit(trusting, "report", "--format", "md")
    assert "model.untrusted-settings" in res.out or "default branch's settings apply" in res.out


def test_settings_reads_the_remote_default_branch_not_the_work_tree(trusting: Path) -> None:
    git("checkout", "-q", "-b", "pr", cwd=trusting)
    edit_config(trusting, {"slices": False, "trusted_types": ["x.Y"]}, ci={"default_branch": "pr"})
    commit_all(trusting, "loosen")
    cfg = trust.settings(RepoState(trusting), config.load(trusting))
    model = cfg.model(MODEL)
    assert (model.trust_pickle, model.trusted_types, model.slices) == (True, (), True)
    assert cfg.ci.default_branch == "main"
    assert cfg.trust is not None and cfg.trust.label == "origin/main"
    assert cfg.trust.commit == git("rev-parse", "origin/main", cwd=trusting).strip()
    assert set(cfg.trust.ignored) == {(MODEL, "slices"), (MODEL, "trusted_types"), ("ci", "default_branch")}
    # Resolved once: a second call changes nothing.
    assert trust.settings(RepoState(trusting), cfg) is cfg


def test_a_release_tag_on_the_change_itself_vouches_for_nothing(
    trusting: Path, mlgit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wheel_cache: Path
) -> None:
    # mlgit package, serve and check package load a release's model to build its bundle (golden outputs). A
    # change that tags its own commit as a release (a tag fetched with a fork's branch, or made by hand) and
    # trusts pickles in its own mlgit.yaml must not get its pickle loaded by any of them (issue 12).
    import subprocess
    import sys

    # origin/main trusts the pipeline's joblib model, declares a golden input and released v0.1.0.
    monkeypatch.setenv(WHEEL_CACHE_ENV, str(wheel_cache))
    released_repo = trusting
    golden_csv(released_repo)
    edit_config(released_repo, {"golden": {"input": "golden/input.csv", "key": "model", "method": "predict_proba"}})
    commit_all(released_repo, "golden input")
    assert mlgit(released_repo, "promote").code == 0
    git("push", "-q", "origin", "main", cwd=released_repo)
    marker = tmp_path / "unpickled"
    attack(released_repo, marker)
    git("tag", "-a", f"{MODEL}@v9.0.0", "-m", "Release cancer-classifier v9.0.0", cwd=released_repo)
    forged = f"{MODEL}@v9.0.0"
    for args in (
        ("package", forged, "--output", str(tmp_path / "dist")),
        ("package", MODEL, "--output", str(tmp_path / "dist")),  # the latest release is the forged one
        ("check", "package", forged),
    ):
        res = mlgit(released_repo, *args)
        assert res.code == 2, (args, res.out, res.err)
        assert not marker.exists(), args
        assert "not loaded" in res.err or "untrusted" in res.err or "pickle" in res.err, (args, res.err)
    # `mlgit serve` would serve for ever once loaded: run it in a child process with a bound on its life.
    served = subprocess.run(
        [sys.executable, "-m", "mlgit", "-C", str(released_repo), "serve", forged, "--port", "0"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert served.returncode == 2, served.stderr
    assert not marker.exists()
    # The real release, whose commit is on origin/main, is still packaged (its model is loaded: it is trusted).
    res = mlgit(released_repo, "package", f"{MODEL}@v0.1.0", "--output", str(tmp_path / "dist"))
    assert res.code == 0, res.err
    assert not marker.exists()


def test_check_repro_and_promote_do_not_unpickle_the_model_a_change_records(
    joblib_repo: Path, mlgit: Any, tmp_path: Path
) -> None:
    # `check repro` loads the model dvc.lock records only when the rebuilt one's bytes differ from it and a golden
    # input is declared (it then compares their predictions): exactly what a change with a malicious pickle gets.
    # main requires reproducible releases, declares the golden input and does not trust pickles.
    golden_csv(joblib_repo)
    golden = {"input": "golden/input.csv", "key": "model", "method": "predict_proba"}
    edit_config(joblib_repo, {"golden": golden, "policy": {**_policy(joblib_repo), "reproducible": True}})
    commit_all(joblib_repo, "golden input, reproducible releases")
    publish(joblib_repo, tmp_path)
    marker = tmp_path / "unpickled"
    attack(joblib_repo, marker)
    edit_config(joblib_repo, {"policy": {**_policy(joblib_repo), "reproducible": True}})
    commit_all(joblib_repo, "and reproducible")

    res = mlgit(joblib_repo, "check", "repro", "--json")
    assert not marker.exists(), res.out
    assert res.code == 1, (res.out, res.err)
    outs = {f["data"].get("output"): f for f in json.loads(res.out)["findings"]}
    model = outs["models/model.joblib"]
    assert model["code"] == "repro.not-reproducible", model
    assert "predictions could not be compared" in model["message"], model
    assert "trust_pickle is not set in mlgit.yaml on the default branch (origin/main)" in model["message"], model

    res = mlgit(joblib_repo, "promote", "--dry-run", "--allow-stale")  # evaluate is stale: its model changed
    assert not marker.exists(), (res.out, res.err)
    assert res.code == 1, (res.out, res.err)
    assert "is not reproducible (policy.reproducible: true)" in res.err
    assert "trust_pickle is not set in mlgit.yaml on the default branch (origin/main)" in res.err
    assert not git("tag", "--list", cwd=joblib_repo).strip()


def _policy(repo: Path) -> dict[str, Any]:
    policy: dict[str, Any] = yaml.safe_load((repo / "mlgit.yaml").read_text())["models"][MODEL]["policy"]
    return policy


def test_a_release_tag_on_the_change_itself_does_not_vouch_for_check_or_report(
    trusting: Path, mlgit: Any, tmp_path: Path
) -> None:
    # check, check model and report take a release tag's recorded bytes as trust (an unchanged released model
    # loads), but only a release on the default branch: a change can tag its own commit (issue 12).
    marker = tmp_path / "unpickled"
    attack(trusting, marker)
    git("tag", "-a", f"{MODEL}@v9.0.0", "-m", "Release cancer-classifier v9.0.0", cwd=trusting)
    refused_by_every_loader(mlgit, trusting, marker)
    refused = findings(mlgit, trusting, "check", "model", "--json")["model.untrusted-pickle"]
    assert "from the model's last release" in refused["message"]


def test_promote_judges_by_the_default_branchs_gate_not_the_changes(trusting: Path, mlgit: Any) -> None:
    # At release time too: a change that loosens its own gate (committed on a branch, or uncommitted on main) is
    # promoted under the policy mlgit.yaml has on the default branch.
    worse_model_looser_gate(trusting, mlgit)

    res = mlgit(trusting, "promote", "--dry-run", "--json")
    assert res.code == 1, (res.out, res.err)
    (doc,) = json.loads(res.out) if res.out.lstrip().startswith("[") else [json.loads(res.out)]
    assert doc["status"] == "rejected", doc
    assert "accuracy" in {r["metric"] for r in doc["results"] if not r["passed"]}
    assert any("the default branch's settings apply" in w for w in doc["warnings"]), doc["warnings"]
    assert mlgit(trusting, "promote", "--dry-run").code == 1


def test_the_default_branch_is_the_forges_or_the_remotes_never_a_guess(
    trusting: Path, mlgit: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The project's default branch is `develop` (it does not trust pickles); `main` is an old branch that does.
    # actions/checkout records no origin/HEAD, so the clone alone cannot tell: mlgit must not fall back to main.
    origin = tmp_path / "origin.git"
    git("checkout", "-q", "-b", "develop", cwd=trusting)
    edit_config(trusting, {"trust_pickle": False}, ci={"default_branch": "develop"})
    commit_all(trusting, "develop: no pickles")
    git("push", "-q", "origin", "develop", cwd=trusting)
    git("symbolic-ref", "HEAD", "refs/heads/develop", cwd=origin)
    git("remote", "set-head", "origin", "--delete", cwd=trusting)
    for name in ("GITHUB_EVENT_NAME", "GITHUB_BASE_REF", "GITHUB_EVENT_PATH", "CI_DEFAULT_BRANCH"):
        monkeypatch.delenv(name, raising=False)

    def label() -> str | None:
        source = trust.settings(RepoState(trusting), config.load(trusting)).trust
        assert source is not None, "settings always says where they came from"
        assert source.label is not None, source.problem
        return source.label

    # As the remote itself says (git ls-remote --symref origin HEAD).
    assert label() == "origin/develop"
    msg = findings(mlgit, trusting, "check", "model", "--json")["model.untrusted-pickle"]["message"]
    assert "trust_pickle is not set in mlgit.yaml on the default branch (origin/develop)" in msg
    # What the forge says comes first: a pull request's base branch, the event's repository, GitLab's variable.
    monkeypatch.setenv("GITHUB_EVENT_NAME", "pull_request")
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    assert label() == "origin/main"
    monkeypatch.delenv("GITHUB_BASE_REF")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"default_branch": "main"}}))
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert label() == "origin/main"
    monkeypatch.delenv("GITHUB_EVENT_PATH")
    monkeypatch.setenv("CI_DEFAULT_BRANCH", "main")
    assert label() == "origin/main"
    monkeypatch.delenv("CI_DEFAULT_BRANCH")
    # The default branch's own mlgit.yaml may name another one (ci.default_branch); a change's never counts.
    edit_config(trusting, ci={"default_branch": "main"})
    commit_all(trusting, "develop: main is the default branch")
    git("push", "-q", "origin", "develop", cwd=trusting)
    assert label() == "origin/main"
    # Nothing says which branch is the default (the remote is gone): nothing is trusted, and mlgit says so.
    origin.rename(tmp_path / "gone.git")
    source = trust.settings(RepoState(trusting), config.load(trusting)).trust
    assert source is not None and source.label is None
    assert source.problem is not None and "this clone has no default branch to read them from" in source.problem
    res = mlgit(trusting, "check", "model", "--json")
    assert res.code in (0, 1) and "git remote set-head origin --auto" in res.out


def _release_branch_commit(repo: Path) -> str:
    """main allows `release/*` to release; a commit on a local `release/x` branch only."""
    commit_policy(repo, 'release_branches: ["release/*"]', "release branches may release")
    git("checkout", "-q", "-b", "release/x", cwd=repo)
    (repo / "NOTES.md").write_text("a release-branch change\n")
    return commit_all(repo, "on release/x")


def _vouches(repo: Path, commit: str) -> bool:
    cfg = trust.settings(RepoState(repo), config.load(repo))
    return trust.vouches(repo, cfg, cfg.models[0], commit)


def test_with_a_remote_only_its_release_branches_vouch(git_repo: Path, tmp_path: Path) -> None:
    # A job can create a local branch named like a release branch on the change it checked out (issue 12): with a
    # remote, a tag vouches only when the remote's `release/*` branch holds its commit.
    publish(git_repo, tmp_path)
    commit = _release_branch_commit(git_repo)
    git("push", "-q", "origin", "main", cwd=git_repo)
    assert not _vouches(git_repo, commit)
    git("push", "-q", "origin", "release/x", cwd=git_repo)
    git("fetch", "-q", "origin", cwd=git_repo)
    assert _vouches(git_repo, commit)


def test_without_a_remote_local_release_branches_vouch(git_repo: Path) -> None:
    # A laptop repository without a remote: its own branches are the repository's.
    commit = _release_branch_commit(git_repo)
    git("checkout", "-q", "main", cwd=git_repo)
    assert _vouches(git_repo, commit)
