"""Sanity checks on real flights: the leakage check finds a column that gives the label
away, and calibration by decile follows the scores."""

import numpy as np
import pandas as pd

from mlgate.demo import simulator
from mlgate.ingest.labels import derive_label
from mlgate.lake.names import dates
from mlgate.promote.sanity import calibration_by_decile, single_feature_auc


def real_rows(spec):
    frames = []
    for ds in dates("2013-03-04", "2013-03-08"):
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


def test_a_feature_the_model_matrix_cannot_read_refuses_the_model(spec):
    """Rows hold carriers the model's categories do not know: the raw column is full, the
    matrix column empty, and the features check fails naming it."""
    from mlgate.model.features import model_matrix, schema_for
    from mlgate.promote.sanity import _features_check, lost_in_matrix

    rows = simulator.day_frames("2013-03-05")[0]
    schema = schema_for(spec, rows[rows["carrier"] == "UA"])
    lost = lost_in_matrix(rows, model_matrix(rows, schema), schema)
    assert lost["carrier"] > 0.5 and "distance" not in lost
    names = schema.names
    feats = {"schema": names, "booster": names, "matrix": names, "inputs": [], "lost": lost}
    result = _features_check(spec, feats)
    assert not result["passed"]
    assert "present in the rows but missing in the model matrix: carrier on" in result["observed"]
    assert _features_check(spec, {**feats, "lost": {}})["passed"]


def test_a_column_that_gives_a_numeric_label_away_is_found():
    """Regression: |Spearman| alone finds dep_delay (an outcome) above the spec's limit, and
    no honest feature of real March days comes near it."""
    from mlgate.config.spec import load_spec
    from mlgate.ingest.labels import labelled_rows
    from mlgate.promote.sanity import single_feature_spearman

    delay = load_spec("flights_delay")
    rows = real_rows(delay).drop(columns="late")
    rows = labelled_rows(rows.assign(delay_minutes=derive_label(rows, delay).to_numpy()), delay)
    honest = [*delay.numeric_features, *delay.categorical_features]
    alone = single_feature_spearman(rows, [*honest, "dep_delay"], "delay_minutes")
    limit = delay.section("evaluation")["sanity"]["max_single_feature_spearman"]
    assert alone["dep_delay"] > limit and set(alone) == {*honest, "dep_delay"}
    assert max(v for k, v in alone.items() if k != "dep_delay") < limit


def test_regression_sanity_checks_range_bias_and_constant_training_labels():
    from mlgate.config.spec import load_spec
    from mlgate.promote.sanity import sanity_checks

    delay = load_spec("flights_delay")
    frame = pd.DataFrame({"delay_minutes": [10.0, 20.0, 30.0, 40.0]})
    probe = {
        "loaded": True,
        "load_seconds": 0.1,
        "one_row": [12.0],
        "scores": np.array([12.0, 18.0, 33.0, 37.0]),
        "latency_ms": {"p50": 1.0, "p95": 2.0, "batches": 1, "batch_rows": 4},
        "size_bytes": 1000,
        "features": {
            "schema": delay.feature_names,
            "booster": delay.feature_names,
            "matrix": delay.feature_names,
            "inputs": ["distance"],
        },
        "single_feature": {"distance": 0.1},
    }
    checks = {c["check"]: c for c in sanity_checks(delay, probe, frame, {"train_label_sd": 3.0})}
    assert all(c["passed"] for c in checks.values()), checks
    assert checks["bias"]["observed"]["bias"] == 0.0 and "leakage" in checks
    off = {**probe, "scores": np.array([2000.0, 18.0, np.nan, 37.0])}
    checks = {c["check"]: c for c in sanity_checks(delay, off, frame, {"train_label_sd": 0.0})}
    failed = {name for name, c in checks.items() if not c["passed"]}
    assert failed == {"training_labels", "no_nan", "in_range", "bias"}
    assert checks["in_range"]["expected"] == "every score within [-120, 1500]"


def test_the_leakage_sample_is_seeded_uniform_and_says_so(spec):
    """Three real days added one at a time: up to the limit every row is kept, in order;
    beyond it a seeded sample of the limit, drawn from every day, and the leakage check
    says it was measured on a sample."""
    from mlgate.promote.sanity import RowSample, _leakage_check

    days = [simulator.day_frames(ds)[0] for ds in ("2013-03-05", "2013-03-06", "2013-03-07")]
    whole = pd.concat(days, ignore_index=True)
    everything = RowSample(len(whole))
    for day in days:
        everything.add(day)
    pd.testing.assert_frame_equal(everything.rows, whole)
    samples = []
    for _ in range(2):
        sample = RowSample(900, seed=0)
        for i, day in enumerate(days):
            sample.add(day.assign(day=i))
        samples.append(sample)
    first, again = samples
    assert first.kept == 900 and first.seen == len(whole)
    pd.testing.assert_frame_equal(first.rows, again.rows)
    assert first.rows[spec.id_column].is_unique
    assert set(first.rows[spec.id_column]) <= set(whole[spec.id_column])
    per_day = first.rows["day"].value_counts()  # about 300 of each day's rows
    assert len(per_day) == 3 and per_day.min() > 200
    probe = {"single_feature": {"humid": 0.74}, "single_feature_rows": 900, "rows": len(whole)}
    check = _leakage_check(spec, probe, spec.section("evaluation")["sanity"])
    assert check["passed"] and check["observed"]["sample_rows"] == 900
    assert check["expected"].endswith(f"(on a seeded sample of 900 of the {len(whole):,} rows)")
