"""Evaluate models/model.skops on data/prepared/test.csv and write metrics.json."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
import yaml
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

TEST_PATH = Path("data/prepared/test.csv")
MODEL_PATH = Path("models/model.skops")
METRICS_PATH = Path("metrics.json")


def load_params() -> dict[str, Any]:
    with open("params.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["evaluate"]


def load_xy(path: Path, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        data = np.array(list(reader), dtype=np.float64)
    X = data[:, [header.index(name) for name in features]]
    y = data[:, header.index("target")].astype(np.int64)
    return X, y


def main() -> None:
    params = load_params()
    bundle = sio.load(MODEL_PATH)  # skops' default trusted types only: the file needs no others
    X, y = load_xy(TEST_PATH, bundle["features"])

    proba = bundle["model"].predict_proba(X)[:, 1]
    pred = (proba >= float(params["threshold"])).astype(np.int64)

    metrics = {
        "accuracy": accuracy_score(y, pred),
        "f1": f1_score(y, pred, zero_division=0),
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "roc_auc": roc_auc_score(y, proba),
        "log_loss": log_loss(y, proba, labels=[0, 1]),
    }
    rounded = {name: round(float(value), 4) for name, value in metrics.items()}

    with open(METRICS_PATH, "w", encoding="utf-8") as fh:
        json.dump(rounded, fh, indent=2)
        fh.write("\n")
    print(json.dumps(rounded))


if __name__ == "__main__":
    main()
