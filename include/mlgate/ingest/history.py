"""The reference profile of accepted history, from which the gate draws its bands.

The profile summarises the accepted (validated) days before the one under test: row
counts per day, each numeric column's daily mean, each slice value's daily share, the
categories seen, and for the outcomes feed the daily positive rate. Bands come from the
history's own variation (its range, widened by a margin from the spec), so ordinary
Saturdays, holidays and storms pass and a unit change or a missing slice does not.
It also keeps what the finer checks need: which day each slice share belongs to (for the
same weekday), the lower decile of the non-zero values of zero-inflated columns, and each nullable
column's daily empty share.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

INDICATOR_PREFIX = "__share__"
NONZERO_LOG_PREFIX = "__nonzero_log__"
NONZERO_QUANTILE = 0.1  # the lower decile of a zero-inflated column's non-zero values


def indicator_column(column: str, value: str) -> str:
    """Name of the 0/1 column marking rows where `column == value` (its mean is the share)."""
    return f"{INDICATOR_PREFIX}{column}={value}"


def build(
    frames: dict[str, pd.DataFrame],
    numeric: list[str],
    slices: list[str],
    categorical: list[str],
    label: str | None = None,
    nonzero: list[str] = (),
    nullable: list[str] = (),
) -> dict:
    """Profile of accepted days {ds: frame}: per-day rows, numeric means, slice shares (and
    their days), categories seen, (outcomes) positive rates, the log of the lower decile of
    the `nonzero` columns' non-zero values and the `nullable` columns' daily empty shares."""
    days = sorted(frames)
    profile = {
        "days": days,
        "rows": {d: int(len(frames[d])) for d in days},
        "means": {},
        "shares": {},
        "categories": {},
        "share_days": {},
        "nonzero": {},
        "null_shares": {},
    }
    for col in numeric:
        profile["means"][col] = [
            float(m)
            for d in days
            if col in frames[d]
            and pd.notna(m := pd.to_numeric(frames[d][col], errors="coerce").mean())
        ]
    for col in slices:
        per_day = [
            frames[d][col].dropna().astype(str).value_counts(normalize=True)
            for d in days
            if col in frames[d]
        ]
        profile["share_days"][col] = [d for d in days if col in frames[d]]
        values = sorted({v for shares in per_day for v in shares.index})
        profile["shares"][col] = {str(v): [float(s.get(v, 0.0)) for s in per_day] for v in values}
    for col in categorical:
        profile["categories"][col] = sorted(
            {str(v) for d in days if col in frames[d] for v in frames[d][col].dropna().unique()}
        )
    for col in nonzero:
        profile["nonzero"][col] = _nonzero_low(
            [nonzero_logs(frames[d][col]) for d in days if col in frames[d]]
        )
    for col in nullable:
        profile["null_shares"][col] = [
            float(frames[d][col].isna().mean()) for d in days if col in frames[d] and len(frames[d])
        ]
    if label:
        profile["positive_rate"] = [
            float(frames[d][label].mean()) for d in days if label in frames[d] and len(frames[d])
        ]
    return profile


def band(values: list[float], margin: float, relative: bool = False) -> tuple[float, float] | None:
    """[min, max] of the values, widened by `margin` times their range (or, `relative`,
    by `margin` times the bounds themselves)."""
    if not values:
        return None
    low, high = min(values), max(values)
    if relative:
        return low * (1 - margin), high * (1 + margin)
    spread = high - low
    return low - margin * spread, high + margin * spread


def nonzero_logs(series: pd.Series) -> pd.Series:
    """The natural log of a column's non-zero values (empty cells and zeros left out; a
    negative value counts by its size)."""
    values = pd.to_numeric(series, errors="coerce").abs()
    return values[values > 0].map(math.log)


def _nonzero_low(logs: list[pd.Series]) -> dict:
    """The log of the lower decile of the days' non-zero values, and how many there were."""
    pooled = pd.concat(logs) if logs else pd.Series(dtype="float64")
    if pooled.empty:
        return {"low_log": None, "count": 0}
    low = pooled.quantile(NONZERO_QUANTILE, interpolation="nearest")
    return {"low_log": float(low), "count": int(len(pooled))}


def nonzero_log_column(column: str) -> str:
    """Name of the column holding log(value) where `column` is non-zero, else empty."""
    return f"{NONZERO_LOG_PREFIX}{column}"


def same_weekday(days: list[str], ds: str) -> list[int]:
    """Positions in `days` of the days on the weekday of `ds` (all when none share it)."""
    weekday = dt.date.fromisoformat(ds).weekday()
    same = [i for i, d in enumerate(days) if dt.date.fromisoformat(d).weekday() == weekday]
    return same or list(range(len(days)))


def same_weekday_rows(profile: dict, ds: str) -> list[int]:
    """Row counts of history days on the weekday of `ds` (all days when none share it)."""
    days = list(profile["rows"])
    return [profile["rows"][days[i]] for i in same_weekday(days, ds)]


def with_indicators(
    frame: pd.DataFrame, profile: dict, min_share: float
) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Add a 0/1 column per judged slice value (history median share >= min_share)."""
    judged = []
    columns = {}
    for col, values in (profile.get("shares") or {}).items():
        if col not in frame.columns:
            continue
        text = frame[col].astype(str)
        present = frame[col].notna()
        for value, shares in values.items():
            if (
                pd.Series(shares).median() >= min_share
            ):  # share among non-empty cells, as in history
                columns[indicator_column(col, value)] = (
                    text.eq(value).astype("float64").where(present)
                )
                judged.append((col, value))
    return (frame.assign(**columns) if columns else frame), judged


def with_nonzero_logs(frame: pd.DataFrame, profile: dict) -> tuple[pd.DataFrame, list[str]]:
    """Add log(value) where each profiled zero-inflated column is non-zero (empty elsewhere)."""
    columns = {}
    for col in profile.get("nonzero") or {}:
        if col in frame.columns and pd.api.types.is_numeric_dtype(frame[col].dtype):
            logs = nonzero_logs(frame[col])
            columns[nonzero_log_column(col)] = logs.reindex(frame.index).astype("float64")
    return (frame.assign(**columns) if columns else frame), list(columns)
