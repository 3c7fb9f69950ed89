"""The registry read from git tags: GTO's grammar, `mlgit registry` and `mlgit history`, and their speed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.registry import agree, build_repo
from mlgit.registry import tags as registry
from mlgit.repo import git as gitcalls
from testing.repos import BIN, REPO_ROOT, commit_all, git, sh

GTO_NAMES = [
    "clf@v1.2.3",
    "clf@v1.2.3!",
    "clf@v1.2.3#4",
    "clf@v1.2.3-rc.1+build.5",
    "clf#prod",
    "clf#prod#7",
    "clf#prod!",
    "clf#prod!#8",
    "clf@deprecated",
    "clf@deprecated#9",
    "models/cv=detector@v0.1.0",
    "models/cv=detector#staging#2",
    "a/b_c-d@v0.0.1",
    "clf@1.2.3",  # no leading v
    "clf@v1.2",  # not semver
    "clf#",
    "-clf@v1.0.0",
    "clf@v1.0.0!!",
    "clf#pr od#1",
    "release-2024",
    "clf@latest",
]


@pytest.mark.parametrize("name", GTO_NAMES)
def test_tag_grammar_matches_gto(name: str) -> None:
    from gto.tag import parse_name

    theirs = parse_name(name, raise_on_fail=False)
    event = registry.parse(gitcalls.TagRecord(name, True, "0" * 40, "", "", ""))
    if not theirs:
        assert event is None
        return
    assert event is not None
    assert registry.display_name(event.artifact) == theirs["name"]
    assert (
        event.kind
        == {
            "register": "registration",
            "deregister": "deregistration",
            "assign": "assignment",
            "unassign": "unassignment",
            "deprecate": "deprecation",
        }[theirs["action"].value]
    )
    assert (str(event.version) if event.version else None) == theirs.get("version")
    assert event.stage == theirs.get("stage")
    assert event.counter == theirs.get("counter")


def _metrics(repo: Path, accuracy: float) -> None:
    (repo / "metrics.json").write_text(json.dumps({"accuracy": accuracy, "loss": 0.4}) + "\n")


def _released(repo: Path, mlgit) -> str:
    assert mlgit(repo, "promote").code == 0
    _metrics(repo, 0.9)
    second = commit_all(repo, "better")
    assert mlgit(repo, "promote").code == 0
    assert mlgit(repo, "assign", "clf", "staging").code == 0
    assert mlgit(repo, "assign", "clf", "prod", "--version", "v0.1.0").code == 0
    return second


def test_registry_lists_models_versions_stages_and_key_metrics(git_repo: Path, mlgit) -> None:
    second = _released(git_repo, mlgit)
    r = mlgit(git_repo, "registry")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[1].split() == ["Model", "Latest", "staging", "prod", "Released", "Commit", "Key", "metrics"]
    assert (
        lines[2].split()
        == [
            "clf",
            "v0.2.0",
            "v0.2.0",
            "v0.1.0",
            "2026-01-01",
            "00:00:01",  # promote dates a release after the model's previous event, as every registry write
            second[:8],
            "accuracy=0.9",
            "loss=0.4",
        ]
    )
    r = mlgit(git_repo, "registry", "clf")
    assert r.code == 0
    assert r.out.splitlines()[0] == "clf: staging v0.2.0, prod v0.1.0"
    assert r.out.splitlines()[2].split()[:2] == ["v0.2.0", "staging"]
    assert r.out.splitlines()[3].split()[:2] == ["v0.1.0", "prod"]


def test_registry_json(git_repo: Path, mlgit) -> None:
    second = _released(git_repo, mlgit)
    doc = json.loads(mlgit(git_repo, "registry", "--json").out)
    assert doc["stages"] == ["staging", "prod"]
    (model,) = doc["models"]
    assert model["name"] == "clf" and model["declared"] is True and model["deprecated"] is False
    assert model["latest"]["version"] == "v0.2.0" and model["latest"]["commit"] == second
    assert model["latest"]["tag"] == "clf@v0.2.0" and model["latest"]["metrics"] == {"accuracy": 0.9, "loss": 0.4}
    assert model["stages"]["prod"]["version"] == "v0.1.0" and model["stages"]["prod"]["tag"] == "clf#prod#2"
    assert [v["version"] for v in model["versions"]] == ["v0.2.0", "v0.1.0"]
    assert model["versions"][1]["stages"] == ["prod"]
    shown = json.loads(sh(str(BIN / "gto"), "show", "--json", cwd=git_repo).stdout)
    assert agree(json.dumps(doc), json.dumps(shown))


def test_registry_without_tags_or_config(git_repo: Path, mlgit, tmp_path: Path) -> None:
    r = mlgit(git_repo, "registry")
    assert r.code == 0 and "no release yet" in r.out
    r = mlgit(git_repo, "registry", "nope")
    assert r.code == 2 and "unknown model 'nope'" in r.err
    bare = tmp_path / "tags-only"
    bare.mkdir()
    git("init", "-q", "-b", "main", cwd=bare)
    git("commit", "-q", "--allow-empty", "-m", "x", cwd=bare)
    git("tag", "-a", "models/cv=detector@v1.0.0", "-m", "released elsewhere", cwd=bare)
    git("tag", "detector@v9.0.0", cwd=bare)  # lightweight: GTO ignores it, so do we
    doc = json.loads(mlgit(bare, "registry", "--json").out)
    assert [(m["name"], m["latest"]["version"], m["latest"]["metrics"]) for m in doc["models"]] == [
        ("models/cv:detector", "v1.0.0", {})
    ]


def test_history_is_the_timeline_newest_first(git_repo: Path, mlgit) -> None:
    second = _released(git_repo, mlgit)
    assert mlgit(git_repo, "rollback", "clf", "staging").code == 2  # only one version there
    r = mlgit(git_repo, "history", "clf")
    assert r.code == 0, r.err
    rows = [line.split() for line in r.out.splitlines()[2:]]
    assert [(row[2], row[3], row[4], row[5]) for row in rows] == [
        ("assignment", "v0.1.0", "prod", "clf#prod#2"),
        ("assignment", "v0.2.0", "staging", "clf#staging#1"),
        ("registration", "v0.2.0", "-", "clf@v0.2.0"),
        ("registration", "v0.1.0", "-", "clf@v0.1.0"),
    ]
    events = json.loads(mlgit(git_repo, "history", "clf", "--json").out)
    assert events[1] == {
        "timestamp": "2026-01-01T00:00:02+00:00",
        "artifact": "clf",
        "event": "assignment",
        "version": "v0.2.0",
        "stage": "staging",
        "commit": second,
        "tag": "clf#staging#1",
        "counter": 1,
        "author": "Test Author",
        "message": "Assign clf v0.2.0 to staging (mlgit)",
    }
    gto = json.loads(sh(str(BIN / "gto"), "history", "clf", "--json", cwd=git_repo).stdout)
    # Every registry write is dated after the one before (the pinned clock notwithstanding): GTO's order is ours.
    assert [(e["event"], e["ref"]) for e in gto][:2] == [(e["event"], e["tag"]) for e in events][:2]
    assert {e["ref"] for e in gto} == {e["tag"] for e in events}
    assert [e["ref"] for e in gto] == [e["tag"] for e in events]


def test_history_of_unknown_or_unreleased_model(git_repo: Path, mlgit) -> None:
    r = mlgit(git_repo, "history", "clf")
    assert r.code == 0 and "clf: no registry events yet" in r.out
    assert json.loads(mlgit(git_repo, "history", "clf", "--json").out) == []
    r = mlgit(git_repo, "history", "nope")
    assert r.code == 2 and "unknown model 'nope'" in r.err


def _cli() -> list[str]:
    script = BIN / "mlgit"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "mlgit"]


def test_listing_1500_tags_reads_git_once(tmp_path: Path) -> None:
    repo = tmp_path / "big"
    kinds = build_repo(repo, 1500)
    assert sum(kinds.values()) == 1500
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    cmd = [*_cli(), "registry", "--json"]
    first = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=True)
    doc = json.loads(first.stdout)
    assert len(doc["models"]) == 5 and sum(len(m["versions"]) for m in doc["models"]) == kinds["registration"]
    # Its cost is one `git for-each-ref` whatever the number of tags: counted by a `git` on PATH that logs
    # each call and runs the real one (a timing would depend on the machine; benchmarks/registry.py times it).
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "git-calls.log"
    real = shutil.which("git")
    (shim / "git").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    (shim / "git").chmod(0o755)
    path = f"{shim}{os.pathsep}{env.get('PATH', '')}"
    subprocess.run(cmd, cwd=repo, env={**env, "PATH": path}, capture_output=True, check=True)
    runs = log.read_text().splitlines()
    assert [r for r in runs if r.startswith("for-each-ref")] == [runs[-1]] and len(runs) <= 3, runs


def test_agrees_with_gto_on_a_generated_registry(tmp_path: Path, mlgit) -> None:
    repo = tmp_path / "gen"
    build_repo(repo, 150)
    ours = mlgit(repo, "registry", "--json").out
    theirs = sh(str(BIN / "gto"), "show", "--json", cwd=repo).stdout
    assert agree(ours, theirs)


def test_registry_in_a_shallow_clone_hints_to_fetch_the_tags(git_repo: Path, mlgit, tmp_path: Path) -> None:
    (git_repo / "metrics.json").write_text('{"accuracy": 0.9, "loss": 0.3}\n')
    commit_all(git_repo, "second commit, so that depth 1 cuts history")
    clone = tmp_path / "shallow"
    sh("git", "clone", "-q", "--depth", "1", "--no-tags", f"file://{git_repo}", str(clone), cwd=tmp_path)
    r = mlgit(clone, "registry")
    assert r.code == 0 and "no release yet" in r.out
    assert "shallow clone" in r.err and "git fetch --tags" in r.err
    # Every registry command that finds no release there says the same.
    r = mlgit(clone, "history", "clf")
    assert r.code == 0 and "no registry events yet" in r.out and "git fetch --tags" in r.err
    r = mlgit(clone, "assign", "clf", "prod")
    assert r.code == 2 and "clf has no release yet" in r.err and "shallow clone" in r.err
    assert "git fetch --tags" in r.err
    r = mlgit(git_repo, "registry")
    assert r.code == 0 and "shallow" not in r.err
    r = mlgit(git_repo, "assign", "clf", "prod")
    assert r.code == 2 and "release it first: mlgit promote clf" in r.err and "shallow" not in r.err


def test_promote_in_a_shallow_clone_without_tags_refuses_to_guess_a_first_release(
    git_repo: Path, mlgit, tmp_path: Path
) -> None:
    assert mlgit(git_repo, "promote").code == 0
    (git_repo / "metrics.json").write_text('{"accuracy": 0.9, "loss": 0.3}\n')
    commit_all(git_repo, "better")
    clone = tmp_path / "shallow"
    sh("git", "clone", "-q", "--depth", "1", "--no-tags", f"file://{git_repo}", str(clone), cwd=tmp_path)
    for args in (("promote",), ("promote", "--dry-run"), ("promote", "--json")):
        r = mlgit(clone, *args)
        assert r.code == 2, (args, r.out, r.err)
        assert "shallow clone has no registry tags of clf" in r.err and "git fetch --tags" in r.err, (args, r.err)
        assert "first release" not in r.out, (args, r.out)
    assert sh("git", "tag", "--list", cwd=clone).stdout == ""
    # With the tags the clone reaches, registry and history list them and still say the list may be partial.
    sh("git", "fetch", "-q", "--tags", cwd=clone)
    for args in (("registry",), ("history", "clf")):
        r = mlgit(clone, *args)
        assert r.code == 0 and "v0.1.0" in r.out, (args, r.out)
        assert "shallow clone" in r.err and "git fetch --tags" in r.err, (args, r.err)
    r = mlgit(git_repo, "history", "clf")
    assert r.code == 0 and "shallow" not in r.err
