"""Batch scoring: the champion scores a validated day. Each prediction carries a
prediction id, the model version, the MLflow run id, a hash of its inputs and the slice
columns. When there is a challenger, it scores the same rows in shadow: its predictions
go to their own feed (`predictions/<model>-shadow/`) and are never served. While a new
champion is watched after its promotion, the previous champion scores them too
(`predictions/<model>-watch/`), so the monitor can compare the two on live labels."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.names import FEATURES_FILE, PREDICTIONS_FILE, shadow_name, watch_name
from mlgate.lake.store import Lake, LakeError
from mlgate.model.serving import load_model, predict_served
from mlgate.promote import registry


class NoChampion(RuntimeError):
    """There is no champion to score with yet."""


def prediction_frame(
    spec: Spec, features: pd.DataFrame, scores, version: str, run_id: str, ds: str
) -> pd.DataFrame:
    """Predictions with their ids: the same inputs and model give the same rows."""
    ids = features[spec.id_column].astype(str)
    input_hash = pd.util.hash_pandas_object(features[spec.raw_feature_columns], index=False).astype(
        "uint64"
    )
    slices = {c: features[c].astype(str).to_numpy() for c in spec.slices if c in features.columns}
    return pd.DataFrame(
        {
            "prediction_id": [
                hashlib.sha1(f"{spec.model}|{version}|{i}".encode()).hexdigest()[:20] for i in ids
            ],
            spec.id_column: ids.to_numpy(),
            "ds": ds,
            "score": pd.Series(scores, dtype="float64").to_numpy(),
            "model_version": str(version),
            "mlflow_run_id": run_id,
            "feature_hash": input_hash.map(lambda h: f"{h:016x}").to_numpy(),
            **slices,
        }
    )


def score_with(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    ds: str,
    run: dict,
    features: pd.DataFrame,
    model_version,
    feed: str,
) -> dict:
    """Score the day's `features` with a registered version and commit them to `feed`."""
    version = str(model_version.version)
    model = load_model(settings.tracking_uri, spec.model, version)
    predictions = prediction_frame(
        spec, features, predict_served(model, features), version, model_version.run_id, ds
    )
    source = lake.read_lineage("validated", spec.model, ds)
    return lake.commit_frame(
        "predictions",
        feed,
        ds,
        PREDICTIONS_FILE,
        predictions,
        {
            **run,
            "model_version": version,
            "mlflow_run_id": model_version.run_id,
            "features_sha256": source["files"],
        },
    )


def score_day(
    lake: Lake, settings: Settings, spec: Spec, ds: str, run: dict, rescore: bool = False
) -> dict:
    """Score `ds` with the champion and commit the predictions. A day already scored is
    left as it is (re-runs and backfills change nothing) unless `rescore` is set."""
    if lake.exists("predictions", spec.model, ds) and not rescore:
        return {**lake.read_lineage("predictions", spec.model, ds), "unchanged": True}
    if not lake.exists("validated", spec.model, ds):
        raise LakeError(
            f"{spec.model}: no validated partition for {ds}; ingest it first (was it quarantined?)"
        )
    client = tracking.client(settings)
    champion = registry.alias_version(client, spec.model, tracking.CHAMPION)
    if champion is None:
        raise NoChampion(f"{spec.model}: no champion yet; run the train DAG first")
    features = lake.read_frame("validated", spec.model, ds, FEATURES_FILE)
    lineage = score_with(lake, settings, spec, ds, run, features, champion, spec.model)
    challenger = registry.alias_version(client, spec.model, tracking.CHALLENGER)
    if challenger is not None and str(challenger.version) != str(champion.version):
        shadow = score_with(
            lake, settings, spec, ds, run, features, challenger, shadow_name(spec.model)
        )
        lineage = {**lineage, "shadow_version": shadow["model_version"]}
    previous = watched_previous(client, spec, champion, ds)
    if previous is not None:
        watch = score_with(
            lake, settings, spec, ds, run, features, previous, watch_name(spec.model)
        )
        lineage = {**lineage, "watch_version": watch["model_version"]}
    return lineage


def watch_start(champion_mv) -> str | None:
    """The data day the champion's watch started: the day it was promoted (its training
    day for a promotion recorded before that day was kept)."""
    tags = champion_mv.tags or {}
    return tags.get(tracking.PROMOTED_DS_TAG) or tags.get(tracking.DS_TAG)


def watched_previous(client, spec: Spec, champion_mv, ds: str):
    """The previous champion while the champion is under watch on `ds` (the spec's
    `evaluation.evidence.watch_days` from its promotion), else None."""
    watch_days = int(spec.section("evaluation")["evidence"]["watch_days"])
    start = watch_start(champion_mv)
    if not watch_days or not start or not champion_mv.tags.get(tracking.PROMOTED_AT_TAG):
        return None
    if not start <= ds < (dt.date.fromisoformat(start) + dt.timedelta(days=watch_days)).isoformat():
        return None
    previous = registry.alias_version(client, spec.model, tracking.PREVIOUS)
    return previous if previous is not None and previous.version != champion_mv.version else None
