"""Train a StandardScaler + LogisticRegression pipeline and save it to models/model.skops.

skops writes the model as data, so loading it later (evaluate, mlgit check, a served bundle) runs no code from
the file: unlike a pickle or joblib file, it needs no trust.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

TRAIN_PATH = Path("data/prepared/train.csv")
MODEL_PATH = Path("models/model.skops")


def load_params() -> dict[str, Any]:
    with open("params.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["train"]


def load_xy(path: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        data = np.array(list(reader), dtype=np.float64)
    target_col = header.index("target")
    features = [name for i, name in enumerate(header) if i != target_col]
    X = np.delete(data, target_col, axis=1)
    y = data[:, target_col].astype(np.int64)
    return X, y, features


def main() -> None:
    params = load_params()
    X, y, features = load_xy(TRAIN_PATH)

    model = Pipeline(
        steps=[
            ("scaler", StandardScaler()),
            (
                "clf",
                LogisticRegression(
                    C=float(params["C"]),
                    max_iter=int(params["max_iter"]),
                    random_state=int(params["seed"]),
                ),
            ),
        ]
    )
    model.fit(X, y)

    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    sio.dump({"model": model, "features": features}, MODEL_PATH)
    print(f"trained on {len(y)} rows with {len(features)} features -> {MODEL_PATH}")


if __name__ == "__main__":
    main()
