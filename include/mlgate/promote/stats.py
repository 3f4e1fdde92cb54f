"""Paired comparisons of two models on the same rows: DeLong's test for AUC, a paired
bootstrap for the mean of per-row differences (log loss; the CLT above a row count, where
the bootstrap would cost its rounds times the rows and say the same), the delta method for
RMSE and the CLT for MAE (regression), and Holm's correction when many slices are tested
at once.

A figure that cannot be computed (AUC with one class, any metric without rows) is left
out, never NaN: NaN is not JSON, and a missing figure is a refusal with its reason.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm, rankdata

EPS = 1e-7


def row_logloss(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per-row log loss of probabilities `scores` against 0/1 `labels`."""
    p = np.clip(np.asarray(scores, dtype=float), EPS, 1 - EPS)
    y = np.asarray(labels, dtype=float)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _delong_components(
    labels: np.ndarray, scores: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components (per positive, per negative), with midranks."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    m, n = len(pos), len(neg)
    all_ranks = rankdata(np.concatenate([pos, neg]))
    pos_ranks, neg_ranks = rankdata(pos), rankdata(neg)
    auc = (all_ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v_pos = (all_ranks[:m] - pos_ranks) / n
    v_neg = 1 - (all_ranks[m:] - neg_ranks) / m
    return float(auc), v_pos, v_neg


def delong(labels, scores_a, scores_b=None, level: float = 0.95) -> dict:
    """AUC of `scores_a` with its interval, and, when `scores_b` is given, the paired
    difference AUC(a) - AUC(b) with its interval and standard error (DeLong et al. 1988,
    in Sun and Xu's O(n log n) form). Labels need both classes."""
    labels = np.asarray(labels, dtype=int)
    if len(np.unique(labels)) < 2:
        raise ValueError("AUC needs both classes among the labels")
    z = z_value(level)
    auc_a, pa, na = _delong_components(labels, np.asarray(scores_a, dtype=float))
    m, n = len(pa), len(na)
    var_a = np.var(pa, ddof=1) / m + np.var(na, ddof=1) / n
    out = {
        "auc": auc_a,
        "auc_low": auc_a - z * np.sqrt(var_a),
        "auc_high": auc_a + z * np.sqrt(var_a),
        "auc_se": float(np.sqrt(var_a)),
        "positives": m,
        "negatives": n,
        "level": level,
    }
    if scores_b is None:
        return out
    auc_b, pb, nb = _delong_components(labels, np.asarray(scores_b, dtype=float))
    cov_pos, cov_neg = np.cov(np.vstack([pa, pb])), np.cov(np.vstack([na, nb]))
    var = (cov_pos[0, 0] + cov_pos[1, 1] - 2 * cov_pos[0, 1]) / m + (
        cov_neg[0, 0] + cov_neg[1, 1] - 2 * cov_neg[0, 1]
    ) / n
    se = float(np.sqrt(max(var, 0.0)))
    diff = auc_a - auc_b
    return {
        **out,
        "other_auc": auc_b,
        "diff": diff,
        "diff_se": se,
        "diff_low": diff - z * se,
        "diff_high": diff + z * se,
    }


def p_worse_than(diff: float, se: float, margin: float) -> float:
    """One-sided p-value against "the difference is no worse than -margin": small when
    the data show a drop larger than `margin`."""
    if se == 0:
        return 0.0 if diff < -margin else 1.0
    return float(norm.cdf((diff + margin) / se))


def bootstrap_mean(values, level: float = 0.95, rounds: int = 1000, seed: int = 0) -> dict:
    """Mean of per-row values (paired differences) with a percentile bootstrap interval."""
    values = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = np.empty(rounds)
    chunk = max(1, 2_000_000 // max(len(values), 1))
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        means[start : start + size] = values[
            rng.integers(0, len(values), size=(size, len(values)))
        ].mean(axis=1)
    tail = (1 - level) / 2
    return {
        "mean": float(values.mean()),
        "low": float(np.quantile(means, tail)),
        "high": float(np.quantile(means, 1 - tail)),
        "rounds": rounds,
        "level": level,
    }


def clt_mean(values, level: float = 0.95) -> dict:
    """Mean of per-row values (paired differences) with its normal interval, mean ± z·sd/√n
    (the central limit theorem; at least two rows)."""
    values = np.asarray(values, dtype=float)
    around = _around(float(values.mean()), _se_of_mean(values), level)
    return {"mean": around["diff"], "low": around["low"], "high": around["high"], "level": level}


def clustered_mean(values, clusters, level: float = 0.95) -> dict:
    """Mean of per-row values whose rows come in clusters (days: the rows of one day share
    its weather and its schedule, so they are not independent) with a cluster-robust
    interval: the spread of the clusters' summed residuals, and Student's t with one degree
    of freedom fewer than clusters. One cluster gives an unbounded interval: a single day
    says nothing about the next."""
    from scipy.stats import t

    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    groups = _cluster_codes(clusters)
    count = int(groups.max()) + 1 if len(groups) else 0
    if count < 2:
        return {"mean": mean, "low": -np.inf, "high": np.inf, "level": level, "clusters": count}
    sums = np.bincount(groups, weights=values - mean, minlength=count)
    se = float(np.sqrt(count / (count - 1) * np.sum(sums**2)) / len(values))
    half = float(t.ppf(0.5 + level / 2, count - 1)) * se
    return {
        "mean": mean,
        "low": mean - half,
        "high": mean + half,
        "level": level,
        "clusters": count,
    }


def _cluster_codes(labels) -> np.ndarray:
    """Integer codes 0..k-1 of the labels' distinct values."""
    return np.unique(np.asarray(labels), return_inverse=True)[1].ravel()


def mean_interval(
    values, level: float, rounds: int, max_rows: int | None = None, seed: int = 0
) -> dict:
    """Mean of per-row paired differences with its interval: the paired bootstrap up to
    `max_rows` rows (None: always), the CLT above; `method` and `interval` say which."""
    values = np.asarray(values, dtype=float)
    if max_rows is None or len(values) <= max_rows:
        out = {**bootstrap_mean(values, level, rounds, seed), "method": "bootstrap"}
    else:
        out = {**clt_mean(values, level), "method": "clt"}
    return {**out, "rows": int(len(values)), "interval": interval_method(out, len(values))}


def interval_method(result: dict, rows: int) -> str:
    """Which method made an interval, in words: `95% interval by the paired bootstrap, 1000
    rounds over 9,876 rows` or `95% interval by the CLT over 1,260,000 paired rows`."""
    level = f"{result['level']:.0%} interval"
    if result["method"] == "clt":
        return f"{level} by the CLT over {rows:,} paired rows"
    return f"{level} by the paired bootstrap, {result['rounds']} rounds over {rows:,} rows"


def holm(p_values: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    order = np.argsort(p_values)
    k = len(p_values)
    adjusted, running = [0.0] * k, 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (k - rank) * p_values[idx]))
        adjusted[idx] = running
    return adjusted


def quality(labels: np.ndarray, scores: np.ndarray) -> dict:
    """AUC, log loss, base rate and mean prediction of scores against 0/1 labels."""
    from sklearn.metrics import log_loss, roc_auc_score

    labels = np.asarray(labels, dtype=int)
    scores = np.clip(np.asarray(scores, dtype=float), EPS, 1 - EPS)
    out: dict = {"rows": int(len(labels))}
    if not len(labels):
        return out
    if len(np.unique(labels)) == 2:  # AUC needs both classes: left out otherwise
        out["auc"] = float(roc_auc_score(labels, scores))
    return {
        **out,
        "logloss": float(log_loss(labels, scores, labels=[0, 1])),
        "positive_rate": float(labels.mean()),
        "mean_prediction": float(scores.mean()),
    }


def z_value(level: float) -> float:
    """The normal quantile of a two-sided interval at `level` (1.96 at 0.95)."""
    return float(norm.ppf(0.5 + level / 2))


def interval_text(d: dict, digits: int) -> str:
    """A difference with its interval, as a reason reads it: `+0.0123 (-0.0010 to +0.0256)`."""
    return f"{d['diff']:+.{digits}f} ({d['low']:+.{digits}f} to {d['high']:+.{digits}f})"


def _around(centre: float, se: float, level: float) -> dict:
    """A normal interval around `centre` with standard error `se`."""
    return {
        "diff": centre,
        "low": centre - z_value(level) * se,
        "high": centre + z_value(level) * se,
        "se": se,
    }


def _se_of_mean(values: np.ndarray) -> float:
    """Standard error of the mean of per-row values (n >= 2)."""
    return float(values.std(ddof=1) / np.sqrt(len(values)))


def rmse(labels, predictions) -> float:
    """Root mean squared error of `predictions` against `labels`."""
    errors = np.asarray(predictions, dtype=float) - np.asarray(labels, dtype=float)
    return float(np.sqrt(np.mean(errors**2)))


def regression_quality(labels, predictions, level: float = 0.95) -> dict:
    """RMSE (delta-method interval), MAE (CLT interval), mean label, mean prediction and
    bias (mean of prediction minus label). Without two rows, only the row count."""
    y, p = np.asarray(labels, dtype=float), np.asarray(predictions, dtype=float)
    out: dict = {"rows": int(len(y))}
    if len(y) < 2:
        return out
    squared, absolute = (p - y) ** 2, np.abs(p - y)
    rmse = float(np.sqrt(squared.mean()))
    # delta method: RMSE = sqrt(mean(e^2)); its per-row influence is e^2 / (2 RMSE)
    rmse_ci = _around(rmse, _se_of_mean(squared / (2 * max(rmse, EPS))), level)
    mae_ci = _around(float(absolute.mean()), _se_of_mean(absolute), level)
    return {
        **out,
        "rmse": rmse,
        "rmse_low": rmse_ci["low"],
        "rmse_high": rmse_ci["high"],
        "mae": mae_ci["diff"],
        "mae_low": mae_ci["low"],
        "mae_high": mae_ci["high"],
        "mean_label": float(y.mean()),
        "mean_prediction": float(p.mean()),
        "bias": float((p - y).mean()),
    }


def rmse_change_terms(labels, predictions_a, predictions_b) -> tuple[float, np.ndarray]:
    """RMSE(a) - RMSE(b) and its per-row delta-method terms (e_a^2 / 2 RMSE_a -
    e_b^2 / 2 RMSE_b): their mean's standard error is the change's."""
    y = np.asarray(labels, dtype=float)
    sq_a = (np.asarray(predictions_a, dtype=float) - y) ** 2
    sq_b = (np.asarray(predictions_b, dtype=float) - y) ** 2
    rmse_a, rmse_b = float(np.sqrt(sq_a.mean())), float(np.sqrt(sq_b.mean()))
    return rmse_a - rmse_b, sq_a / (2 * max(rmse_a, EPS)) - sq_b / (2 * max(rmse_b, EPS))


def paired_regression(labels, predictions_a, predictions_b, level: float = 0.95) -> dict:
    """RMSE(a) - RMSE(b) and MAE(a) - MAE(b) on the same rows, each {diff, low, high, se}.
    RMSE by the delta method on the paired squared errors (the difference of two
    root-mean-squares linearised per row: e_a^2 / 2 RMSE_a - e_b^2 / 2 RMSE_b), MAE by the
    CLT on the per-row differences of absolute errors. Empty without two rows."""
    y = np.asarray(labels, dtype=float)
    a, b = np.asarray(predictions_a, dtype=float), np.asarray(predictions_b, dtype=float)
    if len(y) < 2:
        return {}
    centre, influence = rmse_change_terms(y, a, b)
    absolute = np.abs(a - y) - np.abs(b - y)
    return {
        "rmse_diff": _around(centre, _se_of_mean(influence), level),
        "mae_diff": _around(float(absolute.mean()), _se_of_mean(absolute), level),
    }


def finite_or_none(value):
    """`value` with every non-finite float (NaN, inf) replaced by None, in nested dicts,
    lists and tuples: what goes to JSON, XCom and MLflow never carries NaN."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value
