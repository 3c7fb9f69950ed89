"""The code catalogue: one declaration per code, the README's table generated from it, unknown codes refused."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from mlgit.results.codes import MEANING, Code, markdown_table
from mlgit.results.finding import Finding, Severity

ROOT = Path(__file__).resolve().parents[2]


def test_every_code_has_a_meaning_and_a_family() -> None:
    assert set(MEANING) == set(Code)
    families = {"data", "schema", "model", "package", "pipeline", "report", "check", "monitor", "repro"}
    assert {c.family for c in Code} <= families
    assert len({c.value for c in Code}) == len(Code)


def test_the_readme_table_is_the_generated_one() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index("<!-- codes:start -->\n"), readme.index("<!-- codes:end -->")
    assert readme[start + len("<!-- codes:start -->\n") : end] == markdown_table()


def test_a_code_outside_the_catalogue_is_refused() -> None:
    with pytest.raises(ValueError, match=r"data\.no-such-code"):
        Finding(code="data.no-such-code", severity=Severity.ERROR, subject="t", message="m")  # type: ignore[arg-type]  # text on purpose
    f = Finding(code="data.nulls", severity="warning", subject="t", message="m")  # type: ignore[arg-type]  # text on purpose
    assert f.code is Code.DATA_NULLS and f.severity is Severity.WARNING


def test_findings_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Finding(Code.DATA_NULLS, Severity.ERROR, "t", "m")  # type: ignore[misc]  # positional on purpose


def test_no_code_is_written_as_text_in_the_package() -> None:
    # Codes come from the catalogue (`Code.X`), so a typo is a name error, not a new code nobody documented.
    values = {c.value for c in Code}
    found = []
    for path in (ROOT / "mlgit").rglob("*.py"):
        if path.name == "codes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in values:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    assert found == []
