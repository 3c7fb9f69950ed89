"""`mlgit demo`: the whole loop on a copy of example_repo, with real git, DVC and mlgit commands."""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from mlgit.errors import MlgitError
from mlgit.results import serialize
from mlgit.system import atomic, process, resources

_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlgit demo",
    "GIT_AUTHOR_EMAIL": "demo@mlgit.invalid",
    "GIT_COMMITTER_NAME": "mlgit demo",
    "GIT_COMMITTER_EMAIL": "demo@mlgit.invalid",
}


class _Demo:
    def __init__(self, repo: Path) -> None:
        self.repo = repo
        # The pipeline's `python src/...` must be this interpreter, which has scikit-learn.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        # No pickle trust anywhere: the example saves its model with skops, which loads as data.
        self.env = {**_IDENTITY, "PATH": path, "DVC_NO_ANALYTICS": "1", "NO_COLOR": "1", _WHEELS: _wheel_cache()}

    def say(self, text: str) -> None:
        sys.stdout.write(f"\n=== {text}\n")
        sys.stdout.flush()

    def sh(self, *args: str, expect: int = 0, show: bool = True, label: str | None = None) -> None:
        shown = label or " ".join(args)
        if show:
            sys.stdout.write(f"$ {shown}\n")
            sys.stdout.flush()
            code = process.stream(args, cwd=self.repo, env=self.env)
        else:
            code = process.run(args, cwd=self.repo, env=self.env, check=False).returncode
        if code != expect:
            raise MlgitError(
                f"demo step failed: '{shown}' exited {code} (expected {expect}); the demo repo is at {self.repo}"
            )

    def mlgit(self, *args: str, expect: int = 0) -> None:
        self.sh(sys.executable, "-m", "mlgit", *args, expect=expect, label=" ".join(("mlgit", *args)))

    def git(self, *args: str) -> None:
        self.sh("git", *args, show=False)

    def dvc(self, *args: str, show: bool = False) -> None:
        self.sh(process.tool("dvc"), *args, show=show, label=" ".join(("dvc", *args)))

    def set_param(self, key: str, value: str) -> None:
        path = self.repo / "params.yaml"
        text = path.read_text()
        new, n = re.subn(rf"(?m)^(\s+{re.escape(key)}:)\s*\S+", rf"\g<1> {value}", text, count=1)
        if n != 1:
            raise MlgitError(f"demo: params.yaml has no key {key!r}")
        atomic.write_text(path, new)
        sys.stdout.write(f"$ edit params.yaml: {key} = {value}\n")


_WHEELS = "MLGIT_WHEEL_CACHE"


def _wheel_cache() -> str:
    # The bundle's wheels are downloaded once per machine, not once per demo repository.
    if os.environ.get(_WHEELS):
        return os.environ[_WHEELS]
    return str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlgit" / "wheels")


