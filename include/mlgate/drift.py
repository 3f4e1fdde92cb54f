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
- The verdict weighs the drifted features by the model's feature importance.

A profile is small JSON of counts, computed once from the training data and logged with
the model, so the monitor never re-reads the training window.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

MISSING = "__missing__"
OTHER = "__other__"
METHODS = {"numeric": "ks", "categorical": "jensen_shannon"}
PREDICTIONS = "prediction"
EXACT_VALUES = 64


def profile_feature(values: pd.Series, kind: str, bins: int = 10) -> dict:
    """The reference of one feature: its bins and the reference's count in each."""
    if kind == "numeric":
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        present = np.unique(numbers.dropna().to_numpy())
        # few distinct values get a bin each: quantile edges that fall inside a heap of ties
        # would follow the reference's own noise and make the test too eager
        edges = present[1:] if len(present) <= EXACT_VALUES else np.unique(
            np.quantile(numbers.dropna().to_numpy(), np.linspace(0, 1, bins + 1)[1:-1]))
        entry = {"kind": kind, "edges": edges.tolist()}
    else:
        counts = _category_values(values).value_counts()
        entry = {"kind": kind, "categories": sorted(counts.index.tolist()) + [OTHER]}
    entry["counts"] = counts_for(entry, values).tolist()
    return entry


def counts_for(entry: dict, values: pd.Series) -> np.ndarray:
    """Counts of `values` over the bins of a reference entry (numeric: missing first, then
    the quantile bins; categorical: the reference's categories, then all unseen ones)."""
    if entry["kind"] == "numeric":
        arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(arr)
        idx = np.searchsorted(np.asarray(entry["edges"], dtype=float), arr[~missing], side="right")
        return np.concatenate([[missing.sum()], np.bincount(idx, minlength=len(entry["edges"]) + 1)]).astype(np.int64)
    known = entry["categories"][:-1]
    codes = pd.Categorical(_category_values(values), categories=known).codes
    return np.bincount(np.where(codes < 0, len(known), codes), minlength=len(known) + 1).astype(np.int64)


def bin_labels(entry: dict) -> list[str]:
    """Readable names of an entry's bins (for the report's plots)."""
    if entry["kind"] == "categorical":
        return [str(c) for c in entry["categories"]]
    edges = [f"{e:g}" for e in entry["edges"]]
    if not edges:
        return ["missing", "all"]
    return ["missing", f"< {edges[0]}", *[f"{a} to {b}" for a, b in zip(edges, edges[1:])], f">= {edges[-1]}"]


def _category_values(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), MISSING).astype(str)


def statistic(kind: str, ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """The distance of count vectors (the last axis holds the bins; rows are compared
    pairwise): KS for numeric bins, Jensen-Shannon (base 2) for categories."""
    p = ref / np.maximum(ref.sum(axis=-1, keepdims=True), 1)
    q = cur / np.maximum(cur.sum(axis=-1, keepdims=True), 1)
    if kind == "numeric":
        return np.abs(np.cumsum(p - q, axis=-1)).max(axis=-1)
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log2(p / m), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(q / m), 0.0).sum(axis=-1)
    return (kl_p + kl_q) / 2


def permutation_null(kind: str, ref: np.ndarray, cur: np.ndarray, rounds: int, rng: np.random.Generator) -> np.ndarray:
    """The statistic under "both samples come from one distribution": the pooled counts
    split again at random, `rounds` times."""
    pooled = (ref + cur).astype(np.int64)
    draws = rng.multivariate_hypergeometric(pooled, int(cur.sum()), size=rounds)
    return statistic(kind, pooled - draws, draws)


def rounds_for(level: float) -> int:
    """Enough permutations to resolve a p-value of `level` (at least ten beyond it)."""
    return int(min(200_000, max(1000, math.ceil(10 / level))))


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    kind: str
    method: str
    statistic: float
    threshold: float          # the larger of the permutation threshold and the weekly spread
    chance_threshold: float   # exceeded by chance at the test's level
    week_threshold: float     # the largest statistic of one reference week (0 if not calibrated)
    p_value: float
    drifted: bool
    importance: float
    rows: int
    missing_share: float
    reference_missing_share: float
    bins: list[str]
    reference_shares: list[float]
    current_shares: list[float]


def test_feature(name: str, entry: dict, values: pd.Series, level: float, rounds: int,
                 rng: np.random.Generator, importance: float = 1.0) -> FeatureDrift:
    """One feature's drift test at `level` against its reference entry."""
    ref, cur = np.asarray(entry["counts"], dtype=np.int64), counts_for(entry, values)
    stat = float(statistic(entry["kind"], ref, cur))
    null = permutation_null(entry["kind"], ref, cur, rounds, rng)
    p_value = float((1 + np.sum(null >= stat - 1e-12)) / (rounds + 1))
    chance = float(np.quantile(null, 1 - level, method="higher"))
    week = float(entry.get("week_threshold", 0.0))
    return FeatureDrift(name, entry["kind"], METHODS[entry["kind"]], round(stat, 6), round(max(chance, week), 6),
                        round(chance, 6), round(week, 6), round(p_value, 6),
                        bool(p_value <= level and stat > week), round(float(importance), 6), int(cur.sum()),
                        missing_share(entry, cur), missing_share(entry, ref),
                        bin_labels(entry), _shares(ref), _shares(cur))


def _shares(counts: np.ndarray) -> list[float]:
    return np.round(counts / max(1, counts.sum()), 5).tolist()


