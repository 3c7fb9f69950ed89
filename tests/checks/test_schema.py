"""`mlgit check schema`: schema files and the data's columns against the base, breaking vs compatible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgit.checks import schema as schemadiff
from mlgit.config import settings as config
from mlgit.data import schema as schemas
from mlgit.repo.state import RepoState
from testing.datarepo import csv_text, make_repo, rows
from testing.repos import commit_all, git

SCHEMA = "schemas/t.schema.yaml"


@pytest.fixture
def repo(tmp_path: Path, mlgit) -> Path:
    """main has data, schema and profile; HEAD is a branch `change` off it."""
    r = make_repo(tmp_path, {"data/t.csv": csv_text(rows())})
    assert mlgit(r, "schema", "infer").code == 0
    commit_all(r, "schema")
    git("checkout", "-q", "-b", "change", cwd=r)
    return r


def edit(repo: Path, old: str, new: str) -> None:
    path = repo / SCHEMA
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def result(mlgit, repo: Path, *args: str) -> tuple[int, dict[str, dict[str, object]]]:
    res = mlgit(repo, "check", "schema", "--json", *args)
    assert "Traceback" not in res.err, res.err
    doc = json.loads(res.out)
    return res.code, {f"{f['code']} {f['column']}": f for f in doc["findings"]}


def drop_cat(repo: Path) -> None:
    """Remove column `cat` from both the data and the schema file."""
    (repo / "data/t.csv").write_text(csv_text([[*r[:3], r[4]] for r in rows()], "id,x,y,label"))
    text = (repo / SCHEMA).read_text()
    start = text.index("  cat:\n")
    end = text.index("  label:\n")
    (repo / SCHEMA).write_text(text[:start] + text[end:])


def test_no_changes_no_findings(repo: Path, mlgit) -> None:
    code, found = result(mlgit, repo)
    assert code == 0 and found == {}
    text = mlgit(repo, "check", "schema")
    assert "Schema changes vs main (merge-base" in text.out and "no changes" in text.out


def test_removed_column_is_breaking_and_names_the_acceptance(repo: Path, mlgit) -> None:
    drop_cat(repo)
    code, found = result(mlgit, repo)
    assert code == 1
    f = found["schema.column-removed cat"]
    assert f["severity"] == "error" and f["file"] == SCHEMA and isinstance(f["line"], int)
    assert f["data"]["breaking"] is True and f["data"]["sources"] == ["data", "schema"]
    assert "accepted_breaking: [{change: column-removed, column: cat, reason: ...}]" in str(f["message"])


def test_acceptance_added_by_the_same_change_accepts_it(repo: Path, mlgit) -> None:
    drop_cat(repo)
    edit(repo, "accepted_breaking: []", "accepted_breaking:\n  - {change: column-removed, column: cat, reason: unused}")
    code, found = result(mlgit, repo)
    assert code == 0
    f = found["schema.column-removed cat"]
    assert f["severity"] == "info" and f["data"]["accepted"] is True and f["data"]["reason"] == "unused"
    assert f["line"] == (repo / SCHEMA).read_text().splitlines().index("accepted_breaking:") + 2


def test_an_acceptance_already_at_the_base_accepts_nothing_new(repo: Path, mlgit) -> None:
    edit(repo, "accepted_breaking: []", "accepted_breaking:\n  - {change: column-removed, column: cat, reason: old}")
    commit_all(repo, "an old acceptance")
    git("checkout", "-q", "main", cwd=repo)
    git("merge", "-q", "change", cwd=repo)
    git("checkout", "-q", "-b", "later", cwd=repo)
    drop_cat(repo)
    code, found = result(mlgit, repo)
    assert code == 1
    assert "an acceptance only counts in the change that adds it" in str(found["schema.column-removed cat"]["message"])


def test_data_dropping_a_column_the_schema_still_declares(repo: Path, mlgit) -> None:
    (repo / "data/t.csv").write_text(csv_text([[*r[:3], r[4]] for r in rows()], "id,x,y,label"))
    edit(repo, "accepted_breaking: []", "accepted_breaking:\n  - {change: column-removed, column: cat, reason: gone}")
    code, found = result(mlgit, repo)
    assert code == 1
    f = found["schema.column-removed cat"]
    assert f["data"]["sources"] == ["data"]
    assert "still declares cat: remove it there too" in str(f["message"])


@pytest.mark.parametrize(
    ("old", "new", "code", "breaking"),
    [
        ('  "y":\n    type: float\n', '  "y":\n    type: int\n', "schema.type-changed y", True),
        ("  label:\n    type: int\n", "  label:\n    type: float\n", "schema.type-widened label", False),
        ('values: ["a", "b", "c"]', 'values: ["a", "b"]', "schema.values-removed cat", True),
        ('values: ["a", "b", "c"]', 'values: ["a", "b", "c", "d"]', "schema.values-added cat", False),
        (
            "  x:\n    type: float\n    nullable: false\n",
            "  x:\n    type: float\n    nullable: true\n",
            "schema.nulls-allowed x",
            True,
        ),
        ("    unique: true\n", "", "schema.unique-dropped id", True),
    ],
    ids=["type-changed", "int-to-float", "values-removed", "values-added", "nulls-allowed", "unique-dropped"],
)
def test_each_kind_of_change_is_classified(repo: Path, mlgit, old: str, new: str, code: str, breaking: bool) -> None:
    edit(repo, old, new)
    exit_code, found = result(mlgit, repo)
    f = found[code]
    assert f["data"]["breaking"] is breaking
    assert f["severity"] == ("error" if breaking else "info")
    assert exit_code == (1 if breaking else 0)


def test_added_column_and_widened_range_are_compatible(repo: Path, mlgit) -> None:
    (repo / "data/t.csv").write_text(csv_text([[*r, "1"] for r in rows()], "id,x,y,cat,label,extra"))
    text = (repo / SCHEMA).read_text()
    lines = text.splitlines(keepends=True)
    i = lines.index("  x:\n")
    lines[i + 3] = "    min: -100.0\n"
    (repo / SCHEMA).write_text("".join(lines).replace("columns:\n", "columns:\n  extra:\n    type: int\n", 1))
    code, found = result(mlgit, repo)
    assert code == 0
    assert found["schema.column-added extra"]["severity"] == "info"
    assert found["schema.range-widened x"]["data"]["detail"].startswith("[0.0, ")


def test_an_unused_acceptance_is_a_warning(repo: Path, mlgit) -> None:
    edit(repo, "accepted_breaking: []", "accepted_breaking:\n  - {change: type-changed, column: x, reason: nothing}")
    code, found = result(mlgit, repo)
    assert code == 0
    assert found["schema.acceptance-unused None"]["severity"] == "warning"


def test_a_deleted_schema_file_and_an_explicit_base(repo: Path, mlgit) -> None:
    (repo / SCHEMA).unlink()
    code, found = result(mlgit, repo, "--base", "main")
    assert code == 1 and found["schema.missing None"]["severity"] == "error"
    assert mlgit(repo, "check", "schema", "--base", "nope").code == 2


def test_schema_findings_api_defaults_to_the_merge_base(repo: Path) -> None:
    drop_cat(repo)
    commit_all(repo, "drop cat")
    cfg = config.load(repo)
    found = schemadiff.schema_findings(RepoState(repo, cfg.ci.default_branch), cfg)
    assert [(f.code, f.severity) for f in found] == [("schema.column-removed", "error")]
    assert "main (merge-base" in str(found[0].data["base"])


def test_diff_of_two_schemas_directly() -> None:
    old = schemas.Schema((schemas.Column("a", "int", min=0, max=10), schemas.Column("b", "string")))
    new = schemas.Schema((schemas.Column("a", "int", min=2, max=20),))
    kinds = {(c.kind, c.column): c.breaking for c in schemadiff.diff(old, new)}
    assert kinds == {
        ("column-removed", "b"): True,
        ("range-widened", "a"): False,
        ("range-narrowed", "a"): False,
    }
