"""Sanity checks on real flights: the leakage check finds a column that gives the label
away, and calibration by decile follows the scores."""

import numpy as np
import pandas as pd

from mlgate.demo import simulator
from mlgate.ingest.labels import derive_label
from mlgate.promote.sanity import calibration_by_decile, single_feature_auc


def real_rows(spec):
    frames = []
    for ds in simulator.dates("2013-03-04", "2013-03-08"):
        features, outcomes = simulator.day_frames(ds)
        joined = features.merge(
            outcomes[[spec.id_column, "dep_delay", "arr_delay"]], on=spec.id_column
        )
        frames.append(joined.assign(late=derive_label(joined, spec).to_numpy()))
    return pd.concat(frames, ignore_index=True)


def test_a_column_that_gives_the_label_away_is_found(spec):
    rows = real_rows(spec)
    aucs = single_feature_auc(
        rows, [*spec.numeric_features, *spec.categorical_features, "dep_delay", "arr_delay"], "late"
    )
    assert (
        aucs["dep_delay"] > spec.section("evaluation")["sanity"]["max_single_feature_auc"]
    )  # an outcome column
    assert aucs["arr_delay"] == 1.0  # the label's own column, empty for cancelled flights (late)
    honest = {k: v for k, v in aucs.items() if k not in ("dep_delay", "arr_delay")}
    assert max(honest.values()) < 0.8 and set(honest) == set(
        spec.numeric_features + spec.categorical_features
    )


def test_calibration_by_decile_follows_the_scores():
    labels = np.array([0] * 90 + [1] * 10)
    scores = np.linspace(0, 1, 100)
    deciles = calibration_by_decile(labels, scores)
    assert len(deciles) == 10 and [d["observed_rate"] for d in deciles] == [0.0] * 9 + [1.0]
    assert deciles[0]["mean_prediction"] < deciles[-1]["mean_prediction"]
