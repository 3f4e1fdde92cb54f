"""Drift that means something: each feature of the current data is tested against a
reference profile of the champion's training data, with a threshold calibrated on the
reference itself.

- Numeric features: the Kolmogorov-Smirnov distance over the reference's quantile bins
  (missing values are a bin of their own, ranked first). Categorical features: the
  Jensen-Shannon divergence of the category shares (unseen categories share one bin).
- Each statistic is judged against its permutation distribution: the reference and
  current counts are pooled and split again at random (a multivariate hypergeometric
  draw, so it costs the same at a thousand rows or a million). With `k` tests at a
  false-alarm rate `a`, each test runs at `a / k` (Bonferroni): data drawn from the
  reference's own distribution is called drifted at most `a` of the time, whatever the
  number of rows.
- A reference calibrated on chunks (the weeks of the training window) also knows how much
  its own weeks differ from each other: a feature only drifts when it is more different
  than chance allows *and* than any week the model was trained on.
- The verdict says what was measured: `drift` when any feature (or the predictions)
  drifted at the family-wise rate `a`. Apart from it, the drifted features are weighed by
  the model's feature importance (`drifted_importance`); the monitor asks for retraining
  when that share reaches `min_drifted_share` (`importance_drift`).

The reference profile (`mlgate.model.profile`) is small JSON of counts, computed once
from the training data and logged with the model, so the monitor never re-reads the
training window. The current window is counted over the same bins day by day
(`count_batches`): counts add up, so the monitor never holds the window's feature frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from mlgate.model.profile import (
    PREDICTIONS,
    bin_labels,
    check_columns,
    counts_for,
    missing_share,
    profile,
    statistic,
)

METHODS = {"numeric": "ks", "categorical": "jensen_shannon"}


def permutation_null(
    kind: str, ref: np.ndarray, cur: np.ndarray, rounds: int, rng: np.random.Generator
) -> np.ndarray:
    """The statistic under "both samples come from one distribution": the pooled counts
    split again at random, `rounds` times."""
    pooled = (ref + cur).astype(np.int64)
    draws = rng.multivariate_hypergeometric(pooled, int(cur.sum()), size=rounds)
    if kind == "numeric":
        return _null_ks(pooled, draws)
    return statistic(kind, pooled - draws, draws)


def _null_ks(pooled: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """`statistic("numeric", pooled - draws, draws)` row by row, in fewer passes: every row
    splits the same totals, so |F_ref - F_cur| = |P / R - D (1 / R + 1 / C)| with P and D
    the cumulative pooled and drawn counts, R and C the two totals."""
    drawn = int(draws[0].sum())  # the same in every row
    cur_total, ref_total = max(1, drawn), max(1, int(pooled.sum()) - drawn)
    gaps = np.cumsum(draws, axis=1).astype(np.float64)
    gaps *= 1 / ref_total + 1 / cur_total
    np.subtract(np.cumsum(pooled) / ref_total, gaps, out=gaps)
    return np.abs(gaps, out=gaps).max(axis=1)


def rounds_for(level: float) -> int:
    """Enough permutations to resolve a p-value of `level` (at least ten beyond it)."""
    return int(min(200_000, max(1000, math.ceil(10 / level))))


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    method: str
    statistic: float
    threshold: float  # the larger of the permutation threshold and the weekly spread
    chance_threshold: float  # exceeded by chance at the test's level
    week_threshold: float  # the largest statistic of one reference week (0 if not calibrated)
    p_value: float
    drifted: bool
    importance: float
    rows: int
    missing_share: float
    reference_missing_share: float
    bins: list[str]
    reference_shares: list[float]
    current_shares: list[float]


@dataclass(frozen=True)
class WindowCounts:
    """The current window as the drift test sees it: each reference feature's counts over
    its bins, and the rows they came from. Counts add up, so a window counted day by day
    is the window counted at once, without holding its feature frame."""

    counts: dict[str, np.ndarray]
    rows: int


def count_batches(reference: dict, batches: Iterable[pd.DataFrame]) -> WindowCounts:
    """Count each reference feature of `batches` (the window's days, one at a time) over
    its bins; a feature some batch lacks is left out (it is missing from the current
    data)."""
    counts: dict[str, np.ndarray] = {}
    lacking: set[str] = set()
    rows = 0
    for batch in batches:
        rows += len(batch)
        for col, entry in reference["features"].items():
            if col not in batch.columns:
                lacking.add(col)
            else:
                counts[col] = counts.get(col, 0) + counts_for(entry, batch[col])
    return WindowCounts({c: n for c, n in counts.items() if c not in lacking}, rows)


def as_counts(reference: dict, current: pd.DataFrame | WindowCounts) -> WindowCounts:
    """`current` counted over the reference's bins (a frame is one batch)."""
    return current if isinstance(current, WindowCounts) else count_batches(reference, [current])


def test_feature(
    name: str,
    entry: dict,
    values: pd.Series | np.ndarray,
    level: float,
    rounds: int,
    rng: np.random.Generator,
    importance: float = 1.0,
) -> FeatureDrift:
    """One feature's drift test at `level` against its reference entry; `values` are the
    current values, or their counts over the entry's bins (an array)."""
    cur = values if isinstance(values, np.ndarray) else counts_for(entry, values)
    ref = np.asarray(entry["counts"], dtype=np.int64)
    stat = float(statistic(entry["kind"], ref, cur))
    null = permutation_null(entry["kind"], ref, cur, rounds, rng)
    p_value = float((1 + np.sum(null >= stat - 1e-12)) / (rounds + 1))
    chance = float(np.quantile(null, 1 - level, method="higher"))
    week = float(entry.get("week_threshold", 0.0))
    return FeatureDrift(
        name,
        entry["kind"],
        METHODS[entry["kind"]],
        round(stat, 6),
        round(max(chance, week), 6),
        round(chance, 6),
        round(week, 6),
        round(p_value, 6),
        bool(p_value <= level and stat > week),
        round(float(importance), 6),
        int(cur.sum()),
        missing_share(entry, cur),
        missing_share(entry, ref),
        bin_labels(entry),
        _shares(ref),
        _shares(cur),
    )


def _shares(counts: np.ndarray) -> list[float]:
    return np.round(counts / max(1, counts.sum()), 5).tolist()


def drifted_importance(results: list[FeatureDrift]) -> float:
    """The share of the tested features' importance that drifted (0 when none weighs)."""
    weight_tested = sum(f.importance for f in results)
    return (
        sum(f.importance for f in results if f.drifted) / weight_tested
        if weight_tested > 0
        else 0.0
    )


def compare(
    reference: dict,
    current: pd.DataFrame | WindowCounts,
    false_alarm_rate: float,
    min_drifted_share: float,
    predictions: pd.Series | None = None,
    skip: dict | None = None,
    seed: int = 0,
) -> dict:
    """Test every reference feature of `current` (a frame, or its counts gathered day by
    day: `count_batches`), and the predictions, when given and profiled. `skip` maps
    features left out (e.g. failed integrity checks) to the reason. Returns the drift
    section of a report: `drift` when any test (a feature or the predictions) drifted at the
    family-wise `false_alarm_rate`; `drifted_importance`, the share of the model's feature
    importance on the drifted features, and `importance_drift` when it reaches
    `min_drifted_share` (what the monitor counts as evidence)."""
    skip, current = skip or {}, as_counts(reference, current)
    missing_columns = [
        c for c in reference["features"] if c not in current.counts and c not in skip
    ]
    if missing_columns:
        raise ValueError(f"the current data lacks the reference's feature(s) {missing_columns}")
    tested = [c for c in reference["features"] if c not in skip]
    with_predictions = predictions is not None and "predictions" in reference
    level = false_alarm_rate / max(1, len(tested) + int(with_predictions))
    rounds, rng = rounds_for(level), np.random.default_rng(seed)
    weights = reference["importance"]
    results = [
        test_feature(
            c, reference["features"][c], current.counts[c], level, rounds, rng, weights.get(c, 0.0)
        )
        for c in tested
    ]
    pred = (
        test_feature(PREDICTIONS, reference["predictions"], predictions, level, rounds, rng, 0.0)
        if with_predictions
        else None
    )
    drifted, share = [f.name for f in results if f.drifted], drifted_importance(results)
    out = {
        "drift": bool(drifted) or bool(pred is not None and pred.drifted),
        "drifted": drifted,
        "drifted_importance": round(share, 4),
        "importance_drift": bool(drifted) and share >= min_drifted_share,
        "min_drifted_share": min_drifted_share,
        "false_alarm_rate": false_alarm_rate,
        "test_level": round(level, 8),
        "permutations": rounds,
        "rows": int(current.rows),
        "reference_rows": int(reference["rows"]),
        "features": [asdict(f) for f in results],
        "skipped": skip,
    }
    if pred is not None:
        out["predictions"] = asdict(pred)
    return out


def verdict_text(section: dict) -> str:
    """The verdict of a drift section in words: `yes, in a, b and the predictions` or
    `no`."""
    names = section["drifted"] + (
        ["the predictions"] if (section.get("predictions") or {}).get("drifted") else []
    )
    if not names:
        return "no"
    return "yes, in " + (f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0])


def compare_samples(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    false_alarm_rate: float = 0.05,
    min_drifted_share: float = 0.0,
    bins: int = 10,
    chunks: pd.Series | None = None,
    seed: int = 0,
) -> dict:
    """Drift of one sample against another (profiles the reference, then `compare`):
    what `mlgate drift` runs on two sets of files. A column either sample lacks, or a
    numeric one holding text, is a ValueError naming it."""
    for what, frame in (("the reference", reference), ("the current data", current)):
        check_columns(frame, numeric + categorical, numeric, what)
    return compare(
        profile(reference, numeric, categorical, bins, chunks),
        current,
        false_alarm_rate,
        min_drifted_share,
        seed=seed,
    )
