"""Rules: what a dataset's schema file and its mlgit.yaml expectations ask of the data, one value per constraint.

The rules are built before the data is read (from the schema, the expectations and the columns the data has),
so one query (`checks.query`) can compute every aggregate they need and `checks.judge` can turn them into findings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlgit.config.settings import CONFIG_NAME, Dataset, Expectation
from mlgit.data import schema as schemas
from mlgit.results.codes import Code
from mlgit.results.finding import Finding, Severity
from mlgit.results.status import Status


class RuleKind(Status):
    """What a rule asks of the data, so the query knows which aggregate to compute for it."""

    MASK = "mask"  # a per-row test (`Rule.test`) counted as violations
    NULL_FRACTION = "null_fraction"
    UNIQUE = "unique"
    ROWS = "rows"
    MEAN = "mean"
    STD = "std"


@dataclass(frozen=True)
class Rule:
    """One constraint on a dataset, from its schema file or an expectation in mlgit.yaml."""

    code: Code
    kind: RuleKind
    column: str | None
    severity: Severity
    file: str
    line: int | None
    what: str  # the constraint, as a person reads it
    low: Any = None
    high: Any = None
    values: tuple[Any, ...] = ()
    pattern: str | None = None
    fraction: float | None = None
    test: str = ""  # mask rules: nulls | range | set | regex | finite | parse


def fmt(v: Any) -> str:
    """A value as a message shows it (floats to 6 significant digits)."""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def bound_text(low: Any, high: Any) -> str:
    """`>= 1`, `<= 2` or `in [1, 2]`."""
    if low is None:
        return f"<= {fmt(high)}"
    if high is None:
        return f">= {fmt(low)}"
    return f"in [{fmt(low)}, {fmt(high)}]"


def schema_rules(s: schemas.Schema, present: Mapping[str, str]) -> list[Rule]:
    """The rules a schema file states for the columns `present` (name -> checked type)."""
    rules: list[Rule] = []
    if s.rows_min is not None or s.rows_max is not None:
        what = f"rows {bound_text(s.rows_min, s.rows_max)}"
        line, bounds = s.line("rows"), (s.rows_min, s.rows_max)
        rules.append(Rule(Code.DATA_ROW_COUNT, RuleKind.ROWS, None, Severity.ERROR, s.path, line, what, *bounds))
    for c in s.columns:
        if c.name not in present:
            continue

        def add(code: Code, kind: RuleKind, key: str, what: str, c: schemas.Column = c, **kw: Any) -> None:
            rules.append(Rule(code, kind, c.name, Severity.ERROR, s.path, s.line("columns", c.name, key), what, **kw))

        if not c.nullable:
            add(Code.DATA_NULLS, RuleKind.MASK, "nullable", "nulls where the schema says nullable: false", test="nulls")
        elif c.max_null_fraction is not None:
            what = f"max_null_fraction {c.max_null_fraction:g}"
            add(
                Code.DATA_NULL_FRACTION, RuleKind.NULL_FRACTION, "max_null_fraction", what, fraction=c.max_null_fraction
            )
        if c.min is not None or c.max is not None:
            lo, hi = fmt(c.min) if c.min is not None else "-inf", fmt(c.max) if c.max is not None else "inf"
            what = f"outside the schema's range [{lo}, {hi}]"
            add(
                Code.DATA_OUT_OF_RANGE,
                RuleKind.MASK,
                "min" if c.min is not None else "max",
                what,
                low=c.min,
                high=c.max,
                test="range",
            )
        if c.values is not None:
            what = "not among the schema's allowed values"
            add(Code.DATA_UNEXPECTED_VALUE, RuleKind.MASK, "values", what, values=c.values, test="set")
        if c.regex is not None:
            add(
                Code.DATA_REGEX_MISMATCH,
                RuleKind.MASK,
                "regex",
                f"not matching {c.regex!r}",
                pattern=c.regex,
                test="regex",
            )
        if c.unique:
            add(Code.DATA_NOT_UNIQUE, RuleKind.UNIQUE, "unique", "unique: true")
        if c.type == "float" and c.finite:
            what = "NaN or infinite (set finite: false in the schema to allow them)"
            add(Code.DATA_NON_FINITE, RuleKind.MASK, "type", what, test="finite")
    return rules


def expectation_rules(
    ds: Dataset, lines: Sequence[int | None], present: Mapping[str, str]
) -> tuple[list[Rule], list[Finding]]:
    """The rules of a dataset's expectations, and a finding for each expectation that cannot apply."""
    rules: list[Rule] = []
    problems: list[Finding] = []
    for e, line in zip(ds.expectations, lines, strict=True):
        if e.column is not None and e.column not in present:
            problems.append(
                Finding(
                    code=Code.DATA_MISSING_COLUMN,
                    severity=Severity.ERROR,
                    subject=ds.name,
                    message=f"expectation {e.index + 1} ({e.kind}) names column {e.column!r}, which the data does not have",
                    file=CONFIG_NAME,
                    line=line,
                    column=e.column,
                )
            )
            continue
        type_ = present.get(e.column or "", "other")
        needs = _NEEDS.get(e.kind)
        if needs is not None and type_ not in needs:
            problems.append(
                Finding(
                    code=Code.DATA_INVALID_EXPECTATION,
                    severity=Severity.ERROR,
                    subject=ds.name,
                    message=f"expectation {e.index + 1} ({e.kind}) needs a {' or '.join(sorted(needs))} column; "
                    f"{e.column} is {type_}",
                    file=CONFIG_NAME,
                    line=line,
                    column=e.column,
                )
            )
            continue
        rules.append(_expectation_rule(e, line))
    return rules, problems


