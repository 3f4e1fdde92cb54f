"""The promotion rules on intervals, and the statistics under them, on real scores."""

import numpy as np
import pytest
from tests.conftest import spec_with
from sklearn.metrics import roc_auc_score

from mlgate.promote import stats
from mlgate.promote.apply import route
from mlgate.promote.decide import ASK, PROMOTE, REFUSE, compare, decide
from mlgate.promote.stats import quality


def comparison(
    auc_diff=None, loss_diff=(0.0, -0.001, 0.001), auc=0.70, low=0.68, high=0.72, rows=5000
):
    out = {
        "candidate": {"rows": rows, "auc": auc, "auc_low": low, "auc_high": high},
        "champion": {"auc": 0.69},
    }
    if auc_diff is not None:
        out["auc_diff"] = dict(zip(("diff", "low", "high"), auc_diff))
        out["logloss_diff"] = dict(zip(("diff", "low", "high"), loss_diff))
    return out


def test_the_first_model_is_judged_on_its_interval(spec):
    assert decide(spec, comparison(), [], [], "1", None).outcome == PROMOTE
    refused = decide(spec, comparison(auc=0.60, low=0.58, high=0.615), [], [], "1", None)
    assert refused.outcome == REFUSE and "below the first-model minimum 0.62" in refused.reasons[0]
    gray = decide(spec, comparison(auc=0.63, low=0.61, high=0.65), [], [], "1", None)
    assert gray.outcome == ASK and "straddles the first-model minimum" in gray.sentence
    assert gray.sentence.startswith(
        "Ask a person about v1 as the first champion: AUC 0.6300 (95% CI 0.6100 to 0.6500)"
    )


def test_better_rule_promotes_only_when_the_lower_bound_clears_the_margin(spec):
    better = spec_with(spec, rule="better", min_auc_gain=0.0)
    assert decide(better, comparison((0.02, 0.01, 0.03)), [], [], "2", "1").outcome == PROMOTE
    same = decide(better, comparison((0.0, 0.0, 0.0)), [], [], "2", "1")
    assert same.outcome == REFUSE and "no better than the champion" in same.sentence
    noisy = decide(better, comparison((0.002, -0.004, 0.008)), [], [], "2", "1")
    assert noisy.outcome == ASK and "straddles the required gain" in noisy.sentence


def test_non_inferior_rule_needs_fresher_data(spec):
    assert (
        decide(spec, comparison((-0.002, -0.008, 0.004)), [], [], "2", "1", fresher=True).outcome
        == PROMOTE
    )
    stale = decide(spec, comparison((-0.002, -0.008, 0.004)), [], [], "2", "1", fresher=False)
    assert stale.outcome == REFUSE and "not trained on fresher data" in stale.sentence
    worse = decide(spec, comparison((-0.03, -0.04, -0.02)), [], [], "2", "1", fresher=True)
    assert worse.outcome == REFUSE and "worse by more than the margin 0.01" in worse.sentence
    assert (
        decide(spec, comparison((-0.01, -0.018, -0.002)), [], [], "2", "1", fresher=True).outcome
        == ASK
    )


def test_log_loss_sanity_slices_and_rows_refuse(spec):
    loss = decide(
        spec,
        comparison((0.01, 0.0, 0.02), loss_diff=(0.01, 0.008, 0.012)),
        [],
        [],
        "2",
        "1",
        fresher=True,
    )
    assert loss.outcome == REFUSE and "up by more than the allowed 0.002" in loss.sentence
    failed = [{"check": "calibration", "passed": False, "observed": 0.4, "expected": "within 0.1"}]
    assert decide(
        spec, comparison((0.01, 0.0, 0.02)), failed, [], "2", "1", True
    ).sentence.startswith("Refuse v2 against champion v1: sanity check calibration failed")
    slices = [
        {
            "slice": "origin",
            "value": "LGA",
            "rows": 3000,
            "judged": True,
            "regressed": True,
            "champion_auc": 0.7,
            "candidate_auc": 0.6,
            "p_worse_holm": 0.001,
        }
    ]
    blocked = decide(spec, comparison((0.02, 0.01, 0.03)), [], slices, "2", "1", True)
    assert (
        blocked.outcome == REFUSE
        and "slice origin=LGA got worse: AUC 0.7000 -> 0.6000" in blocked.sentence
    )
    both = decide(spec, comparison((-0.03, -0.04, -0.02)), [], slices, "2", "1", True)
    assert both.sentence.endswith(
        "worse by more than the margin 0.01 (and 1 more reason to refuse)."
    )
    few = decide(spec, comparison((0.02, 0.01, 0.03), rows=50), [], [], "2", "1", True)
    assert few.outcome == REFUSE and "only 50 evaluation rows, the spec needs 1000" in few.reasons


