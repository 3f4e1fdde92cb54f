"""The statistics under the promotion rules (mlgate.promote.stats), on real and small scores."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from mlgate.lake.names import dates
from mlgate.promote import stats
from mlgate.promote.stats import quality


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


def test_holm_adjusts_in_order():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert (
        stats.p_worse_than(-0.10, 0.01, 0.02) < 1e-9 and stats.p_worse_than(0.0, 0.01, 0.02) > 0.9
    )


def test_quality_metrics():
    labels, scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])
    m = quality(labels, scores)
    assert m["rows"] == 4 and m["auc"] == 0.75 and m["positive_rate"] == 0.5
    assert "auc" not in quality(np.array([1, 1]), np.array([0.2, 0.9]))  # one class: no AUC


def test_paired_rmse_and_mae_intervals_cover_a_bootstrap_on_real_delays():
    """The delta-method interval of RMSE(a) - RMSE(b) and the CLT interval of MAE(a) - MAE(b)
    agree with a paired bootstrap, on heavy-tailed real arrival delays."""
    from mlgate.demo import simulator

    delays = pd.concat(
        [simulator.day_frames(ds)[1]["arr_delay"] for ds in dates("2013-03-01", "2013-03-04")]
    ).dropna()
    y = delays.to_numpy(dtype=float)
    rng = np.random.default_rng(0)
    a = y.mean() + 0.3 * (y - y.mean()) + rng.normal(0, 20, len(y))  # a useful model
    b = np.full(len(y), y.mean())  # the constant
    paired = stats.paired_regression(y, a, b)
    rmse = lambda p, idx: np.sqrt(np.mean((p[idx] - y[idx]) ** 2))  # noqa: E731
    boot = []
    for _ in range(400):
        idx = rng.integers(0, len(y), len(y))
        boot.append(rmse(a, idx) - rmse(b, idx))
    assert paired["rmse_diff"]["diff"] == pytest.approx(rmse(a, slice(None)) - rmse(b, slice(None)))
    assert paired["rmse_diff"]["se"] == pytest.approx(np.std(boot), rel=0.2)
    assert paired["mae_diff"]["diff"] == pytest.approx(np.mean(np.abs(a - y) - np.abs(b - y)))
    alone = stats.regression_quality(y, a)
    assert alone["rmse_low"] < alone["rmse"] < alone["rmse_high"] and alone["rows"] == len(y)
    assert alone["bias"] == pytest.approx(np.mean(a - y))


def test_a_figure_that_cannot_be_computed_is_left_out_never_nan():
    assert "auc" not in quality(np.array([1, 1, 1]), np.array([0.2, 0.5, 0.9]))
    assert quality(np.array([], dtype=int), np.array([])) == {"rows": 0}
    assert stats.regression_quality(np.array([3.0]), np.array([2.0])) == {"rows": 1}
    assert stats.paired_regression(np.array([]), np.array([]), np.array([])) == {}
    cleaned = stats.finite_or_none({"a": [float("nan"), 1.0], "b": {"c": np.float64("inf")}})
    assert cleaned == {"a": [None, 1.0], "b": {"c": None}}


def test_the_clt_and_the_bootstrap_agree_on_real_paired_log_loss_differences(real_models):
    """About 19,000 real rows (three weeks of March) scored by two real models: the CLT
    interval of the mean paired log-loss difference matches the 1000-round paired
    bootstrap's, and the bootstrap is what runs up to the row limit, the CLT above it."""
    labels, deep, stump = real_models("2013-03-12", "2013-03-31")
    diffs = stats.row_logloss(labels, deep) - stats.row_logloss(labels, stump)
    assert len(diffs) > 18_000
    boot = stats.mean_interval(diffs, 0.95, 1000, max_rows=len(diffs))
    clt = stats.mean_interval(diffs, 0.95, 1000, max_rows=len(diffs) - 1)
    assert (boot["method"], clt["method"]) == ("bootstrap", "clt")
    assert boot["mean"] == clt["mean"] == pytest.approx(diffs.mean())
    half = (boot["high"] - boot["low"]) / 2
    # measured on these 18,672 rows: the bounds differ by 0.8% of the half-width at the
    # gate's seed 0, by up to 9% over seeds 0..4 (the bootstrap's own noise at 1000 rounds)
    assert clt["low"] == pytest.approx(boot["low"], abs=0.12 * half)
    assert clt["high"] == pytest.approx(boot["high"], abs=0.12 * half)
    se = diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert clt["high"] - clt["mean"] == pytest.approx(1.959964 * se, rel=1e-6)
    assert clt["interval"] == f"95% interval by the CLT over {len(diffs):,} paired rows"
    assert boot["interval"] == (
        f"95% interval by the paired bootstrap, 1000 rounds over {len(diffs):,} rows"
    )