_NEEDS = {
    "between": schemas.NUMERIC,
    "mean_between": schemas.NUMERIC,
    "std_between": schemas.NUMERIC,
}


def set_values(values: Sequence[Any], type_: str) -> list[Any]:
    """Allowed values in the column's own type (values that cannot be of that type cannot match)."""
    out: list[Any] = []
    for v in values:
        if type_ == "string":
            out.append(v if isinstance(v, str) else json.dumps(v))
        elif type_ == "bool":
            if isinstance(v, bool):
                out.append(v)
        elif isinstance(v, bool) or isinstance(v, str):
            continue
        elif type_ == "int":
            if float(v).is_integer():
                out.append(int(v))
        elif type_ == "float":
            out.append(float(v))
    return out


def _expectation_rule(e: Expectation, line: int | None) -> Rule:
    def rule(code: Code, kind: RuleKind, what: str, **kw: Any) -> Rule:
        return Rule(code, kind, e.column, e.severity, CONFIG_NAME, line, what, **kw)

    bounds = bound_text(e.low, e.high)
    if e.kind == "not_null":
        return rule(Code.DATA_NULLS, RuleKind.MASK, "nulls (expectation not_null)", test="nulls")
    if e.kind == "unique":
        return rule(Code.DATA_NOT_UNIQUE, RuleKind.UNIQUE, "expectation unique")
    if e.kind == "between":
        return rule(
            Code.DATA_OUT_OF_RANGE,
            RuleKind.MASK,
            f"outside the expectation {bounds}",
            low=e.low,
            high=e.high,
            test="range",
        )
    if e.kind == "in_set":
        return rule(
            Code.DATA_UNEXPECTED_VALUE, RuleKind.MASK, "not in the expectation's in_set", values=e.values, test="set"
        )
    if e.kind == "regex":
        return rule(
            Code.DATA_REGEX_MISMATCH, RuleKind.MASK, f"not matching {e.pattern!r}", pattern=e.pattern, test="regex"
        )
    if e.kind == "max_null_fraction":
        return rule(
            Code.DATA_NULL_FRACTION, RuleKind.NULL_FRACTION, f"max_null_fraction {e.fraction:g}", fraction=e.fraction
        )
    if e.kind == "rows_between":
        return rule(Code.DATA_ROW_COUNT, RuleKind.ROWS, f"rows {bounds}", low=e.low, high=e.high)
    if e.kind == "mean_between":
        return rule(Code.DATA_MEAN_OUT_OF_BAND, RuleKind.MEAN, f"mean {bounds}", low=e.low, high=e.high)
    return rule(Code.DATA_STD_OUT_OF_BAND, RuleKind.STD, f"std {bounds}", low=e.low, high=e.high)


def parse_rule(column: str, type_: str, file: str, line: int | None) -> Rule:
    """The rule a column read as text must pass: every value readable as its declared type."""
    return Rule(
        Code.DATA_TYPE_MISMATCH,
        RuleKind.MASK,
        column,
        Severity.ERROR,
        file,
        line,
        f"not readable as {type_}",
        test="parse",
    )


def column_findings(dataset: str, sch: schemas.Schema, actual: Mapping[str, str]) -> list[Finding]:
    """The columns the schema declares that the data lacks (errors), and the reverse (warnings)."""
    declared = {col.name: col for col in sch.columns}
    out = [
        Finding(
            code=Code.DATA_MISSING_COLUMN,
            severity=Severity.ERROR,
            subject=dataset,
            message=f"{col.name}: the schema declares this column; the data does not have it",
            file=sch.path,
            line=sch.line("columns", col.name),
            column=col.name,
            data={"type": col.type},
        )
        for col in sch.columns
        if col.name not in actual
    ]
    out += [
        Finding(
            code=Code.DATA_UNEXPECTED_COLUMN,
            severity=Severity.WARNING,
            subject=dataset,
            message=f"{name}: the data has this column; the schema does not declare it",
            file=sch.path,
            line=sch.line("columns"),
            column=name,
            data={"type": t},
        )
        for name, t in actual.items()
        if name not in declared
    ]
    return out


def checked_types(
    dataset: str, sch: schemas.Schema | None, actual: Mapping[str, str], fmt_: str
) -> tuple[dict[str, str], list[Finding]]:
    """Which type each present column is checked as, and a finding for each stored type the schema contradicts.

    Only parquet stores types to compare: text formats are read as the schema declares (an int column of a
    float schema is fine, it widens).
    """
    declared = {col.name: col for col in sch.columns} if sch is not None else {}
    types: dict[str, str] = {}
    found: list[Finding] = []
    for name, t in actual.items():
        decl = declared.get(name)
        if decl is None or decl.type == "other":
            types[name] = t
        elif fmt_ == "parquet" and t != decl.type and not (decl.type == "float" and t == "int"):
            assert sch is not None
            found.append(
                Finding(
                    code=Code.DATA_TYPE_MISMATCH,
                    severity=Severity.ERROR,
                    subject=dataset,
                    message=f"{name}: stored as {t}, the schema says {decl.type}",
                    file=sch.path,
                    line=sch.line("columns", name, "type"),
                    column=name,
                    data={"actual": t, "declared": decl.type},
                )
            )
        else:
            types[name] = decl.type
    return types, found
