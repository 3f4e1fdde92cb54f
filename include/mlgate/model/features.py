"""Model inputs, derived from the spec. One code path for training and serving.

`FeatureSchema` is what a trained model needs to rebuild its inputs from raw rows: the
feature lists, the derived features and the categories seen in training. It is saved
with the model, so the score DAG and the MLflow pyfunc prepare rows exactly as training did.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import pandas as pd

from mlgate.config.spec import Spec


@dataclass(frozen=True)
class FeatureSchema:
    numeric: list[str]
    categorical: list[str]
    derived: dict[str, str]
    timestamp: str
    timezone: str
    categories: dict[str, list[str]]

    @property
    def names(self) -> list[str]:
        return self.numeric + list(self.derived) + self.categorical

    @property
    def input_columns(self) -> list[str]:
        """Raw columns a caller must provide."""
        return self.numeric + self.categorical + ([self.timestamp] if self.derived else [])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "FeatureSchema":
        return cls(**json.loads(text))


def category_text(values: pd.Series) -> pd.Series:
    """A categorical column as text, whatever type it was stored as: whole numbers read
    `3` whether stored as int or as float (a day with an empty cell stores floats), text
    stays text; missing stays missing (None). Training, scoring and drift all use this."""
    if pd.api.types.is_bool_dtype(values):
        values = values.astype("object")
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64")
        present = numbers.dropna()
        if (present % 1 == 0).all():
            text = numbers.astype("Int64").astype("string")
        else:
            text = numbers.astype("string")
    else:
        text = values.astype("object")
        if pd.api.types.infer_dtype(text, skipna=True) not in ("string", "empty"):
            text = text.map(lambda v: v if isinstance(v, str) else str(v))  # mixed types
    return text.astype("object").where(values.notna(), None)


def schema_for(spec: Spec, frame: pd.DataFrame, drop: list[str] | tuple = ()) -> FeatureSchema:
    """The feature schema of a model trained on `frame`, without the features in `drop` (an
    ablation; train.check_overrides checks the names)."""
    seen = {c: set(category_text(frame[c]).dropna().unique()) for c in spec.categorical_features}
    return schema_from_categories(spec, seen, drop)


def schema_from_categories(
    spec: Spec, seen: dict[str, set], drop: list[str] | tuple = ()
) -> FeatureSchema:
    """The feature schema of a model whose training rows held the categories `seen` per
    categorical feature (sorted, for stability), without the features in `drop`."""
    categorical = [c for c in spec.categorical_features if c not in drop]
    return FeatureSchema(
        numeric=[c for c in spec.numeric_features if c not in drop],
        categorical=categorical,
        derived={k: v for k, v in spec.derived_features.items() if k not in drop},
        timestamp=spec.timestamp_column,
        timezone=spec.section("keys")["timezone"],
        categories={c: sorted(seen[c]) for c in categorical},
    )


def _derive(kind: str, timestamps: pd.Series, timezone: str) -> pd.Series:
    local = pd.to_datetime(timestamps, utc=True).dt.tz_convert(timezone)
    if kind == "day_of_week":
        return local.dt.day_of_week.astype("float64")
    if kind == "day_of_year":
        return local.dt.day_of_year.astype("float64")
    if kind == "hour_of_day":
        return local.dt.hour.astype("float64")
    raise ValueError(f"unknown derived feature kind {kind!r}")


def model_matrix(rows: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The model's input frame: numeric as float, derived features, categoricals with
    the training categories (a category unseen in training becomes missing)."""
    missing = [c for c in schema.input_columns if c not in rows.columns]
    if missing:
        raise ValueError(f"rows lack the model's input columns: {', '.join(missing)}")
    out = {c: pd.to_numeric(rows[c], errors="coerce").astype("float64") for c in schema.numeric}
    for name, kind in schema.derived.items():
        out[name] = _derive(kind, rows[schema.timestamp], schema.timezone)
    for c in schema.categorical:
        out[c] = pd.Categorical(category_text(rows[c]), categories=schema.categories[c])
    return pd.DataFrame(out, index=rows.index)[schema.names]
