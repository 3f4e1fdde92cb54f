"""Batch scoring with a real registered model (issue 15): the served pyfunc is called with
the columns its signature declares, so MLflow does not warn about the ids, the slices or the
label on every prediction, and the predictions are those of the model on the raw rows."""

import logging
from contextlib import contextmanager

import numpy as np
import pytest

from mlgate import tracking
from mlgate.lake.names import FEATURES_FILE, PREDICTIONS_FILE
from mlgate.lake.store import Lake
from mlgate.model.serving import load_model
from mlgate.promote.sanity import probe_model
from mlgate.score.batch import score_day
from mlgate.train.candidate import train_candidate
from tests.helpers import ingest_real_days, run_info

DAY = "2013-01-24"
EXTRA_INPUTS = "Found extra inputs in the model input"


@contextmanager
def mlflow_messages():
    """The messages MLflow logs while the block runs (its logger does not propagate)."""
    records = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    logger = logging.getLogger("mlflow")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def world(module_settings, spec):
    """Real days 01-01..01-24 ingested, a candidate trained for 01-25 made champion."""
    lake = Lake.from_uri(module_settings.lake_uri)
    ingest_real_days(lake, spec, "2013-01-01", DAY)
    candidate = train_candidate(
        lake,
        module_settings,
        spec,
        "2013-01-25",
        run_info("train"),
        "test",
        {"num_boost_round": 30},
    )
    client = tracking.client(module_settings)
    client.set_registered_model_alias(spec.model, tracking.CHAMPION, candidate["version"])
    return lake, module_settings, spec, candidate["version"]


def test_scoring_a_day_does_not_warn_about_columns_outside_the_signature(world):
    lake, settings, spec, version = world
    with mlflow_messages() as messages:
        score_day(lake, settings, spec, DAY, run_info("score"))
    assert not [m.getMessage() for m in messages if EXTRA_INPUTS in m.getMessage()]

    features = lake.read_frame("validated", spec.model, DAY, FEATURES_FILE)
    predictions = lake.read_frame("predictions", spec.model, DAY, PREDICTIONS_FILE)
    model = load_model(settings.tracking_uri, spec.model, version)
    inputs = model.metadata.get_input_schema().input_names()
    assert spec.id_column not in inputs and len(inputs) < len(features.columns)
    # the ids and slices are still on every prediction, the scores those of the raw rows
    assert predictions[spec.id_column].tolist() == features[spec.id_column].astype(str).tolist()
    assert set(spec.slices) <= set(predictions.columns) and len(predictions) == len(features)
    with mlflow_messages() as messages:  # the whole frame: what MLflow warns about
        whole = model.predict(features)
    assert any(EXTRA_INPUTS in m.getMessage() for m in messages)
    np.testing.assert_array_equal(predictions["score"].to_numpy(), np.asarray(whole, float))


def test_the_sanity_probe_scores_without_the_warning(world):
    lake, settings, spec, version = world
    rows = lake.read_frame("validated", spec.model, DAY, FEATURES_FILE).assign(late=0)
    with mlflow_messages() as messages:
        probe = probe_model(spec.model, version, rows, 200, 2, "late")
    assert probe["loaded"] and len(probe["scores"]) == len(rows)
    assert not [m.getMessage() for m in messages if EXTRA_INPUTS in m.getMessage()]
