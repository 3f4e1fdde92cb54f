"""Training on a Dask cluster (`training.engine: dask`): the workers read the window's
validated, labelled days straight from the lake, one day per partition, and XGBoost trains
with `xgboost.dask`. The contract is the local engine's (`train.booster.train_streamed`): the
same parameters and seed, the last `training.validation_share` of the days for early
stopping; it returns (booster, schema, info). The client holds the days' names, their row
counts and categories, never their rows.

The lake must be one the workers reach under the same URI (S3 in production; a folder only
when the workers share this machine's disk)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from mlgate.config.spec import Spec
from mlgate.ingest.landing import labelled_frame
from mlgate.lake.store import Lake
from mlgate.model.features import FeatureSchema, model_matrix, schema_for
from mlgate.train.booster import training_params, validation_days

# This machine's thread count, not the model's: a worker trains with its own threads (`dask
# worker --nthreads`); more threads than its cores make every boosting round wait (the spec's
# nthread 2 on two one-thread workers of a busy 2-core machine: 61 s instead of 8). The run
# still logs the spec's params, as the local engine does.
MACHINE_PARAMS = ("nthread", "n_jobs")


def split_days(spec: Spec, days: list[str]) -> tuple[list[str], list[str]]:
    """(training days, early-stopping days), as the local engine splits them."""
    held = validation_days(spec, days)
    return [d for d in sorted(days) if d not in held], held


def day_summary(day: str, lake_uri: str, spec: Spec, drop: list[str]) -> tuple[int, FeatureSchema]:
    """On a worker: the day's labelled row count and the feature schema of its rows (its
    categories), or (0, None) for a day without labelled rows."""
    rows = labelled_frame(Lake.from_uri(lake_uri), spec, [day])
    if rows.empty:
        return 0, None
    return len(rows), schema_for(spec, rows, drop)


def merged_schema(schemas: list[FeatureSchema]) -> FeatureSchema:
    """One schema for the window: each categorical feature's categories seen on any day,
    sorted (what schema_for gives on the whole window)."""
    first = schemas[0]
    categories = {
        c: sorted(set().union(*(s.categories[c] for s in schemas))) for c in first.categorical
    }
    return dataclasses.replace(first, categories=categories)


def day_matrix(
    piece: tuple[str, int, int], lake_uri: str, spec: Spec, schema: FeatureSchema
) -> pd.DataFrame:
    """On a worker: piece `k` of `n` of a day's rows (`piece` is (day, k, n)) as its model
    matrix, with the label (float) as the last column."""
    day, k, n = piece
    label = spec.section("label")["name"]
    rows = labelled_frame(Lake.from_uri(lake_uri), spec, [day])
    rows = rows.iloc[len(rows) * k // n : len(rows) * (k + 1) // n]
    if rows.empty:
        return empty_matrix(schema, label)
    return model_matrix(rows, schema).assign(**{label: rows[label].astype("float64")})


def empty_matrix(schema: FeatureSchema, label: str) -> pd.DataFrame:
    """The model matrix of no rows (the partitions' types, categories included)."""
    nothing = pd.DataFrame({c: pd.Series([], dtype="object") for c in schema.input_columns})
    return model_matrix(nothing, schema).assign(**{label: pd.Series([], dtype="float64")})


def _dask_matrix(client, lake_uri: str, spec: Spec, schema: FeatureSchema, days, ref=None):
    """A DaskQuantileDMatrix of `days`, read on the workers: a partition per day, or per piece
    of a day when there are fewer days than workers (XGBoost refuses a worker without rows
    when there are categorical features). The validation matrix takes the training one's
    bins (`ref`)."""
    import dask
    import dask.dataframe as dd
    from xgboost.dask import DaskQuantileDMatrix

    label = spec.section("label")["name"]
    n = -(-len(client.scheduler_info()["workers"]) // len(days))  # pieces per day
    with dask.config.set({"dataframe.convert-string": False}):  # the local engine's types
        frame = dd.from_map(
            day_matrix,
            [(day, k, n) for day in days for k in range(n)],
            lake_uri=lake_uri,
            spec=spec,
            schema=schema,
            meta=empty_matrix(schema, label),
            enforce_metadata=False,
        ).persist()  # read once for the features and the label
    return DaskQuantileDMatrix(
        client, frame[schema.names], frame[label], ref=ref, enable_categorical=True
    )


def train_on_dask(client, lake: Lake, spec: Spec, days: list[str], overrides: dict | None = None):
    """Train on the validated, labelled `days` on the cluster of `client`
    (a `distributed.Client`). Returns (booster, schema, info)."""
    import xgboost.dask as dxgb

    cfg = spec.section("training")
    params, num_round = training_params(spec, overrides)
    drop = list((overrides or {}).get("drop_features", ()))

    summaries = client.gather(
        client.map(day_summary, days, lake_uri=lake.uri, spec=spec, drop=drop)
    )
    rows = {day: n for day, (n, _) in zip(days, summaries) if n}
    if not rows:
        raise ValueError(
            f"{spec.model}: none of the {len(days)} days from {min(days, default='-')} to "
            f"{max(days, default='-')} has validated features with labels in the lake at "
            f"{lake.uri}; ingest them before training"
        )
    train_days, valid_days = split_days(spec, list(rows))
    if not train_days:
        raise ValueError(
            f"{spec.model}: {len(rows)} labelled day(s) leave none to train on after "
            f"training.validation_share = {cfg['validation_share']}; train on more days"
        )
    schema = merged_schema([s for _, s in summaries if s is not None])

    dtrain = _dask_matrix(client, lake.uri, spec, schema, train_days)
    dvalid = _dask_matrix(client, lake.uri, spec, schema, valid_days, ref=dtrain)
    output = dxgb.train(
        client,
        {k: v for k, v in params.items() if k not in MACHINE_PARAMS},
        dtrain,
        num_round,
        evals=[(dtrain, "train"), (dvalid, "valid")],
        early_stopping_rounds=int(cfg["early_stopping_rounds"]),
        verbose_eval=False,
    )
    booster, history = output["booster"], output["history"]
    metric = list(history["valid"])[-1]  # the spec's eval_metric (XGBoost's last one)
    info = {
        "params": params,
        "num_boost_round": num_round,
        "best_iteration": int(booster.best_iteration),
        "rounds_served": int(booster.num_boosted_rounds()),
        "train_rows": sum(rows[d] for d in train_days),
        "valid_rows": sum(rows[d] for d in valid_days),
        "eval_metric": metric,
        f"train_{metric}": float(history["train"][metric][booster.best_iteration]),
        f"valid_{metric}": float(history["valid"][metric][booster.best_iteration]),
    }
    return booster, schema, info
