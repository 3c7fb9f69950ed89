from __future__ import annotations

import json

from mlgit.registry.plan import ReleaseStatus
from mlgit.registry.stages import StageStatus
from mlgit.repo.metrics import KeyChange
from mlgit.report.build import DatasetChange, DataStatus, GateStatus, SectionStatus
from mlgit.results.finding import Severity
from mlgit.results.serialize import dumps, plain


def test_a_status_prints_formats_and_serializes_as_its_value() -> None:
    assert str(ReleaseStatus.WOULD_RELEASE) == "would-release"
    assert f"{StageStatus.ALREADY_ASSIGNED:>18}" == "  already-assigned"
    assert plain([GateStatus.ERROR, SectionStatus.NOT_RUN, KeyChange.SAME, Severity.INFO]) == [
        "error",
        "not-run",
        "same",
        "info",
    ]
    assert json.loads(dumps({"status": DataStatus.NO_BASELINE})) == {"status": "no-baseline"}


def test_a_status_equals_the_text_it_replaced() -> None:
    # Renderers and tests written against the strings keep working.
    assert GateStatus("already-released") is GateStatus.ALREADY_RELEASED
    assert ReleaseStatus.REJECTED == "rejected"


def test_a_dataset_without_a_base_has_no_baseline_status() -> None:
    change = DatasetChange("train", "data/train.csv", None, "abc", compared=False)
    assert change.status is DataStatus.NO_BASELINE
    assert DatasetChange("train", "data/train.csv", "abc", "abd").status is DataStatus.CHANGED