def _golden_input(repo: Path) -> None:
    """Five test rows without the target: the golden input packaging and `check model` predict on."""
    import csv

    with open(repo / "data" / "prepared" / "test.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))[:6]
    keep = [i for i, name in enumerate(rows[0]) if name != "target"]
    (repo / "golden").mkdir(exist_ok=True)
    atomic.write_text(repo / "golden" / "input.csv", "".join(",".join(r[i] for i in keep) + "\n" for r in rows))
    path = repo / "mlgit.yaml"
    text = path.read_text()
    anchor = "    path: models/model.skops\n"
    if anchor not in text:
        raise MlgitError("demo: mlgit.yaml has no models/model.skops model")
    golden = "    golden:\n      input: golden/input.csv\n      key: model\n      method: predict_proba\n"
    atomic.write_text(path, text.replace(anchor, anchor + golden))
    sys.stdout.write(
        "$ write golden/input.csv (5 test rows) and declare it in mlgit.yaml (golden: input, key: model,"
        " method: predict_proba)\n"
    )


def _bad_batch(repo: Path) -> None:
    """A bad data batch: out-of-range values, an unseen category and a dropped column."""
    import csv
    import io

    path = repo / "data" / "raw" / "breast_cancer.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    radius, size, dropped = header.index("mean_radius"), header.index("size_class"), header.index("worst_symmetry")
    for row in rows[1:4]:
        row[radius] = "250.0"
    for row in rows[4:6]:
        row[size] = "huge"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([c for i, c in enumerate(r) if i != dropped] for r in rows)
    atomic.write_text(path, out.getvalue())
    sys.stdout.write(
        "$ edit data/raw/breast_cancer.csv: mean_radius = 250.0 in 3 rows, size_class = 'huge' in 2 rows,"
        " column worst_symmetry dropped\n"
    )


def run(where: Path | None) -> int:
    """Build a demo repository and walk it through checks, reports, releases, stages and refusals."""
    _require_extras()
    base = Path(tempfile.mkdtemp(prefix="mlgit-demo-")) if where is None else where
    if where is not None and where.exists() and any(where.iterdir()):
        raise MlgitError(f"{where} is not empty; the demo needs a new or empty folder")
    repo, remote, html = base / "repo", base / "dvc-remote", base / "report.html"
    shutil.copytree(resources.bundled("example_repo"), repo, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
    d = _Demo(repo)
    _new_repository(d, remote)
    _first_release(d, repo)
    _improving_branch(d, html)
    _merge_and_stages(d)
    _deploy_follows_the_tags(d)
    _degrading_branch(d)
    _bad_data_batch(d, repo)
    _package_and_serve(d, base / "dist")
    _monitoring(d, repo, base)
    d.say("Registry state (read back by GTO)")
    try:
        d.sh(process.tool("gto"), "show", label="gto show")
    except MlgitError:
        d.sh("git", "tag", "--list", "-n1")
    sys.stdout.write(
        f"\nThe demo repository is at {repo}\n(DVC remote: {remote})\nThe HTML report of the improving branch: {html}\n"
    )
    return 0


def _traffic(repo: Path, path: Path, day: str, scale: float) -> None:
    """A day of logged traffic (a table log: time, latency, status, the features), size features scaled."""
    import csv

    sizes = {"mean_radius", "mean_perimeter", "mean_area", "worst_radius", "worst_perimeter", "worst_area"}
    with open(repo / "data" / "prepared" / "test.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = [n for n in rows[0] if n != "target"]
    lines = [",".join(["id", "time", "latency_ms", "status", *names])]
    for i, r in enumerate(rows):
        cells = [f"{day}-{i}", f"{day}T{i % 24:02d}:{i % 60:02d}:00Z", "0.8", "200"]
        cells += [repr(float(r[n]) * (scale if n in sizes else 1.0)) for n in names]
        lines.append(",".join(cells))
    atomic.write_text(path, "\n".join(lines) + "\n")


def _monitoring(d: _Demo, repo: Path, base: Path) -> None:
    d.say("10. Production: logged traffic against the release's committed training profile (no training data read)")
    calm, shifted = base / "traffic-2026-12-01.csv", base / "traffic-2026-12-02.csv"
    _traffic(repo, calm, "2026-12-01", 1.0)
    _traffic(repo, shifted, "2026-12-02", 1.4)
    d.mlgit("monitor", "--logs", str(calm), "--store", str(base / "monitoring"))
    d.say("   ... a day of larger tumours: the size features drift, so monitor fails (exit 1)")
    d.mlgit("monitor", "--logs", str(shifted), "--store", str(base / "monitoring"), expect=1)
    d.say("   ... and the retraining it would propose (a dry run: nothing is changed)")
    d.mlgit("retrain", "--trigger", "drift", "--store", str(base / "monitoring"), "--dry-run")
    d.say("   ... does the pipeline reproduce what dvc.lock records?")
    d.mlgit("check", "repro")


def _require_extras() -> None:
    # The example pipeline trains with scikit-learn: without it, `dvc repro` would end in a traceback.
    import importlib.util

    missing = [dist for dist, module in _EXTRAS if importlib.util.find_spec(module) is None]
    if missing:
        raise MlgitError(
            f"the demo's pipeline needs {' and '.join(missing)}, which this installation of mlgit lacks",
            hint="install mlgit with the demo extra: pip install 'mlgit[demo]'",
        )


_EXTRAS = (("scikit-learn", "sklearn"), ("skops", "skops"))


def _new_repository(d: _Demo, remote: Path) -> None:
    d.say("1. A new ML repository: git + DVC, pipeline run, data and model pushed to a local DVC remote")
    d.git("init", "--quiet", "--initial-branch=main")
    d.dvc("init", "--quiet")
    d.dvc("remote", "add", "--default", "local", str(remote))
    d.dvc("repro", "--quiet", show=True)
    d.git("add", "--all")
    d.git("commit", "--quiet", "--message", "Breast-cancer classifier: baseline pipeline")
    d.dvc("push", "--quiet", show=True)


def _first_release(d: _Demo, repo: Path) -> None:
    d.say("2. mlgit init writes mlgit.yaml and the CI workflows; schema infer writes reviewable data schemas")
    d.mlgit("init")
    _golden_input(repo)
    d.mlgit("schema", "infer")
    d.git("add", "--all")
    d.git("commit", "--quiet", "--message", "Add mlgit.yaml, CI workflows and data schemas")
    d.say("3. All checks pass on main; the first promotion has no baseline, so only absolute bounds apply")
    d.mlgit("check")
    d.mlgit("promote")


def _improving_branch(d: _Demo, html: Path) -> None:
    d.say("4. A branch that improves the model (less regularization), and its pull-request report")
    d.git("checkout", "--quiet", "-b", "better-model")
    d.set_param("C", "1.0")
    d.dvc("repro", "--quiet", show=True)
    d.mlgit("metrics", "diff")
    d.git("commit", "--quiet", "--all", "--message", "Train with C=1.0")
    d.dvc("push", "--quiet")
    d.mlgit("report", "--format", "md")
    d.mlgit("report", "--output", str(html))


def _merge_and_stages(d: _Demo) -> None:
    d.say("5. Merged to main and promoted: metrics improved, so a minor bump with lineage in the tag")
    d.git("checkout", "--quiet", "main")
    d.git("merge", "--quiet", "--no-ff", "better-model", "--message", "Merge better-model")
    d.mlgit("promote")
    d.sh("git", "tag", "--list", "-n1", "cancer-classifier@*")
    d.say("6. Stages: v0.1.0 to prod, then v0.2.0, then a rollback (GTO stage tags)")
    d.mlgit("assign", "cancer-classifier", "prod", "--version", "v0.1.0")
    d.mlgit("assign", "cancer-classifier", "prod")
    d.mlgit("registry")
    d.mlgit("rollback", "cancer-classifier", "prod")
    d.mlgit("history", "cancer-classifier")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _served(repo: Path, port: int) -> None:
    """One prediction through the stable port, and the version that answered it."""
    import json
    import urllib.request

    from mlgit.deploy import blessed, state
    from mlgit.repo.state import RepoState

    # Through the deploy state's own folder function: the git dir is elsewhere in a worktree or --separate-git-dir.
    unpacked = blessed.unpacked_root(state.root_of(RepoState(repo)))
    body = next(unpacked.glob("*/*/golden/input.json")).read_bytes()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/models/cancer-classifier/infer", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as res:  # noqa: S310 - a fixed loopback URL
        doc = json.loads(res.read())
    first = doc["outputs"][0]
    sys.stdout.write(
        f"$ POST http://127.0.0.1:{port}/v2/models/cancer-classifier/infer\n"
        f"  served by {doc['model_version']}: {first['name']} = {[round(v, 4) for v in first['data'][:4]]} ...\n"
    )


def _deploy_follows_the_tags(d: _Demo) -> None:
    d.say("6b. Deploy: the stage tags are the desired state; a local service on a stable port follows them")
    port = _free_port()
    path = d.repo / "mlgit.yaml"
    atomic.write_text(path, path.read_text() + f"deploy:\n  prod: {{target: local, port: {port}}}\n")
    sys.stdout.write(f"$ edit mlgit.yaml: deploy: {{prod: {{target: local, port: {port}}}}}\n")
    d.git("commit", "--quiet", "--all", "--message", "Deploy prod on this machine")
    for version in ("v0.1.0", "v0.2.0"):  # packaged into the local store, installed offline, served, checked
        d.mlgit("check", "package", f"cancer-classifier@{version}")
    d.mlgit("deploy", "apply", "cancer-classifier", "prod")  # prod holds v0.1.0 since the rollback above
    _served(d.repo, port)
    d.mlgit("assign", "cancer-classifier", "prod")
    d.mlgit("deploy", "status", expect=1)  # the tag moved; the service has not yet
    d.mlgit("deploy", "apply", "cancer-classifier", "prod")
    _served(d.repo, port)
    d.mlgit("rollback", "cancer-classifier", "prod")
    d.mlgit("deploy", "apply", "cancer-classifier", "prod")
    _served(d.repo, port)
    d.mlgit("deploy", "status")
    d.mlgit("deploy", "stop", "cancer-classifier", "prod")


def _degrading_branch(d: _Demo) -> None:
    d.say("7. A change that degrades the model reaches main: the promotion gate refuses it (exit 1), no tag")
    d.git("checkout", "--quiet", "-b", "worse-model")
    d.set_param("C", "0.0003")
    d.dvc("repro", "--quiet", show=True)
    d.git("commit", "--quiet", "--all", "--message", "Train with C=0.0003")
    # Releases happen from the default branch only, so the gate is shown where it decides: after the merge.
    d.git("checkout", "--quiet", "main")
    d.git("merge", "--quiet", "--no-ff", "worse-model", "--message", "Merge worse-model")
    d.mlgit("promote", expect=1)
    d.git("revert", "--quiet", "--no-edit", "-m", "1", "HEAD")
    d.dvc("checkout", "--quiet", "--force")


def _bad_data_batch(d: _Demo, repo: Path) -> None:
    d.say("8. A bad data batch on a branch: the data and schema checks catch it (exit 1)")
    d.git("checkout", "--quiet", "-b", "bad-batch")
    _bad_batch(repo)
    d.mlgit("check", "data", "breast_cancer", expect=1)
    d.mlgit("check", "schema", expect=1)
    d.say("   ... and the clean data passing again")
    d.dvc("checkout", "--quiet", "--force", "data/raw/breast_cancer.csv", show=True)
    d.mlgit("check", "data", "breast_cancer")
    d.git("checkout", "--quiet", "main")
    d.dvc("checkout", "--quiet", "--force")  # leave the repo as main describes it, so its checks pass


# -- 9. Packaging and serving (issue 14): package the first release, check the package, serve one prediction ----


def _package_and_serve(d: _Demo, dist: Path) -> None:
    d.say("9. The first release as a bundle: packaged from its tag, checked offline, served over OIP v2")
    archive = dist / "cancer-classifier-v0.1.0.tar.gz"
    d.mlgit("package", "cancer-classifier@v0.1.0", "--output", str(dist))
    d.mlgit("check", "package", str(archive))
    _serve_one_prediction(d, archive)


def _serve_one_prediction(d: _Demo, archive: Path) -> None:
    """Start `mlgit serve` as a real server process, send one infer request over HTTP, then SIGTERM it."""
    import http.client
    import json
    import selectors
    import signal

    folder = archive.with_name(archive.name.removesuffix(".tar.gz"))
    golden = json.loads((folder / "golden" / "input.json").read_text(encoding="utf-8"))
    row = {"inputs": [{**t, "shape": [1], "data": t["data"][:1]} for t in golden["inputs"]]}
    args = (sys.executable, "-m", "mlgit", "serve", str(archive), "--port", "0")
    sys.stdout.write(f"$ mlgit serve {archive} --port 0 &\n")
    with tempfile.TemporaryFile() as err:
        server = process.spawn(args, stderr=err, cwd=d.repo, env=d.env)
        try:
            assert server.stdout is not None
            with selectors.DefaultSelector() as sel:
                sel.register(server.stdout, selectors.EVENT_READ)
                line = server.stdout.readline() if sel.select(120) else b""
            ready = json.loads(line) if line.startswith(b"{") else {}
            if ready.get("event") != "ready":
                err.seek(0)
                raise MlgitError(f"demo: mlgit serve did not start: {err.read().decode(errors='replace')[-1500:]}")
            sys.stdout.write(line.decode())
            host, port = str(ready["url"]).removeprefix("http://").rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
            path = "/v2/models/cancer-classifier/infer"
            sys.stdout.write(f"$ curl -s -X POST {ready['url']}{path} -d '<one row: 30 features>'\n")
            body = serialize.dumps(row, indent=None)
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            res = conn.getresponse()
            sys.stdout.write(f"HTTP {res.status}: {res.read().decode()}\n")
            conn.close()
        finally:
            server.send_signal(signal.SIGTERM)
            out, _ = server.communicate(timeout=60)
        sys.stdout.write(out.decode())
    if res.status != 200 or server.returncode != 0:
        raise MlgitError(f"demo: the served prediction failed (HTTP {res.status}, server exit {server.returncode})")
