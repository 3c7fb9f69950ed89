"""The schema file format (pydantic, imported only when a schema file must be validated)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from mlgit.data.schema import BREAKING, NUMERIC, ORDERED, Scalar
from mlgit.system.filemodel import FileModel

TypeName = Literal["int", "float", "string", "bool", "date", "datetime", "other"]
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")


class ColumnSpec(FileModel):
    type: TypeName
    description: str | None = None
    nullable: bool = True
    max_null_fraction: Annotated[float, Field(ge=0, le=1)] | None = None
    min: Scalar | None = None
    max: Scalar | None = None
    values: Annotated[list[Scalar], Field(min_length=1)] | None = None
    unique: bool = False
    regex: str | None = None
    finite: bool = True

    @field_validator("min", "max", mode="before")
    @classmethod
    def _iso(cls, v: object) -> object:
        # YAML reads an unquoted 2026-01-31 as a date; the schema keeps dates as ISO text.
        import datetime as dt

        if isinstance(v, dt.date):
            return v.isoformat()
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        for key in ("min", "max"):
            bound = getattr(self, key)
            if bound is None:
                continue
            if self.type not in ORDERED:
                raise ValueError(f"{key} applies to int, float, date and datetime columns, not {self.type}")
            if self.type in NUMERIC and (isinstance(bound, bool) or not isinstance(bound, int | float)):
                raise ValueError(f"{key} must be a number for a {self.type} column")
            if self.type in ("date", "datetime") and not (isinstance(bound, str) and _ISO.match(bound)):
                raise ValueError(f'{key} must be an ISO date string (e.g. "2026-01-31") for a {self.type} column')
        if self.min is not None and self.max is not None and self.min > self.max:  # type: ignore[operator]  # both bounds have the column's one type, checked above
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        if self.values is not None:
            want = {"int": int, "float": int | float, "string": str, "bool": bool}.get(self.type)
            if want is None:
                raise ValueError(f"values applies to int, float, string and bool columns, not {self.type}")
            bad = [v for v in self.values if not isinstance(v, want) or (self.type != "bool" and isinstance(v, bool))]
            if bad:
                raise ValueError(f"values of a {self.type} column must all be {self.type}s; not: {bad[:3]}")
        if self.regex is not None:
            if self.type != "string":
                raise ValueError("regex applies to string columns only")
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} does not compile: {exc}") from None
        if not self.nullable and self.max_null_fraction:
            raise ValueError("nullable: false contradicts max_null_fraction > 0")
        return self


class RowsSpec(FileModel):
    min: Annotated[int, Field(ge=0)] | None = None
    max: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _order(self) -> RowsSpec:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class AcceptSpec(FileModel):
    change: Literal[BREAKING]  # type: ignore[valid-type]  # the names tuple is unpacked into Literal at run time
    column: str | None = None
    reason: Annotated[str, Field(min_length=3)]


class SchemaFile(FileModel):
    version: Literal[1] = 1
    dataset: str | None = None
    rows: RowsSpec = Field(default_factory=RowsSpec)
    columns: dict[str, ColumnSpec]
    accepted_breaking: list[AcceptSpec] = Field(default_factory=list)

    @field_validator("columns", mode="before")
    @classmethod
    def _names(cls, v: object) -> object:
        if isinstance(v, dict):
            bad = [k for k in v if not isinstance(k, str) or not k]
            if bad:
                raise ValueError(f"column names must be non-empty strings (quote them); not: {bad[:3]}")
        return v
