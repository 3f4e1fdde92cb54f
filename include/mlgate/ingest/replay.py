"""Replay a table into the landing zone: one partition per local day of the spec's timestamp.

`mlgate land` plays the upstream with any table a user has (CSV or Parquet): the features
table is cut into the local days of `keys.timestamp` in `keys.timezone` (a timestamp without
an offset is a UTC instant, as the gate and the model read it), and the outcomes table,
keyed by `keys.id` with no timestamp of its own, goes to the partition of its rows' day
(`source.outcomes.delay_days` is when the upstream delivers it; the ingest DAG reads it
then). Each partition is written in the format of the spec's file name (`.csv` or
`.parquet`). Writing the same day twice leaves the partition as it was.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlgate.config.spec import Spec
from mlgate.lake.store import Lake

TABLE_SUFFIXES = (".csv", ".parquet")


class ReplayError(ValueError):
    """The table cannot be replayed; the message names the file, the column and the fix."""


@dataclass(frozen=True)
class Landed:
    """What a replay wrote: the days, and the rows of each feed."""

    days: list[str]
    feature_rows: int
    outcome_rows: int


def read_table(path: str | Path, as_text: bool = False) -> pd.DataFrame:
    """A whole CSV or Parquet table (by its suffix), with a clear error when it cannot be read.
    `as_text` keeps a CSV's cells as written (empty cells missing), so a CSV replayed into
    CSV partitions keeps its values to the character (no int turned float by a gap)."""
    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"{path}: no such file")
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ReplayError(f"{path}: not a table; give a .csv or .parquet file")
    try:
        if path.suffix.lower() == ".parquet":
            return pd.read_parquet(path)
        if as_text:
            return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        return pd.read_csv(path, low_memory=False)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ReplayError(f"{path}: cannot be read as {path.suffix[1:]}: {exc}") from None


def table_bytes(frame: pd.DataFrame, filename: str) -> bytes:
    """A partition file in the format its name says: CSV (header, UTF-8, empty cells for
    missing values) or Parquet."""
    if filename.lower().endswith(".parquet"):
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _is_csv(source: dict) -> bool:
    return not source["file"].lower().endswith(".parquet")


def write_feed(lake: Lake, source: dict, ds: str, frame: pd.DataFrame) -> str:
    """Deliver one day of a feed (`source` is the spec's `{feed, file}`) into landing."""
    return lake.write_landing(
        source["feed"], ds, source["file"], table_bytes(frame, source["file"])
    )


def _require(frame: pd.DataFrame, column: str, what: str, table: str) -> None:
    if column not in frame.columns:
        shown = ", ".join(map(str, frame.columns[:12])) + (
            " ..." if len(frame.columns) > 12 else ""
        )
        raise ReplayError(f"{table}: no column {column!r} ({what}); its columns: {shown}")


def _instants(values: pd.Series) -> pd.Series:
    """UTC instants: ISO 8601 fast, other spellings one by one; NaT where unreadable."""
    parsed = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    retry = parsed.isna() & values.notna()
    if retry.any():
        parsed[retry] = pd.to_datetime(values[retry], utc=True, errors="coerce", format="mixed")
    return parsed


def local_days(frame: pd.DataFrame, spec: Spec, table: str = "features") -> pd.Series:
    """The local date (YYYY-MM-DD) of each row's timestamp in the spec's time zone."""
    column = spec.timestamp_column
    _require(frame, column, "the spec's keys.timestamp", table)
    parsed = _instants(frame[column])
    bad = parsed.isna() & frame[column].notna()
    if bad.any() or parsed.isna().all():
        sample = frame.loc[bad, column].iloc[0] if bad.any() else None
        raise ReplayError(
            f"{table}: column {column!r} (keys.timestamp): {int(bad.sum())} value(s) are not "
            f"timestamps, e.g. {sample!r}; write ISO 8601 instants such as 2024-03-01T06:00:00Z"
        )
    if parsed.isna().any():
        raise ReplayError(
            f"{table}: column {column!r} (keys.timestamp) is empty on {int(parsed.isna().sum())} "
            "row(s); every row needs its instant"
        )
    timezone = spec.section("keys")["timezone"]
    return parsed.dt.tz_convert(timezone).dt.strftime("%Y-%m-%d")


def outcome_days(
    outcomes: pd.DataFrame, days_by_id: pd.Series, spec: Spec, table: str = "outcomes"
) -> pd.Series:
    """The day of each outcome row: the day of the features row with the same id."""
    key = spec.id_column
    _require(outcomes, key, "the spec's keys.id, which joins outcomes to features", table)
    days = outcomes[key].astype(str).map(days_by_id)  # ids compared as text: a CSV's "7"
    # is a Parquet table's 7
    missing = days.isna()
    if missing.any():
        sample = ", ".join(repr(v) for v in outcomes.loc[missing, key].head(3))
        raise ReplayError(
            f"{table}: {int(missing.sum())} of {len(outcomes)} id(s) in column {key!r} are not "
            f"in the features table, e.g. {sample}; outcomes are keyed by the features' ids"
        )
    return days


def split_days(
    spec: Spec,
    features: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    start: str | None = None,
    end: str | None = None,
    names: tuple[str, str] = ("features", "outcomes"),
) -> dict[str, tuple[pd.DataFrame, pd.DataFrame | None]]:
    """{day: (features, outcomes)} for each local day in [start, end] (both optional), rows
    in the table's order. `names` name the two tables in errors."""
    days = local_days(features, spec, names[0])
    _require(features, spec.id_column, "the spec's keys.id", names[0])
    if not features[spec.id_column].is_unique:
        dup = features.loc[features[spec.id_column].duplicated(), spec.id_column].iloc[0]
        raise ReplayError(f"{names[0]}: column {spec.id_column!r} (keys.id) repeats {dup!r}")
    by_id = pd.Series(days.to_numpy(), index=features[spec.id_column].astype(str).to_numpy())
    o_days = outcome_days(outcomes, by_id, spec, names[1]) if outcomes is not None else None
    keep = [d for d in sorted(days.unique()) if (start or d) <= d <= (end or d)]
    result = {}
    for ds in keep:
        part = features[days == ds].reset_index(drop=True)
        result[ds] = (
            part,
            outcomes[o_days == ds].reset_index(drop=True) if outcomes is not None else None,
        )
    return result


def land_frames(
    lake: Lake,
    spec: Spec,
    features: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    start: str | None = None,
    end: str | None = None,
    names: tuple[str, str] = ("features", "outcomes"),
) -> Landed:
    """Write every local day of the tables in [start, end] into the landing zone."""
    parts = split_days(spec, features, outcomes, start, end, names)
    f_rows = o_rows = 0
    for ds, (day_features, day_outcomes) in parts.items():
        write_feed(lake, spec.features_feed, ds, day_features)
        f_rows += len(day_features)
        if day_outcomes is not None:
            write_feed(lake, spec.outcomes_feed, ds, day_outcomes)
            o_rows += len(day_outcomes)
    return Landed(sorted(parts), f_rows, o_rows)


def land(
    lake: Lake,
    spec: Spec,
    features_path: str | Path,
    outcomes_path: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Landed:
    """`mlgate land`: read the tables and replay them day by day into the landing zone."""
    features = read_table(features_path, _is_csv(spec.features_feed))
    outcomes = read_table(outcomes_path, _is_csv(spec.outcomes_feed)) if outcomes_path else None
    names = (f"features {features_path}", f"outcomes {outcomes_path}")
    return land_frames(lake, spec, features, outcomes, start, end, names)
