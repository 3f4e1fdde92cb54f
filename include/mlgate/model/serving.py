"""The served model: an MLflow pyfunc around the XGBoost booster and its feature schema.

`mlflow.pyfunc.load_model("models:/<model>@champion").predict(rows)` takes raw rows with
the contract's columns and returns, per row, the probability of the positive label (task
binary) or the predicted value (task regression), prepared by the same `model_matrix` the
training used. Its signature names those raw columns (the spec's features, and the
timestamp when features are derived from it); `predict_served` calls a loaded model with
just them, so the ids, slices and labels a caller's frame carries stay outside the model
call (MLflow would warn about each one and drop it) and go with the predictions.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import mlflow.pyfunc
import pandas as pd

BOOSTER_ARTIFACT = "booster"
SCHEMA_ARTIFACT = "feature_schema"
ENTRY_POINT = Path(__file__).with_name("pyfunc_entry.py")


class GatedModel(mlflow.pyfunc.PythonModel):
    """Booster + FeatureSchema; predict returns P(label = 1) or the predicted value per row."""

    def load_context(self, context):
        import xgboost as xgb

        from mlgate.model.features import FeatureSchema

        self.booster = xgb.Booster()
        self.booster.load_model(context.artifacts[BOOSTER_ARTIFACT])
        self.schema = FeatureSchema.from_json(Path(context.artifacts[SCHEMA_ARTIFACT]).read_text())

    def predict(self, context, model_input: pd.DataFrame, params=None):
        return predict_rows(self.booster, self.schema, model_input)


def predict_rows(booster, schema, rows: pd.DataFrame):
    """The booster's predictions for raw rows (probabilities for a binary objective, values
    for a regression one), through the shared model matrix."""
    import xgboost as xgb

    from mlgate.model.features import model_matrix

    return booster.predict(xgb.DMatrix(model_matrix(rows, schema), enable_categorical=True))


def predict_served(model, rows: pd.DataFrame):
    """A loaded pyfunc's predictions for `rows`, called with only the columns its signature
    names (a column it names and `rows` lack is left to MLflow's own error; a signature
    without names gets `rows` as they are)."""
    signature = model.metadata.get_input_schema()
    if signature is None or not signature.has_input_names():
        return model.predict(rows)
    return model.predict(rows[[c for c in signature.input_names() if c in rows.columns]])


@lru_cache(maxsize=16)
def load_model(tracking_uri: str, model: str, version: str):
    """A registered version as the score DAG loads it (cached per process)."""
    import mlflow

    from mlgate import tracking

    tracking.connect(tracking_uri)
    return mlflow.pyfunc.load_model(f"models:/{model}/{version}")
