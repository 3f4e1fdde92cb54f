"""Drift per feature: the population stability index (PSI) of the current data against a
reference profile (quantile bins for numeric features, categories for categorical ones).

A profile is small JSON, computed once from the training data and logged with the model,
so the monitor never has to re-read the training window.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

EPS = 1e-4
MISSING = "__missing__"
OTHER = "__other__"


def profile(frame: pd.DataFrame, numeric: list[str], categorical: list[str], bins: int = 10) -> dict:
    """Reference profile: bin edges and shares per numeric feature, shares per category."""
    out = {}
    for col in numeric:
        values = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        present = values.dropna().to_numpy()
        edges = np.unique(np.quantile(present, np.linspace(0, 1, bins + 1)[1:-1])) if len(present) else np.array([])
        out[col] = {"kind": "numeric", "edges": edges.tolist(),
                    "shares": _numeric_shares(values, edges).tolist()}
    for col in categorical:
        shares = _category_counts(frame[col])
        out[col] = {"kind": "categorical", "shares": (shares / max(1, shares.sum())).to_dict()}
    return out


def week_chunks(days: pd.Series, size: int) -> pd.Series:
    """Label each row with its block of `size` consecutive days (for calibration)."""
    first = pd.to_datetime(days).min()
    return ((pd.to_datetime(days) - first).dt.days // size).rename("chunk")


def reference_for(matrix: pd.DataFrame, schema, bins: int, chunks: pd.Series | None = None) -> dict:
    """The drift reference of a model matrix: a profile of every model input, calibrated
    on `chunks` of the reference when given."""
    reference = profile(matrix, schema.numeric + list(schema.derived), schema.categorical, bins)
    return calibrate(reference, matrix, chunks) if chunks is not None else reference


def calibrate(reference: dict, frame: pd.DataFrame, chunks: pd.Series) -> dict:
    """Set each feature's `calibrated_threshold` to the largest PSI that one chunk of the
    reference (e.g. one week of the training window) shows against the whole reference:
    drift then means "more different than any week the model was trained on"."""
    groups = [idx for _, idx in frame.groupby(chunks.to_numpy()).groups.items()]
    for col, ref in reference.items():
        stats = [s.statistic for idx in groups for s in compare({col: ref}, frame.loc[idx, [col]], 0.0)]
        ref["calibrated_threshold"] = round(max(stats), 6) if stats else 0.0
    return reference


def _numeric_shares(values: pd.Series, edges: np.ndarray) -> np.ndarray:
    """Shares per bin (len(edges)+1 bins), plus a last bin for missing values."""
    arr = values.to_numpy(dtype="float64")
    missing = np.isnan(arr)
    idx = np.searchsorted(edges, arr[~missing], side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(float)
    counts = np.append(counts, missing.sum())
    return counts / max(1.0, counts.sum())


def _category_counts(series: pd.Series) -> pd.Series:
    values = series.astype("object").where(series.notna(), MISSING).astype(str)
    return values.value_counts().sort_index().astype(float)


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two share vectors over the same bins."""
    e = np.clip(np.asarray(expected, dtype=float), EPS, None)
    a = np.clip(np.asarray(actual, dtype=float), EPS, None)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class FeatureDrift:
    name: str
    method: str
    statistic: float
    threshold: float
    drifted: bool


def compare(reference: dict, current: pd.DataFrame, threshold: float) -> list[FeatureDrift]:
    """PSI of every profiled feature of `current` against the reference profile; a
    feature drifts above the larger of `threshold` and its calibrated threshold."""
    results = []
    for col, ref in reference.items():
        if col not in current.columns:
            raise ValueError(f"current data lacks the feature {col!r} of the reference")
        if ref["kind"] == "numeric":
            values = pd.to_numeric(current[col], errors="coerce").astype("float64")
            actual = _numeric_shares(values, np.asarray(ref["edges"], dtype=float))
            stat = psi(ref["shares"], actual)
        else:
            counts = _category_counts(current[col])
            known = list(ref["shares"])
            actual = [counts.get(k, 0.0) for k in known] + [counts.drop(known, errors="ignore").sum()]
            expected = [ref["shares"][k] for k in known] + [0.0]
            actual = np.asarray(actual) / max(1.0, float(np.sum(actual)))
            stat = psi(expected, actual)
        limit = max(threshold, float(ref.get("calibrated_threshold", 0.0)))
        results.append(FeatureDrift(col, "psi", round(stat, 6), round(limit, 6), bool(stat > limit)))
    return results


def summarize(features: list[FeatureDrift], min_drifted_share: float) -> dict:
    """The `mlgate drift` JSON: overall verdict and the per-feature table."""
    drifted = sum(f.drifted for f in features)
    share = drifted / max(1, len(features))
    return {"drift": bool(features) and share >= min_drifted_share, "drifted_share": round(share, 4),
            "features": [asdict(f) for f in features]}
