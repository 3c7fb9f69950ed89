"""The checks `mlgit check` and `mlgit report` run, in the order they are reported."""

from __future__ import annotations

from mlgit.checks.check import Check
from mlgit.checks.data import DataCheck
from mlgit.checks.model import ModelCheck
from mlgit.checks.schema import SchemaCheck

CHECKS: tuple[Check, ...] = (DataCheck(), SchemaCheck(), ModelCheck())
