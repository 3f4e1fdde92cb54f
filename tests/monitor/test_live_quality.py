"""Live quality in the task's terms (mlgate.monitor.day, mlgate.monitor.report), on small
frames: AUC and rate for a binary model, RMSE and MAE for a regression; a worsening RMSE is
evidence like an AUC drop; a figure that cannot be computed is left out, never NaN."""

import json

import numpy as np
import pandas as pd

from mlgate.config.spec import load_spec
from mlgate.monitor.day import evidence, quality_of
from mlgate.monitor.report import report_html


def test_binary_live_quality_with_one_class_has_no_auc_and_no_nan(spec):
    live = quality_of(spec, pd.Series([0, 0, 0, 0]), pd.Series([0.1, 0.2, 0.3, 0.4]), 0.95)
    assert "auc" not in live and live["rows"] == 4
    json.dumps(live, allow_nan=False)


def test_regression_live_quality_and_its_worsening_is_evidence():
    delay = load_spec("flights_delay")
    rng = np.random.default_rng(0)
    y = pd.Series(rng.gamma(1.0, 30.0, 2000) - 10)
    live = quality_of(delay, y, y + rng.normal(0, 40, 2000), 0.95)
    assert live["rmse_low"] < live["rmse"] < live["rmse_high"] and "auc" not in live
    assert {"mae", "mae_low", "mae_high", "mean_label", "mean_prediction", "bias"} <= set(live)
    cfg = delay.section("monitoring")
    report = {"live": {**live, "labelled_rows": 2000, "coverage": 0.98}}
    # evaluated at 30 minutes of RMSE: 40 now is more than 25% worse, credibly
    assert any("live RMSE" in r for r in evidence(report, cfg, None, eval_rmse=30.0))
    assert evidence(report, cfg, None, eval_rmse=38.0) == []  # within 25%: no evidence
    short = {"live": {**live, "labelled_rows": 100, "coverage": 0.98}}
    assert evidence(short, cfg, None, eval_rmse=30.0) == []  # too few labels to judge
    page = report_html({"model": "flights_delay", "ds": "2013-02-14", "retrain": False, **report})
    assert "<th>RMSE</th>" in page and "<th>AUC</th>" not in page
    assert json.dumps(quality_of(delay, y.head(1), y.head(1), 0.95)) == '{"rows": 1}'