@pytest.fixture(scope="module")
def real_scores():
    """Two real XGBoost models' scores on a real day they were not trained on."""
    import xgboost as xgb

    from mlgate.config.spec import load_spec
    from mlgate.demo import simulator
    from mlgate.ingest.labels import derive_label
    from mlgate.model.features import model_matrix, schema_for

    spec = load_spec("flights")
    frames = []
    for ds in simulator.dates("2013-03-01", "2013-03-11"):
        features, outcomes = simulator.day_frames(ds)
        frames.append(features.assign(late=derive_label(outcomes, spec).to_numpy(), ds=ds))
    import pandas as pd

    frame = pd.concat(frames, ignore_index=True)
    train, test = frame[frame.ds < "2013-03-09"], frame[frame.ds >= "2013-03-09"]
    schema = schema_for(spec, train)
    out = {}
    for name, depth in (("deep", 4), ("stump", 1)):
        booster = xgb.train(
            {"objective": "binary:logistic", "max_depth": depth, "eta": 0.1, "nthread": 2},
            xgb.DMatrix(model_matrix(train, schema), train["late"], enable_categorical=True),
            60,
        )
        out[name] = booster.predict(
            xgb.DMatrix(model_matrix(test, schema), enable_categorical=True)
        )
    return test["late"].to_numpy(), out["deep"], out["stump"]


def test_delong_matches_a_paired_bootstrap_on_real_scores(real_scores):
    labels, a, b = real_scores
    result = stats.delong(labels, a, b)
    assert result["auc"] == pytest.approx(roc_auc_score(labels, a)) and result[
        "other_auc"
    ] == pytest.approx(roc_auc_score(labels, b))
    rng = np.random.default_rng(1)
    diffs = []
    for _ in range(300):
        idx = rng.integers(0, len(labels), len(labels))
        diffs.append(roc_auc_score(labels[idx], a[idx]) - roc_auc_score(labels[idx], b[idx]))
    assert result["diff_se"] == pytest.approx(np.std(diffs), rel=0.25)
    same = stats.delong(labels, a, a)
    assert same["diff"] == 0 and same["diff_se"] == 0


def test_compare_gives_intervals_and_churn(real_scores):
    labels, a, b = real_scores
    result = compare(labels, a, b, level=0.95, rounds=500)
    assert result["auc_diff"]["low"] < result["auc_diff"]["diff"] < result["auc_diff"]["high"]
    loss = result["logloss_diff"]
    assert loss["low"] < loss["diff"] < loss["high"]
    assert loss["diff"] == pytest.approx(
        quality(labels, a)["logloss"] - quality(labels, b)["logloss"], abs=1e-9
    )
    assert 0 < result["churn"]["mean_abs_change"] < 1


def test_holm_adjusts_in_order():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert (
        stats.p_worse_than(-0.10, 0.01, 0.02) < 1e-9 and stats.p_worse_than(0.0, 0.01, 0.02) > 0.9
    )


def test_quality_metrics():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    m = quality(labels, scores)
    assert m["rows"] == 4 and m["auc"] == 0.75 and m["positive_rate"] == 0.5
    assert np.isnan(quality(np.array([1, 1]), np.array([0.2, 0.9]))["auc"])  # one class: no AUC


def test_the_train_dag_routes_by_outcome_and_backfills_never_promote(spec):
    def d(outcome):
        return {"outcome": outcome, "sentence": f"{outcome} v2"}

    assert route(spec, d(PROMOTE), "scheduled") == ("promote", "promote v2")
    assert route(spec, d(ASK), "manual")[0] == "approve"
    assert route(spec, d(ASK), "manual", gray_zone="refuse") == (None, "champion unchanged: ask v2")
    assert route(spec, d(REFUSE), "asset_triggered") == (None, "champion unchanged: refuse v2")
    for outcome in (PROMOTE, ASK):
        assert route(spec, d(outcome), "backfill") == (
            None,
            f"backfill runs never promote; the decision was: {outcome} v2",
        )
    no_asking = spec_with(spec)
    no_asking.raw["evaluation"]["approval"] = {"ask": False}
    assert route(no_asking, d(ASK), "manual")[0] is None


def test_training_overrides_are_checked_before_anything_runs(spec):
    from mlgate.train.candidate import check_overrides

    assert check_overrides(spec, {"params": {"max_depth": 3}, "drop_features": ["temp"]})[
        "params"
    ] == {"max_depth": 3}
    for bad, message in (
        (
            {"learning_rate": 0.1},
            "unknown override 'learning_rate'; overrides are drop_features, num_boost_round, params",
        ),
        ({"num_boost_round": "many"}, "override 'num_boost_round' must be a int"),
        ({"num_boost_round": 0}, "must be at least 1"),
        (
            {"drop_features": ["arr_delay"]},
            r"drop_features \['arr_delay'\] are not features of flights_late",
        ),
    ):
        with pytest.raises(ValueError, match=message):
            check_overrides(spec, bad)
