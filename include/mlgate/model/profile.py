"""The reference profile of a model's inputs and predictions, made once from its training
window and logged with the model, so the monitor never re-reads the training data.

Per feature: its bins and the reference's count in each. Numeric features get quantile
bins (a bin per value when there are few, missing values a bin of their own, ranked first);
categorical features a bin per category seen, missing values as a category, and one bin
for every unseen category. A profile calibrated on chunks (the weeks of the training
window) also knows how much its own weeks differ from each other (`week_threshold`), with
the same distance the monitor's drift test uses (`statistic`). The booster's feature
importance (total gain) is kept as shares, so drift can be weighed by what the model uses.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlgate.model.features import category_text, model_matrix

MISSING = "__missing__"
OTHER = "__other__"
PREDICTIONS = "prediction"
EXACT_VALUES = 64


def profile_feature(values: pd.Series, kind: str, bins: int = 10) -> dict:
    """The reference of one feature: its bins and the reference's count in each."""
    if kind == "numeric":
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        present = np.unique(numbers.dropna().to_numpy())
        # few distinct values get a bin each: quantile edges that fall inside a heap of ties
        # would follow the reference's own noise and make the test too eager
        edges = (
            present[1:]
            if len(present) <= EXACT_VALUES
            else np.unique(
                np.quantile(numbers.dropna().to_numpy(), np.linspace(0, 1, bins + 1)[1:-1])
            )
        )
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
        return np.concatenate(
            [[missing.sum()], np.bincount(idx, minlength=len(entry["edges"]) + 1)]
        ).astype(np.int64)
    known = entry["categories"][:-1]
    codes = pd.Categorical(_category_values(values), categories=known).codes
    return np.bincount(np.where(codes < 0, len(known), codes), minlength=len(known) + 1).astype(
        np.int64
    )


def bin_labels(entry: dict) -> list[str]:
    """Readable names of an entry's bins (for the report's plots)."""
    if entry["kind"] == "categorical":
        return [str(c) for c in entry["categories"]]
    edges = [f"{e:g}" for e in entry["edges"]]
    if not edges:
        return ["missing", "all"]
    return [
        "missing",
        f"< {edges[0]}",
        *[f"{a} to {b}" for a, b in zip(edges, edges[1:])],
        f">= {edges[-1]}",
    ]


def _category_values(values: pd.Series) -> pd.Series:
    return category_text(values).where(values.notna(), MISSING)


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


def missing_share(entry: dict, counts: np.ndarray) -> float:
    """The share of missing values in counts over an entry's bins."""
    if entry["kind"] == "numeric":
        missing = counts[0]
    else:
        missing = (
            counts[entry["categories"].index(MISSING)] if MISSING in entry["categories"] else 0
        )
    return round(float(missing / max(1, counts.sum())), 4)


def calibrate(entries: dict, frame: pd.DataFrame, chunks: pd.Series) -> dict:
    """Set each entry's `week_threshold` to the largest statistic one chunk of the
    reference (one week of the training window) shows against the rest of it."""
    groups = list(frame.groupby(chunks.to_numpy()).groups.values())
    for col, entry in entries.items():
        total = np.asarray(entry["counts"], dtype=np.int64)
        per_chunk = (
            np.array([counts_for(entry, frame.loc[idx, col]) for idx in groups])
            if len(groups) > 1
            else None
        )
        entry["week_threshold"] = (
            round(float(statistic(entry["kind"], total - per_chunk, per_chunk).max()), 6)
            if per_chunk is not None
            else 0.0
        )
    return entries


def week_chunks(days: pd.Series, size: int) -> pd.Series:
    """Label each row with its block of `size` consecutive days (for calibration)."""
    first = pd.to_datetime(days).min()
    return ((pd.to_datetime(days) - first).dt.days // size).rename("chunk")


def profile(
    frame: pd.DataFrame,
    numeric: list[str],
    categorical: list[str],
    bins: int = 10,
    chunks: pd.Series | None = None,
    importance: dict | None = None,
    predictions: pd.Series | None = None,
) -> dict:
    """A reference profile: per feature its bins and counts (calibrated on `chunks` when
    given), the model's feature importance, and the profile of its predictions."""
    features = {col: profile_feature(frame[col], "numeric", bins) for col in numeric}
    features.update({col: profile_feature(frame[col], "categorical", bins) for col in categorical})
    scored = (
        pd.DataFrame({PREDICTIONS: predictions}, index=frame.index)
        if predictions is not None
        else None
    )
    extra = (
        {PREDICTIONS: profile_feature(scored[PREDICTIONS], "numeric", bins)}
        if scored is not None
        else {}
    )
    if chunks is not None:
        calibrate(features, frame, chunks)
        if scored is not None:
            calibrate(extra, scored, chunks)
    return {
        "kind": "mlgate.drift_reference",
        "rows": int(len(frame)),
        "bins": bins,
        "features": features,
        "importance": importance_shares(importance, list(features)),
        **({"predictions": extra[PREDICTIONS]} if extra else {}),
    }


def importance_shares(importance: dict | None, names: list[str]) -> dict:
    """Importance per feature as shares summing to 1 (equal shares when unknown)."""
    raw = {n: float((importance or {}).get(n, 0.0)) for n in names}
    total = sum(raw.values())
    return (
        {n: round(v / total, 6) for n, v in raw.items()}
        if total > 0
        else {n: round(1 / len(names), 6) for n in names}
    )


def check_columns(frame: pd.DataFrame, columns: list[str], numeric: list[str], what: str) -> None:
    """A ValueError naming what cannot be measured in `frame` (`what` says which data): the
    `columns` it lacks (and the ones it has that are not among them), and the `numeric`
    columns with present values that are not numbers (text where a number belongs is a
    delivery problem, never a quietly missing value)."""
    lacking = [c for c in columns if c not in frame.columns]
    if lacking:
        other = [str(c) for c in frame.columns if c not in columns]
        raise ValueError(
            f"{what} lacks the column(s) {', '.join(lacking)}"
            + (f"; it has other column(s): {', '.join(other[:12])}" if other else "")
            + (", ..." if len(other) > 12 else "")
        )
    for col in numeric:
        values = frame[col]
        unreadable = values.notna() & pd.to_numeric(values, errors="coerce").isna()
        if unreadable.any():
            sample = values[unreadable].astype(str).unique()[:3].tolist()
            raise ValueError(
                f"{what}: column {col!r} should hold numbers, but {int(unreadable.sum())} of "
                f"{len(values)} values cannot be read as numbers (e.g. {sample})"
            )


def inputs(frame: pd.DataFrame, schema) -> pd.DataFrame:
    """What drift is measured on: the model's inputs as it sees them (derived features
    included), except that categories keep their raw values, so that a category the model
    never saw counts as new rather than as missing."""

    matrix = model_matrix(frame, schema)
    for col in schema.categorical:
        matrix[col] = category_text(frame[col]).to_numpy()
    return matrix
