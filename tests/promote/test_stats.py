"""The statistics under the promotion rules (mlgate.promote.stats), on real and small scores."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

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
    assert np.isnan(quality(np.array([1, 1]), np.array([0.2, 0.9]))["auc"])  # one class: no AUC
