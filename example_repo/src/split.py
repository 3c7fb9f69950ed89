"""Seeded, stratified train/test split of data/raw/breast_cancer.csv into data/prepared/."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.model_selection import train_test_split

RAW_PATH = Path("data/raw/breast_cancer.csv")
OUT_DIR = Path("data/prepared")
REPORTING_COLUMNS = frozenset({"size_class"})


def load_params() -> dict[str, Any]:
    with open("params.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["split"]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def main() -> None:
    params = load_params()

    with open(RAW_PATH, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    # Reporting-only columns stay in the raw export; the model's data has numeric features and the target.
    keep = [i for i, name in enumerate(header) if name not in REPORTING_COLUMNS]
    header = [header[i] for i in keep]
    rows = [[row[i] for i in keep] for row in rows]

    labels = np.array([row[header.index("target")] for row in rows])
    train_idx, test_idx = train_test_split(
        np.arange(len(rows)),
        test_size=float(params["test_size"]),
        random_state=int(params["seed"]),
        stratify=labels,
    )

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    write_rows(OUT_DIR / "train.csv", header, [rows[i] for i in train_idx])
    write_rows(OUT_DIR / "test.csv", header, [rows[i] for i in test_idx])
    print(f"train: {len(train_idx)} rows, test: {len(test_idx)} rows")


if __name__ == "__main__":
    main()
