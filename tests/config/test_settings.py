"""mlgit.yaml validation: every error names the file, line and key path, and exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.repos import METRICS_YAML, commit_all


def _write(repo: Path, text: str) -> None:
    (repo / "mlgit.yaml").write_text(text)


def test_bad_yaml_names_line(git_repo: Path, mlgit) -> None:
    _write(git_repo, "version: 1\nmodels:\n  clf: [unclosed\n")
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2
    assert "mlgit.yaml:" in r.err and "invalid YAML" in r.err
    assert "Traceback" not in r.err


def test_unknown_key_names_path_and_line(git_repo: Path, mlgit) -> None:
    _write(git_repo, METRICS_YAML.replace("          min: 0.5\n", "          min: 0.5\n          minimum: 3\n"))
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2
    line = METRICS_YAML.splitlines().index("          min: 0.5") + 2
    assert f"mlgit.yaml:{line}: models.clf.policy.gates.accuracy.minimum: unknown key" in r.err


def test_a_key_typo_names_the_closest_key(git_repo: Path, mlgit) -> None:
    text = METRICS_YAML.replace("          max_regression: 0.01\n", "          max_regresion: 0.01\n")
    text = text.replace("ci:\n", "registy:\n  stages: [prod]\nci:\n").replace("    policy:\n", "    polcy: {}\n    policy:\n")
    _write(git_repo, text)
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2 and "Traceback" not in r.err
    line = text.splitlines().index("          max_regresion: 0.01") + 1
    assert (
        f"mlgit.yaml:{line}: models.clf.policy.gates.accuracy.max_regresion: unknown key; did you mean "
        "'max_regression'?" in r.err
    )
    assert "registy: unknown key; did you mean 'registry'?" in r.err
    assert "models.clf.polcy: unknown key; did you mean 'policy'?" in r.err
    # Nothing close: no guess.
    _write(git_repo, METRICS_YAML.replace("          min: 0.5\n", "          min: 0.5\n          colour: blue\n"))
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2 and "accuracy.colour: unknown key (see" in r.err and "did you mean" not in r.err


def test_wrong_type_names_key(git_repo: Path, mlgit) -> None:
    _write(git_repo, METRICS_YAML.replace("direction: higher", "direction: up"))
    r = mlgit(git_repo, "metrics", "diff")
    assert r.code == 2
    assert "models.clf.policy.gates.accuracy.direction" in r.err
    assert "'higher' or 'lower'" in r.err


def test_several_errors_reported_at_once(git_repo: Path, mlgit) -> None:
    text = METRICS_YAML.replace("direction: higher", "direction: up").replace("path: model.pkl", "path: /abs/model.pkl")
    _write(git_repo, text)
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2
    assert "models.clf.policy.gates.accuracy.direction" in r.err
    assert "models.clf.path" in r.err and "relative" in r.err


@pytest.mark.parametrize("text", ["", "\n# only a comment\n"])
def test_empty_file(git_repo: Path, mlgit, text: str) -> None:
    _write(git_repo, text)
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2
    assert "mlgit.yaml is empty" in r.err


def test_top_level_list(git_repo: Path, mlgit) -> None:
    _write(git_repo, "- a\n- b\n")
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2 and "top level must be a mapping" in r.err


def test_invalid_model_name(git_repo: Path, mlgit) -> None:
    _write(git_repo, METRICS_YAML.replace("  clf:\n", "  -clf:\n"))
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2 and "not a valid artifact name" in r.err


def test_missing_config_hints_init(git_repo: Path, mlgit) -> None:
    (git_repo / "mlgit.yaml").unlink()
    commit_all(git_repo, "drop config")
    r = mlgit(git_repo, "promote")
    assert r.code == 2
    assert "no mlgit.yaml" in r.err and "mlgit init" in r.err


def test_edited_config_is_revalidated(git_repo: Path, mlgit) -> None:
    assert mlgit(git_repo, "promote", "--dry-run").code == 0
    _write(git_repo, METRICS_YAML.replace("direction: lower", "direction: sideways"))
    r = mlgit(git_repo, "promote", "--dry-run", "--allow-dirty")
    assert r.code == 2 and "models.clf.policy.gates.loss.direction" in r.err


def test_min_greater_than_max(git_repo: Path, mlgit) -> None:
    _write(git_repo, METRICS_YAML.replace("          min: 0.5\n", "          min: 0.5\n          max: 0.1\n"))
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2 and "min (0.5) is greater than max (0.1)" in r.err


def test_unknown_dataset_reference_names_its_line(git_repo: Path, mlgit) -> None:
    text = METRICS_YAML.replace("    params: [params.yaml]\n", "    params: [params.yaml]\n    datasets: [tabel]\n")
    _write(git_repo, text)
    r = mlgit(git_repo, "promote", "--allow-dirty")
    assert r.code == 2
    line = text.splitlines().index("    datasets: [tabel]") + 1
    assert f"mlgit.yaml:{line}: models.clf.datasets: names unknown dataset 'tabel' (declared: table)" in r.err


def test_duplicate_keys_are_rejected(git_repo: Path, mlgit) -> None:
    text = METRICS_YAML.replace(
        "        loss:\n          direction: lower\n",
        "        loss:\n          direction: lower\n        accuracy:\n          direction: lower\n",
    )
    _write(git_repo, text)
    r = mlgit(git_repo, "metrics", "diff")
    assert r.code == 2
    line = len(text.split("        accuracy:\n          direction: lower")[0].splitlines()) + 1
    assert f"mlgit.yaml:{line}: models.clf.policy.gates.accuracy: duplicate key" in r.err


def test_missing_directory_for_dash_c(tmp_path: Path, mlgit) -> None:
    r = mlgit(tmp_path / "nope", "registry")
    assert r.code == 2 and "no such directory" in r.err and "git" not in r.err.split("\n")[0].split(":")[0]


@pytest.mark.parametrize("name", ["a..b", "main^", "-main", "feature/", "x.lock", "re lease", "a@{1}"])
def test_a_default_branch_that_is_no_branch_name_is_refused(git_repo: Path, mlgit, name: str) -> None:
    # `a..b` would be read as a range wherever the name goes into a revision: a change judged against no branch.
    _write(git_repo, METRICS_YAML.replace("  default_branch: main\n", f"  default_branch: {name!r}\n"))
    for cmd in (("check",), ("promote", "--allow-dirty", "--dry-run")):
        r = mlgit(git_repo, *cmd)
        assert r.code == 2 and "Traceback" not in r.err, (cmd, r.err)
        assert "ci.default_branch" in r.err and "not a valid git branch name" in r.err, r.err


def test_a_default_branch_with_slashes_is_accepted(git_repo: Path, mlgit) -> None:
    _write(git_repo, METRICS_YAML.replace("  default_branch: main\n", "  default_branch: release/v2.x\n"))
    r = mlgit(git_repo, "promote", "--allow-dirty", "--dry-run")
    assert "ci.default_branch" not in r.err, r.err
