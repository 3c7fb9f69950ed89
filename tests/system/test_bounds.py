"""Hostile input exits 2 naming the file (and line) within fixed bounds: never a hang, a crash or exit 3.

Issue 12: alias bombs, self-references, bad tagged values, huge integers, deep nesting, duplicate keys,
devices, pipes and links out of the repository. Every bound is a count, so nothing here is timed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlgit.system import files, yamlsource
from testing.repos import commit_all, git, tree_digest


def _bomb(levels: int) -> str:
    """An alias bomb: each level repeats the one before 9 times (9**levels values once expanded)."""
    lines = ["b0: &b0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 9)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def _diff(git_repo: Path, mlgit) -> object:
    return mlgit(git_repo, "metrics", "diff")


def test_alias_bomb_in_mlgit_yaml_is_refused_by_count(git_repo: Path, mlgit) -> None:
    cfg = git_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text() + "x-bomb:\n" + "".join(f"  {line}\n" for line in _bomb(9).splitlines()))
    r = _diff(git_repo, mlgit)
    assert r.code == 2, r.err
    assert "mlgit.yaml:" in r.err and f"more than {yamlsource.MAX_NODES:,} values" in r.err


def test_self_referencing_alias_in_mlgit_yaml_exits_2(git_repo: Path, mlgit) -> None:
    cfg = git_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text() + "x: &x [*x]\n")
    line = len(cfg.read_text().splitlines())
    r = _diff(git_repo, mlgit)
    assert r.code == 2, r.err
    assert f"mlgit.yaml:{line}: refused: the alias *x refers to a value that contains it" in r.err


def test_bad_tagged_float_in_mlgit_yaml_names_the_line(git_repo: Path, mlgit) -> None:
    cfg = git_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("min: 0.5", "min: !!float 'abc'"))
    line = next(i for i, t in enumerate(cfg.read_text().splitlines(), 1) if "abc" in t)
    r = _diff(git_repo, mlgit)
    assert r.code == 2, r.err
    assert f"mlgit.yaml:{line}: invalid YAML: bad float value 'abc'" in r.err


def test_deep_nesting_in_mlgit_yaml_exits_2(git_repo: Path, mlgit) -> None:
    cfg = git_repo / "mlgit.yaml"
    depth = yamlsource.MAX_DEPTH + 1
    cfg.write_text(cfg.read_text() + "x: " + "[" * depth + "]" * depth + "\n")
    r = _diff(git_repo, mlgit)
    assert r.code == 2 and f"nested deeper than {yamlsource.MAX_DEPTH} levels" in r.err


def test_alias_bomb_in_params_yaml_exits_2(git_repo: Path, mlgit) -> None:
    (git_repo / "params.yaml").write_text(_bomb(9))
    r = _diff(git_repo, mlgit)
    assert r.code == 2, r.err
    assert "params.yaml:" in r.err and "refused" in r.err


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("metrics.json", '{"accuracy": ' + "9" * 5000 + "}\n"),
        ("params.yaml", "train:\n  lr: " + "9" * 5000 + "\n"),
    ],
)
def test_a_5000_digit_integer_exits_2(git_repo: Path, mlgit, name: str, text: str) -> None:
    (git_repo / name).write_text(text)
    r = _diff(git_repo, mlgit)
    assert r.code == 2, r.err
    assert name in r.err and "digits" in r.err


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("metrics.json", '{\n  "loss": 0.4,\n  "accuracy": ' + "9" * 5000 + "\n}\n", "metrics.json:3: accuracy:"),
        ("params.toml", "[train]\ndepth = 3\nlr = " + "9" * 5000 + "\n", "params.toml:3: train.lr:"),
        ("metrics.toml", "accuracy = " + "9" * 5000 + "\n", "metrics.toml:1: accuracy:"),
    ],
)
def test_an_integer_past_4300_digits_names_the_file_line_and_key(
    git_repo: Path, mlgit, name: str, text: str, where: str
) -> None:
    # Past Python's own 4,300-digit limit the parser (tomllib) says neither where nor which key.
    cfg = git_repo / "mlgit.yaml"
    kind = "metrics" if name.startswith("metrics") else "params"
    cfg.write_text(
        cfg.read_text().replace(f"{kind}: [{kind}.{'json' if kind == 'metrics' else 'yaml'}]", f"{kind}: [{name}]")
    )
    (git_repo / name).write_text(text)
    r = _diff(git_repo, mlgit)
    assert r.code == 2, r.err
    assert where in r.err and "refused: an integer with" in r.err, r.err
    assert "Traceback" not in r.err


def test_a_5000_digit_integer_in_pyproject_toml_exits_2(git_repo: Path, mlgit) -> None:
    # `ci generate` reads pyproject.toml to decide whether to install the project.
    (git_repo / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.x]\nn = ' + "9" * 5000 + "\n")
    r = mlgit(git_repo, "ci", "generate")
    assert r.code == 2, r.err
    assert "pyproject.toml:5: tool.x.n: refused: an integer with more than 100 digits" in r.err


def test_json_nested_100000_deep_exits_2(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    r = _diff(git_repo, mlgit)
    assert r.code == 2, r.err
    assert "metrics.json" in r.err and "nested deeper" in r.err


def test_duplicate_key_in_metrics_json_is_refused(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").write_text('{"accuracy": 0.1, "accuracy": 0.99}\n')
    r = _diff(git_repo, mlgit)
    assert r.code == 2
    assert "metrics.json" in r.err and "duplicate key 'accuracy'" in r.err


def test_metrics_linked_to_a_device_is_refused_without_reading_it(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").unlink()
    (git_repo / "metrics.json").symlink_to("/dev/zero")
    r = _diff(git_repo, mlgit)
    assert r.code == 2
    assert "metrics.json: not a regular file" in r.err


def test_config_that_is_a_pipe_is_refused_without_blocking(git_repo: Path, mlgit) -> None:
    (git_repo / "mlgit.yaml").unlink()
    os.mkfifo(git_repo / "mlgit.yaml")
    r = _diff(git_repo, mlgit)
    assert r.code == 2 and "mlgit.yaml: not a regular file" in r.err


def test_metrics_linked_out_of_the_repository_are_not_printed(git_repo: Path, tmp_path: Path, mlgit) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"accuracy": 0.123456789}\n')
    (git_repo / "metrics.json").unlink()
    (git_repo / "metrics.json").symlink_to(secret)
    r = _diff(git_repo, mlgit)
    assert r.code == 2
    assert "metrics.json: a link out of the repository" in r.err
    assert "0.123456789" not in r.out + r.err


def test_metrics_linked_into_the_dvc_cache_are_read(git_repo: Path, mlgit) -> None:
    # DVC's symlink cache type: the work tree file is a link to .dvc/cache/files/md5/...
    blob = git_repo / ".dvc" / "cache" / "files" / "md5" / "ab" / "cdef"
    blob.parent.mkdir(parents=True)
    blob.write_text('{"accuracy": 0.91, "loss": 0.40}\n')
    (git_repo / "metrics.json").unlink()
    (git_repo / "metrics.json").symlink_to(blob)
    r = mlgit(git_repo, "metrics", "diff", "--json")
    assert r.code == 0, r.err
    assert '"new": 0.91' in r.out


def test_oversized_metrics_file_is_refused(git_repo: Path, mlgit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(files, "MAX_VALUES_BYTES", 64)
    (git_repo / "metrics.json").write_text('{"accuracy": 0.8, "loss": 0.4, "pad": "' + "x" * 64 + '"}\n')
    r = _diff(git_repo, mlgit)
    assert r.code == 2
    assert "metrics.json:" in r.err and "at most 64 bytes" in r.err


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("metrics: [metrics.json]", "metrics: [{long}.json]", "models.clf.metrics"),
        ("path: model.pkl", "path: {long}.pkl", "models.clf.path"),
        ("path: data/table.csv", "path: {long}.csv", "datasets.table.path"),
    ],
)
def test_a_5000_character_path_is_a_config_error(git_repo: Path, mlgit, old: str, new: str, key: str) -> None:
    cfg = git_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace(old, new.format(long="p" * 5000)))
    line = next(i for i, t in enumerate(cfg.read_text().splitlines(), 1) if "ppp" in t)
    for args in (("metrics", "diff"), ("check",), ("schema", "infer")):
        r = mlgit(git_repo, *args)
        assert r.code == 2, (args, r.err)
        assert f"mlgit.yaml:{line}: {key}: a path of 5,00" in r.err and "characters; at most 1,024" in r.err


def test_promote_and_check_refuse_a_committed_link_to_a_device(example_repo: Path, mlgit) -> None:
    # `dvc status` would hash /dev/zero without end: mlgit refuses before it starts DVC.
    git("checkout", "-q", "-b", "feature", cwd=example_repo)
    (example_repo / "metrics.json").unlink()
    (example_repo / "metrics.json").symlink_to("/dev/zero")
    commit_all(example_repo, "metrics -> /dev/zero")
    for args in (("promote", "--dry-run"), ("check", "model")):
        r = mlgit(example_repo, *args)
        assert r.code == 2, (args, r.err)
        assert "metrics.json: not a regular file" in r.err, args


def test_a_committed_link_is_named_as_such_when_read_from_git(git_repo: Path, mlgit) -> None:
    (git_repo / "metrics.json").unlink()
    (git_repo / "metrics.json").symlink_to("/dev/zero")
    commit_all(git_repo, "metrics -> /dev/zero")
    r = mlgit(git_repo, "promote", "--dry-run")
    assert r.code == 2
    assert "metrics.json (at commit" in r.err and "a symbolic link in git (to '/dev/zero')" in r.err


@pytest.mark.parametrize("target", ["/dev/zero", "../outside.csv"])
def test_a_committed_data_file_link_to_a_device_or_outside_is_refused(
    git_repo: Path, tmp_path: Path, mlgit, target: str
) -> None:
    (git_repo.parent / "outside.csv").write_text("id,x,label\n1,0.5,0\n")
    (git_repo / "data/table.csv").unlink()
    (git_repo / "data/table.csv").symlink_to(target if target.startswith("/") else "../" + target)
    commit_all(git_repo, f"data -> {target}")
    before = tree_digest(git_repo)
    r = mlgit(git_repo, "check", "data")
    assert r.code == 2, (r.out, r.err)
    assert "data/table.csv" in r.err, r.err
    assert tree_digest(git_repo) == before


def test_a_5000_digit_integer_in_mlgit_yaml_exits_2(git_repo: Path, mlgit) -> None:
    cfg = git_repo / "mlgit.yaml"
    cfg.write_text(cfg.read_text().replace("min: 0.5", "min: " + "9" * 5000))
    before = tree_digest(git_repo)
    r = _diff(git_repo, mlgit)
    assert r.code == 2, r.err
    assert "mlgit.yaml" in r.err and "digits" in r.err
    assert tree_digest(git_repo) == before