def missing_share(entry: dict, counts: np.ndarray) -> float:
    """The share of missing values in counts over an entry's bins."""
    if entry["kind"] == "numeric":
        missing = counts[0]
    else:
        missing = counts[entry["categories"].index(MISSING)] if MISSING in entry["categories"] else 0
    return round(float(missing / max(1, counts.sum())), 4)


def calibrate(entries: dict, frame: pd.DataFrame, chunks: pd.Series) -> dict:
    """Set each entry's `week_threshold` to the largest statistic one chunk of the
    reference (one week of the training window) shows against the rest of it."""
    groups = list(frame.groupby(chunks.to_numpy()).groups.values())
    for col, entry in entries.items():
        total = np.asarray(entry["counts"], dtype=np.int64)
        per_chunk = np.array([counts_for(entry, frame.loc[idx, col]) for idx in groups]) if len(groups) > 1 else None
        entry["week_threshold"] = round(float(statistic(entry["kind"], total - per_chunk, per_chunk).max()), 6) \
            if per_chunk is not None else 0.0
    return entries


def week_chunks(days: pd.Series, size: int) -> pd.Series:
    """Label each row with its block of `size` consecutive days (for calibration)."""
    first = pd.to_datetime(days).min()
    return ((pd.to_datetime(days) - first).dt.days // size).rename("chunk")


def profile(frame: pd.DataFrame, numeric: list[str], categorical: list[str], bins: int = 10,
            chunks: pd.Series | None = None, importance: dict | None = None,
            predictions: pd.Series | None = None) -> dict:
    """A reference profile: per feature its bins and counts (calibrated on `chunks` when
    given), the model's feature importance, and the profile of its predictions."""
    features = {col: profile_feature(frame[col], "numeric", bins) for col in numeric}
    features.update({col: profile_feature(frame[col], "categorical", bins) for col in categorical})
    scored = pd.DataFrame({PREDICTIONS: predictions}, index=frame.index) if predictions is not None else None
    extra = {PREDICTIONS: profile_feature(scored[PREDICTIONS], "numeric", bins)} if scored is not None else {}
    if chunks is not None:
        calibrate(features, frame, chunks)
        if scored is not None:
            calibrate(extra, scored, chunks)
    return {"kind": "mlgate.drift_reference", "rows": int(len(frame)), "bins": bins, "features": features,
            "importance": importance_shares(importance, list(features)), **({"predictions": extra[PREDICTIONS]} if extra else {})}


def importance_shares(importance: dict | None, names: list[str]) -> dict:
    """Importance per feature as shares summing to 1 (equal shares when unknown)."""
    raw = {n: float((importance or {}).get(n, 0.0)) for n in names}
    total = sum(raw.values())
    return {n: round(v / total, 6) for n, v in raw.items()} if total > 0 else {n: round(1 / len(names), 6) for n in names}


def compare(reference: dict, current: pd.DataFrame, false_alarm_rate: float, min_drifted_share: float,
            predictions: pd.Series | None = None, skip: dict | None = None, seed: int = 0) -> dict:
    """Test every reference feature of `current` (and the predictions, when given and
    profiled) and weigh the verdict by importance. `skip` maps features left out (e.g.
    failed integrity checks) to the reason. Returns the drift section of a report."""
    skip = skip or {}
    missing_columns = [c for c in reference["features"] if c not in current.columns and c not in skip]
    if missing_columns:
        raise ValueError(f"the current data lacks the reference's feature(s) {missing_columns}")
    tested = [c for c in reference["features"] if c not in skip]
    with_predictions = predictions is not None and "predictions" in reference
    level = false_alarm_rate / max(1, len(tested) + int(with_predictions))
    rounds, rng = rounds_for(level), np.random.default_rng(seed)
    weights = reference["importance"]
    results = [test_feature(c, reference["features"][c], current[c], level, rounds, rng, weights.get(c, 0.0)) for c in tested]
    weight_tested = sum(f.importance for f in results)
    share = sum(f.importance for f in results if f.drifted) / weight_tested if weight_tested > 0 else 0.0
    out = {"drift": bool(any(f.drifted for f in results)) and share >= min_drifted_share,
           "drifted_share": round(share, 4), "min_drifted_share": min_drifted_share,
           "drifted": [f.name for f in results if f.drifted],
           "false_alarm_rate": false_alarm_rate, "test_level": round(level, 8), "permutations": rounds,
           "rows": int(len(current)), "reference_rows": int(reference["rows"]),
           "features": [asdict(f) for f in results], "skipped": skip}
    if with_predictions:
        pred = test_feature(PREDICTIONS, reference["predictions"], predictions, level, rounds, rng, 0.0)
        out["predictions"] = asdict(pred)
    return out


def inputs(frame: pd.DataFrame, schema) -> pd.DataFrame:
    """What drift is measured on: the model's inputs as it sees them (derived features
    included), except that categories keep their raw values, so that a category the model
    never saw counts as new rather than as missing."""
    from mlgate.features import model_matrix

    matrix = model_matrix(frame, schema)
    for col in schema.categorical:
        matrix[col] = frame[col].to_numpy()
    return matrix


def compare_samples(reference: pd.DataFrame, current: pd.DataFrame, numeric: list[str], categorical: list[str],
                    false_alarm_rate: float = 0.05, min_drifted_share: float = 0.0, bins: int = 10,
                    chunks: pd.Series | None = None, seed: int = 0) -> dict:
    """Drift of one sample against another (profiles the reference, then `compare`):
    what `mlgate drift` runs on two sets of files."""
    return compare(profile(reference, numeric, categorical, bins, chunks), current, false_alarm_rate,
                   min_drifted_share, seed=seed)
