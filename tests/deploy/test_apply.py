"""`mlgit deploy` end to end on one released repository: two blessed releases, real servers, a real load client.

The module builds one repository once (v0.1.0 and v0.2.0 released, packaged and evaluated by `mlgit check
package`, prod assigned v0.1.0, nothing deployed); each test gets its own copy of it and sets up the deployment it
starts from, so any test passes alone (`pytest tests/deploy/test_apply.py::NAME`) and in any order. A test's
servers are stopped when it ends. Nothing waits on the clock: load threads run until each has seen the version
they wait for.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from mlgit.deploy import state
from mlgit.package import archive, store
from mlgit.repo.state import RepoState
from testing.oip import MODEL, WHEEL_CACHE_ENV
from testing.repos import BIN, commit_all, dvc, git, set_param

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Deployed:
    repo: Path
    port: int
    env: dict[str, str]
    recorded: Path  # where the qa stage's command target writes the environment it was given
    archives: dict[str, Path] = field(default_factory=dict)

    def mlgit(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mlgit", "-C", str(self.repo), *args], env=self.env, capture_output=True, text=True
        )


def _run(env: dict[str, str], repo: Path, *args: str) -> str:
    done = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def _releases(
    _released_template: Path, tmp_path_factory: pytest.TempPathFactory, wheel_cache: Path, deploy_venvs: Path
) -> Deployed:
    """The repository every test copies: two blessed releases, prod assigned v0.1.0, nothing deployed yet."""
    base = tmp_path_factory.mktemp("deploy")
    repo = base / "repo"
    shutil.copytree(_released_template, repo, symlinks=True)
    port = _free_port()
    env = {**os.environ, WHEEL_CACHE_ENV: str(wheel_cache), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env[state.VENVS_ENV] = str(deploy_venvs)
    cfg = yaml.safe_load((repo / "mlgit.yaml").read_text())
    cfg["deploy"] = {
        "prod": {"target": "local", "port": port},
        "staging": {"target": "kserve", "namespace": "models", "storage": str(base / "bucket")},
        "qa": {"target": "command", "command": [sys.executable, "-c", _RECORDER, str(base / "command.json")]},
    }
    (repo / "mlgit.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    commit_all(repo, "deploy targets")
    set_param(repo, "C", "1.0")
    dvc("repro", "-q", cwd=repo)
    commit_all(repo, "a better model")
    d = Deployed(repo, port, env, base / "command.json")
    _run(env, repo, sys.executable, "-m", "mlgit", "promote")
    for version in ("v0.1.0", "v0.2.0"):
        _run(env, repo, sys.executable, "-m", "mlgit", "package", f"{MODEL}@{version}", "--output", str(base / "dist"))
        d.archives[version] = base / "dist" / f"{MODEL}-{version}.tar.gz"
        _run(env, repo, sys.executable, "-m", "mlgit", "check", "package", str(d.archives[version]))
    _run(env, repo, sys.executable, "-m", "mlgit", "assign", MODEL, "prod", "--version", "v0.1.0")
    return d


@pytest.fixture
def deployed(_releases: Deployed, tmp_path: Path) -> Iterator[Deployed]:
    """A private copy of the released repository (its deploy state empty); its prod service stopped at the end."""
    repo = tmp_path / "repo"
    shutil.copytree(_releases.repo, repo, symlinks=True)
    d = Deployed(repo, _releases.port, _releases.env, _releases.recorded, dict(_releases.archives))
    yield d
    d.mlgit("deploy", "stop", MODEL, "prod")


def _serving(d: Deployed, version: str) -> None:
    """Assign `version` to prod (unless it holds it) and deploy it: the service a test starts from."""
    rows = {r["stage"]: r for r in json.loads(d.mlgit("deploy", "status", MODEL, "--json").stdout)["deployments"]}
    if rows["prod"]["desired"] != version:
        assert d.mlgit("assign", MODEL, "prod", "--version", version).returncode == 0
    done = d.mlgit("deploy", "apply", MODEL, "prod")
    assert done.returncode == 0 and f"serves {version}" in done.stdout, done.stdout + done.stderr


_RECORDER = """
import json, os, sys
keys = ("MLGIT_MODEL", "MLGIT_VERSION", "MLGIT_STAGE", "MLGIT_BUNDLE", "MLGIT_DIGEST")
open(sys.argv[1], "w").write(json.dumps({k: os.environ.get(k) for k in keys}))
"""


def _infer_body(repo: Path, archive_path: Path) -> bytes:
    folder = archive_path.with_name(archive_path.name.removesuffix(".tar.gz"))
    return (folder / "golden" / "input.json").read_bytes()


class Load:
    """Threads sending inferences over keep-alive connections to the stable port, counting every failure."""

    def __init__(self, port: int, body: bytes, threads: int = 4) -> None:
        self.port, self.body = port, body
        self.failures: list[str] = []
        self.seen: list[set[str]] = [set() for _ in range(threads)]
        self.cond = threading.Condition()
        self.wanted: str | None = None
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, args=(i,)) for i in range(threads)]

    def _loop(self, i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        while not self.stop.is_set():
            try:
                conn.request("POST", f"/v2/models/{MODEL}/infer", body=self.body, headers={"Content-Type": "application/json"})
                res = conn.getresponse()
                doc = json.loads(res.read())
                if res.status != 200:
                    raise ValueError(f"HTTP {res.status}: {doc}")
                version = str(doc["model_version"])
            except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
                with self.cond:
                    self.failures.append(repr(exc))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                continue
            with self.cond:
                self.seen[i].add(version)
                self.cond.notify_all()
        conn.close()

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def wait_all_saw(self, version: str) -> None:
        """Until every thread has had an answer from `version` (bounded only by the servers answering)."""
        with self.cond:
            assert self.cond.wait_for(lambda: all(version in s for s in self.seen) or self.failures, timeout=300)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def test_apply_deploys_what_the_stage_holds_and_a_rerun_does_nothing(deployed: Deployed) -> None:
    first = deployed.mlgit("deploy", "apply", MODEL, "prod", "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert (doc["status"], doc["version"], doc["where"]) == ("deployed", "v0.1.0", f"http://127.0.0.1:{deployed.port}")
    again = deployed.mlgit("deploy", "apply", MODEL, "prod")
    assert again.returncode == 0
    assert "already serves v0.1.0; nothing to do" in again.stdout
    status = deployed.mlgit("deploy", "status", MODEL, "--json")
    rows = {r["stage"]: r for r in json.loads(status.stdout)["deployments"]}
    assert rows["prod"]["status"] == "in-sync" and rows["prod"]["serving"] == "v0.1.0"
    assert rows["prod"]["serving_digest"] == "sha256:" + archive.sha256_of(deployed.archives["v0.1.0"])


def test_a_switch_and_a_rollback_under_steady_load_fail_no_request(deployed: Deployed) -> None:
    _serving(deployed, "v0.1.0")
    assert deployed.mlgit("assign", MODEL, "prod", "--version", "v0.2.0").returncode == 0
    drifted = deployed.mlgit("deploy", "status", MODEL)
    assert drifted.returncode == 1 and "drifted" in drifted.stdout
    load = Load(deployed.port, _infer_body(deployed.repo, deployed.archives["v0.1.0"]))
    load.start()
    try:
        load.wait_all_saw("v0.1.0")
        switched = deployed.mlgit("deploy", "apply", MODEL, "prod")
        assert switched.returncode == 0, switched.stdout + switched.stderr
        assert "now serves v0.2.0 (was v0.1.0)" in switched.stdout
        load.wait_all_saw("v0.2.0")
        assert deployed.mlgit("rollback", MODEL, "prod").returncode == 0
        back = deployed.mlgit("deploy", "apply", MODEL, "prod")
        assert back.returncode == 0 and "now serves v0.1.0 (was v0.2.0)" in back.stdout
        with load.cond:
            for s in load.seen:
                s.discard("v0.1.0")
        load.wait_all_saw("v0.1.0")
    finally:
        load.finish()
    assert load.failures == []
    assert deployed.mlgit("deploy", "status", MODEL).stdout.splitlines()[0].startswith("in-sync")


def _broken_but_recorded(d: Deployed, tmp: Path) -> Path:
    """v0.2.0 with a wrong golden output, and a passing evaluation record someone else wrote for it."""
    src = d.archives["v0.2.0"]
    folder = archive.extract(src, tmp)
    golden = json.loads((folder / "golden" / "output.json").read_text())
    golden["outputs"][0]["data"][0] = golden["outputs"][0]["data"][0] + 0.5
    (folder / "golden" / "output.json").write_text(json.dumps(golden))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["golden/output.json"] = archive.sha256_of(folder / "golden" / "output.json")
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    dest = tmp / src.name
    digest = archive.write(folder, dest, 0)
    dest.with_name(dest.name + ".sha256").write_text(f"{digest}  {dest.name}\n")
    record = {"schema": "mlgit.evaluation/1", "bundle": {"sha256": digest}, "passed": True, "findings": []}
    store.write_json(store.folder(d.repo) / f"{digest}.evaluation.json", record)
    return dest


def test_a_failing_new_version_never_takes_traffic_and_auto_rollback_tags_it(deployed: Deployed, tmp_path: Path) -> None:
    _serving(deployed, "v0.1.0")
    broken = _broken_but_recorded(deployed, tmp_path)
    assert deployed.mlgit("assign", MODEL, "prod", "--version", "v0.2.0").returncode == 0
    load = Load(deployed.port, _infer_body(deployed.repo, deployed.archives["v0.1.0"]), threads=2)
    load.start()
    try:
        load.wait_all_saw("v0.1.0")
        res = deployed.mlgit("deploy", "apply", MODEL, "prod", "--bundle", str(broken), "--auto-rollback", "--json")
        with load.cond:
            seen = set().union(*load.seen)
    finally:
        load.finish()
    assert res.returncode == 1, res.stderr
    doc = json.loads(res.stdout)
    assert doc["status"] == "failed" and "v0.1.0 keeps serving" in doc["message"]
    assert any(f["code"] == "package.golden-mismatch" for f in doc["findings"])
    assert seen == {"v0.1.0"} and load.failures == []
    assert [t.split("#")[1:2] for t in doc["rollback_tags"]] == [["prod!"], ["prod"]]
    registry = json.loads(deployed.mlgit("registry", "--json").stdout)
    assert "v0.1.0" in json.dumps(registry) and json.loads(deployed.mlgit("deploy", "status", MODEL, "--json").stdout)[
        "deployments"
    ][0]["status"] == "in-sync"


def test_an_unblessed_or_tampered_bundle_is_refused(deployed: Deployed, tmp_path: Path) -> None:
    _serving(deployed, "v0.1.0")
    assert deployed.mlgit("assign", MODEL, "prod", "--version", "v0.2.0").returncode == 0
    tampered = tmp_path / deployed.archives["v0.2.0"].name
    data = bytearray(deployed.archives["v0.2.0"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    shutil.copy(deployed.archives["v0.2.0"].with_name(tampered.name + ".sha256"), tampered.with_name(tampered.name + ".sha256"))
    res = deployed.mlgit("deploy", "apply", MODEL, "prod", "--bundle", str(tampered))
    assert res.returncode == 1
    assert "refusing to deploy" in res.stderr
    # A correct archive of the release that `check package` never evaluated: refused, naming the command.
    unchecked = tmp_path / "unchecked" / tampered.name
    unchecked.parent.mkdir()
    folder = archive.extract(deployed.archives["v0.2.0"], tmp_path / "x")
    (folder / "requirements.txt").write_text((folder / "requirements.txt").read_text() + "\n")
    digest = archive.write(folder, unchecked, 0)
    unchecked.with_name(unchecked.name + ".sha256").write_text(digest + "\n")
    res = deployed.mlgit("deploy", "apply", MODEL, "prod", "--bundle", str(unchecked))
    assert res.returncode == 1
    assert "no evaluation record" in res.stderr and "mlgit check package" in res.stderr
    assert json.loads(deployed.mlgit("deploy", "status", MODEL, "--json").stdout)["deployments"][0]["serving"] == "v0.1.0"


def test_concurrent_deploys_of_one_stage_are_serialised(deployed: Deployed) -> None:
    _serving(deployed, "v0.1.0")
    assert deployed.mlgit("assign", MODEL, "prod", "--version", "v0.2.0").returncode == 0
    where = state.folder(RepoState(deployed.repo), MODEL, "prod")
    proc = None
    with state.locked(where, on_wait=lambda holder: None):
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlgit", "-C", str(deployed.repo), "deploy", "apply", MODEL, "prod"],
            env=deployed.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith("waiting for the deploy lock") and f"pid {os.getpid()}" in line
        assert proc.poll() is None  # it cannot get past the lock this process holds
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert "now serves v0.2.0 (was v0.1.0)" in out


def test_kserve_target_renders_a_validated_manifest_naming_the_digest(deployed: Deployed) -> None:
    pytest.importorskip("kserve", reason="the kserve extra (pip install 'mlgit[kserve]') validates manifests")
    pytest.importorskip("kubernetes_validate", reason="the kserve extra brings kubernetes-validate")
    assert deployed.mlgit("assign", MODEL, "staging", "--version", "v0.2.0").returncode == 0
    res = deployed.mlgit("deploy", "apply", MODEL, "staging", "--json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    digest = archive.sha256_of(deployed.archives["v0.2.0"])
    assert doc["where"] == f"deploy/staging/{MODEL}.yaml" and "not validated" not in doc["message"]
    manifest = yaml.safe_load((deployed.repo / doc["where"]).read_text())
    assert manifest["kind"] == "InferenceService" and manifest["metadata"]["namespace"] == "models"
    model = manifest["spec"]["predictor"]["model"]
    assert model["storageUri"].endswith(f"/{digest}/model") and model["modelFormat"]["name"] == "sklearn"
    assert manifest["metadata"]["annotations"]["mlgit.dev/digest"] == f"sha256:{digest}"
    uploaded = Path(model["storageUri"]).parent
    assert json.loads((uploaded / "manifest.json").read_text())["version"] == "v0.2.0"
    assert deployed.mlgit("deploy", "apply", MODEL, "staging").stdout.count("nothing to do") == 1
    from mlgit.deploy import kserve

    assert kserve.validate(manifest) == []
    manifest["spec"]["predictor"]["minReplicas"] = "two"
    manifest["spec"]["predictor"]["model"]["storageUrl"] = "typo"
    problems = kserve.validate(manifest)
    assert any("minReplicas: expected int" in p for p in problems)
    assert any("storageUrl: not a field of V1beta1ModelSpec" in p for p in problems)


def test_command_target_gets_the_release_in_its_environment(deployed: Deployed) -> None:
    deployed.recorded.unlink(missing_ok=True)  # written by this test's deploy, not an earlier one
    assert deployed.mlgit("assign", MODEL, "qa", "--version", "v0.1.0").returncode == 0
    res = deployed.mlgit("deploy", "apply", MODEL, "qa")
    assert res.returncode == 0, res.stderr
    seen = json.loads(deployed.recorded.read_text())
    digest = archive.sha256_of(deployed.archives["v0.1.0"])
    assert seen["MLGIT_MODEL"] == MODEL and seen["MLGIT_VERSION"] == "v0.1.0" and seen["MLGIT_STAGE"] == "qa"
    assert seen["MLGIT_DIGEST"] == f"sha256:{digest}" and archive.sha256_of(Path(seen["MLGIT_BUNDLE"])) == digest
    assert "nothing to do" in deployed.mlgit("deploy", "apply", MODEL, "qa").stdout


def test_stop_and_status_down(deployed: Deployed) -> None:
    _serving(deployed, "v0.1.0")
    _serving(deployed, "v0.2.0")
    planned = deployed.mlgit("deploy", "apply", MODEL, "prod", "--dry-run", "--json")
    assert planned.returncode == 0 and json.loads(planned.stdout)["status"] == "unchanged"
    assert deployed.mlgit("rollback", MODEL, "prod").returncode == 0
    planned = json.loads(deployed.mlgit("deploy", "apply", MODEL, "prod", "--dry-run", "--json").stdout)
    assert planned["status"] == "planned" and planned["message"].startswith(f"would deploy {MODEL} v0.1.0")
    assert "replacing v0.2.0" in planned["message"]
    assert json.loads(deployed.mlgit("deploy", "status", MODEL, "--json").stdout)["deployments"][0]["serving"] == "v0.2.0"
    stopped = deployed.mlgit("deploy", "stop", MODEL, "prod")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    status = deployed.mlgit("deploy", "status", MODEL, "--json")
    assert status.returncode == 1
    rows = {r["stage"]: r["status"] for r in json.loads(status.stdout)["deployments"]}
    assert rows["prod"] == "down"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", deployed.port), timeout=5).close()
    assert git("tag", "--list", cwd=deployed.repo)
