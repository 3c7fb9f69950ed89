"""Export scikit-learn's bundled breast-cancer dataset to data/raw/breast_cancer.csv."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import yaml
from sklearn.datasets import load_breast_cancer

OUT_PATH = Path("data/raw/breast_cancer.csv")


def load_params() -> dict[str, Any]:
    with open("params.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["prepare"]


def snake_case(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def size_class(mean_area: float) -> str:
    """A coarse, human-readable size category (a reporting column: split.py leaves it out of the features)."""
    if mean_area < 500.0:
        return "small"
    if mean_area < 1000.0:
        return "medium"
    return "large"


def main() -> None:
    params = load_params()
    if params["dataset"] != "breast_cancer":
        raise ValueError(f"unsupported dataset: {params['dataset']!r}")

    bunch = load_breast_cancer()
    header = [snake_case(name) for name in bunch.feature_names] + ["size_class", "target"]
    area = header.index("mean_area")

    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT_PATH, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for features, label in zip(bunch.data, bunch.target, strict=True):
            writer.writerow([repr(float(x)) for x in features] + [size_class(float(features[area])), int(label)])

    print(f"wrote {len(bunch.target)} rows x {len(header)} columns to {OUT_PATH}")


if __name__ == "__main__":
    main()
