"""The schema file format: validation errors with file:line, and deterministic text that reads back the same."""

from __future__ import annotations

import pytest

from mlgit.data import schema as schemas
from mlgit.errors import MlgitError

VALID = b"""\
version: 1
dataset: t
rows: {min: 1, max: 10}
columns:
  id: {type: int, nullable: false, unique: true}
  when: {type: date, min: 2026-01-01}
  name: {type: string, regex: "^[a-z]+$", description: lower-case}
accepted_breaking:
  - {change: column-removed, column: old, reason: nobody reads it}
"""


def test_parse_a_valid_file_with_lines() -> None:
    s = schemas.parse(VALID, "schemas/t.schema.yaml")
    assert s.names == ("id", "when", "name") and (s.rows_min, s.rows_max) == (1, 10)
    assert s.column("when") == schemas.Column("when", "date", min="2026-01-01")  # YAML dates kept as ISO text
    assert s.line("columns", "name", "regex") == 7 and s.line("columns", "nope") == 4
    (acc,) = s.accepted
    assert (acc.change, acc.column, acc.line) == ("column-removed", "old", 9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"version: 1\ncolumns:\n  a: {type: int, colour: red}\n", "t.yaml:3: columns.a.colour: unknown key"),
        (
            b"version: 1\ncolumns:\n  a: {type: int, nullabel: true}\n",
            "t.yaml:3: columns.a.nullabel: unknown key; did you mean 'nullable'?",
        ),
        (b"version: 1\nrow: {min: 1}\ncolumns: {}\n", "t.yaml:2: row: unknown key; did you mean 'rows'?"),
        (b"version: 1\ncolumns:\n  a: {type: number}\n", "t.yaml:3: columns.a.type: Input should be"),
        (b"version: 1\ncolumns:\n  a: {type: int, min: 5, max: 1}\n", "min (5) is greater than max (1)"),
        (b"version: 1\ncolumns:\n  a: {type: string, min: 1}\n", "min applies to int, float, date and datetime"),
        (b"version: 1\ncolumns:\n  a: {type: int, values: [1, x]}\n", "values of a int column must all be ints"),
        (b"version: 1\ncolumns:\n  a: {type: string, regex: '('}\n", "does not compile"),
        (
            b"version: 1\ncolumns: {}\naccepted_breaking:\n  - {change: oops, reason: why}\n",
            "accepted_breaking.0.change",
        ),
        (b"version: 1\n", "columns: required key is missing"),
        (b"", "t.yaml is empty"),
        (b"- a\n- b\n", "t.yaml:1: the top level must be a mapping"),
        (b"version: 1\ncolumns:\n  a: {type: int\n", "t.yaml:4: invalid YAML"),
    ],
)
def test_invalid_files_name_file_line_and_key(text: bytes, expected: str) -> None:
    with pytest.raises(MlgitError) as exc:
        schemas.parse(text, "t.yaml")
    assert expected in str(exc.value)


def test_render_reads_back_the_same_and_quotes_what_yaml_would_misread() -> None:
    s = schemas.Schema(
        columns=(
            schemas.Column("yes", "string", values=("no", "null", "1", "a b", "é")),
            schemas.Column("ratio", "float", nullable=False, min=1e-05, max=0.5, finite=False),
            schemas.Column("n", "int", min=-3, max=7, unique=True),
            schemas.Column("flag", "bool", max_null_fraction=0.02),
        ),
        rows_min=5,
        rows_max=20,
        dataset="t",
        accepted=(schemas.Acceptance("type-changed", "n", "see #12"),),
    )
    text = schemas.render(s, ("a header",))
    assert text.startswith("# a header\nversion: 1\n") and '  "yes":\n' in text and "    min: 1.0e-05\n" in text
    back = schemas.parse(text.encode(), "t.yaml")
    assert back.columns == s.columns and (back.rows_min, back.rows_max) == (5, 20)
    assert [(a.change, a.column, a.reason) for a in back.accepted] == [("type-changed", "n", "see #12")]
    assert schemas.render(back, ("a header",)) == text


def test_profile_sits_beside_the_schema() -> None:
    assert schemas.profile_path("schemas/t.schema.yaml") == "schemas/t.profile.json"
    assert schemas.profile_path("contracts/t.yml") == "contracts/t.profile.json"


def test_a_validated_file_is_cached(tmp_path) -> None:
    first = schemas.parse(VALID, "t.yaml", tmp_path)
    assert len(list(tmp_path.glob("schema-*.json"))) == 1
    assert schemas.parse(VALID, "t.yaml", tmp_path) == first
