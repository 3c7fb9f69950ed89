"""Race safety: many `mlgit promote --push` processes against one bare remote, at the same time.

Each process is the installed CLI in its own clone. Some share a commit, the others each have their own.
Whatever the interleaving, the remote must end with one version per commit, no version twice, every pushed
release reported by exactly one process, and a linear history: each release was gated against the release
just before it (the lease on the remote makes a promotion that read stale tags retry instead of landing).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from mlgit.registry.semver import Bump, Version
from testing.repos import BIN, REPO_ROOT, git, sh

SAME_COMMIT = 8  # processes promoting one shared commit
OWN_COMMIT = 14  # processes each promoting a commit of their own


def _cli() -> list[str]:
    script = BIN / "mlgit"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "mlgit"]


# A pre-push hook that holds every process's first push until all of them have planned: round one is then a
# race by construction (all read the same remote state, exactly one lease wins), whatever the machine's speed.
# Later rounds run free. A process that exits before its first push counts as arrived (the test marks it), so
# the barrier opens once every process has either planned or stopped: on a slow machine it only takes longer.
# The loop's bound (30 min) is a guard against a hung test, never what opens the barrier.
_BARRIER_HOOK = """#!/bin/sh
passed="$(git rev-parse --absolute-git-dir)/mlgit-barrier-passed"
[ -e "$passed" ] && exit 0
touch "$passed" "$MLGIT_TEST_BARRIER/$$"
i=0
while [ "$(ls "$MLGIT_TEST_BARRIER" | wc -l)" -lt {n} ] && [ $i -lt 36000 ]; do sleep 0.05; i=$((i + 1)); done
exit 0
"""
HANG_GUARD_S = 1800  # only a hung process reaches it: the result never depends on how fast the machine is


def _counted_on_exit(proc: subprocess.Popen[str], barrier: Path) -> threading.Thread:
    """Mark `proc` as arrived at the barrier when it exits (a process that fails before its push must not hold
    the others); one that already passed the barrier adds a mark after it opened, which changes nothing."""

    def wait() -> None:
        proc.wait()
        (barrier / f"exited-{proc.pid}").touch()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread


def _hold_first_push(clone: Path, parties: int) -> None:
    hook = clone / ".git" / "hooks" / "pre-push"
    hook.write_text(_BARRIER_HOOK.format(n=parties))
    hook.chmod(0o755)


def _remote_tags(remote: Path) -> dict[str, dict[str, Any]]:
    fmt = "%(refname:strip=2)%00%(objecttype)%00%(*objectname)%00%(contents)%00%00"
    out = git("for-each-ref", f"--format={fmt}", "refs/tags", cwd=remote)
    tags = {}
    for chunk in out.split("\0\0\n"):
        if chunk:
            name, objtype, commit, message = chunk.split("\0", 3)
            tags[name] = {"type": objtype, "commit": commit, "lineage": json.loads(message.partition("\n\n")[2])}
    return tags


def test_concurrent_promotions_never_share_or_lose_a_version(git_repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    sh("git", "init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=git_repo)
    cfg = git_repo / "mlgit.yaml"
    # The candidates are released from their own branches, which the policy has to allow.
    cfg.write_text(cfg.read_text().replace("    policy:\n", '    policy:\n      release_branches: ["candidate-*"]\n'))
    git("commit", "-q", "-am", "release branches", cwd=git_repo)
    shared = git("rev-parse", "HEAD", cwd=git_repo).strip()
    commits = []
    for i in range(OWN_COMMIT):
        # Small metric differences (within the allowed regression) so bumps depend on who lands first.
        git("checkout", "-q", "-b", f"candidate-{i}", "main", cwd=git_repo)
        accuracy = 0.800 + 0.002 * (i % 5)
        (git_repo / "metrics.json").write_text(json.dumps({"accuracy": accuracy, "loss": 0.4}) + "\n")
        # Each candidate is its own training run: an input unchanged since a release would be nothing to release.
        (git_repo / "params.yaml").write_text(f"train:\n  lr: {0.1 + 0.01 * (i + 1):.2f}\n  depth: 3\n")
        git("commit", "-q", "-am", f"candidate {i}", cwd=git_repo)
        commits.append(git("rev-parse", "HEAD", cwd=git_repo).strip())
    git("push", "-q", "origin", "--all", cwd=git_repo)
    targets = [shared] * SAME_COMMIT + commits
    clones = []
    for n, commit in enumerate(targets):
        clone = tmp_path / f"clone-{n}"
        sh("git", "clone", "-q", "--no-checkout", str(remote), str(clone), cwd=tmp_path)
        git("checkout", "-q", "--detach", commit, cwd=clone)
        _hold_first_push(clone, len(targets))
        clones.append(clone)
    barrier = tmp_path / "barrier"
    barrier.mkdir()

    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "MLGIT_TEST_BARRIER": str(barrier)}
    cmd = [*_cli(), "promote", "--push", "--json"]
    procs = [
        subprocess.Popen(cmd, cwd=c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in clones
    ]
    watchers = [_counted_on_exit(proc, barrier) for proc in procs]
    results = []
    for proc, commit, clone in zip(procs, targets, clones, strict=True):
        out, err = proc.communicate(timeout=HANG_GUARD_S)
        results.append((proc.returncode, out, err, commit, clone))
    for thread in watchers:
        thread.join()

    tags = _remote_tags(remote)
    assert tags, "no release reached the remote"
    assert all(t["type"] == "tag" for t in tags.values()), "every release tag is annotated"
    by_commit = {t["commit"] for t in tags.values()}
    assert len(by_commit) == len(tags), "one version per commit"

    released, already, gave_up = [], [], []
    for code, out, err, commit, clone in results:
        assert "Traceback" not in err
        if code == 2:
            assert "gave up after" in err, err  # failed clearly, and left nothing behind
            assert set(git("tag", "--list", cwd=clone).split()) <= set(tags)
            gave_up.append(commit)
            continue
        assert code == 0, f"exit {code}\n{out}\n{err}"
        doc = json.loads(out)
        assert doc["tag"] in tags and tags[doc["tag"]]["commit"] == commit
        if doc["status"] == "released":
            assert doc["pushed_to"] == "origin"
            released.append(doc["tag"])
        else:
            assert doc["status"] == "already-released", doc
            already.append(doc["tag"])
    assert sorted(released) == sorted(tags), "every tag on the remote was released by exactly one process"
    # The processes really raced (the barrier makes all but one lose round one) and re-planned; and since a
    # push is refused only when another process's push landed in between, several distinct commits got through.
    retried = [out for code, out, _err, _c, _cl in results if code == 0 and "meanwhile" in out]
    assert retried, "no process lost a race: the test did not exercise one"
    assert len({tags[t]["commit"] for t in released}) >= 3, f"only {len(released)} releases; gave up: {len(gave_up)}"
    assert set(already) <= set(released)
    same = [tag for tag in released if tags[tag]["commit"] == shared]
    assert len(same) <= 1, "a commit is released once, however many processes promote it"

    # A linear history: each release's baseline is the release just before it, and the bump fits the metrics.
    chain = sorted(tags, key=lambda t: Version.parse(t.partition("@")[2]) or Version(0, 0, 0))
    previous: str | None = None
    for tag in chain:
        lineage = tags[tag]["lineage"]
        version = Version.parse(lineage["version"])
        assert version is not None
        if previous is None:
            assert lineage["version"] == "v0.1.0"
            # Before any release, main's own commit is a first release; a candidate off main meets its merge-base.
            if tags[tag]["commit"] == shared:
                assert lineage["baseline"]["kind"] == "none"
            else:
                assert lineage["baseline"]["kind"] == "branch" and lineage["baseline"]["commit"] == shared
        else:
            before = tags[previous]["lineage"]
            assert lineage["baseline"]["version"] == before["version"], f"{tag} was gated against a stale release"
            improved = lineage["metrics"]["metrics.json:accuracy"] > before["metrics"]["metrics.json:accuracy"]
            expected = Version.parse(before["version"])
            assert expected is not None and version == expected.bump(Bump.MINOR if improved else Bump.PATCH)
        previous = tag

    fresh = tmp_path / "fresh"
    sh("git", "clone", "-q", str(remote), str(fresh), cwd=tmp_path)
    shown = json.loads(sh(str(BIN / "gto"), "show", "--json", cwd=fresh).stdout)
    assert shown["clf"]["version"] == chain[-1].partition("@")[2]
    retries = sum(out.count("re-evaluating against the remote's tags") for _, out, _, _, _ in results)
    print(f"{len(released)} released, {len(already)} already released, {len(gave_up)} gave up, {retries} retries")
