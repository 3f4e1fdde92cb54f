"""Replay a table into the landing zone: one partition per local day of the spec's timestamp.

`mlgate land` plays the upstream with any table a user has (CSV or Parquet): the features
table is cut into the local days of `keys.timestamp` in `keys.timezone` (a timestamp without
an offset is a UTC instant, as the gate and the model read it), and the outcomes table,
keyed by `keys.id` with no timestamp of its own, goes to the partition of its rows' day
(`source.outcomes.delay_days` is when the upstream delivers it; the ingest DAG reads it
then). Each partition is written in the format of the spec's file name (`.csv` or
`.parquet`). Writing the same day twice leaves the partition as it was.

With a scale factor N (`--scale N`) each day is landed N times over (`scale_day`): copy 0
of every row is the row as it is, copies 1..N-1 get a key of their own and a small jitter of
the continuous numeric columns, so a real day becomes N times as many rows with the same
distributions (for benchmarks and tests at volume; nothing else is made up).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlgate.config.spec import ColumnRule, Spec
from mlgate.lake.store import Lake

TABLE_SUFFIXES = (".csv", ".parquet")
JITTER_SHARE = 0.05  # a copy's jitter of a continuous column: this share of its sd in the day
MAX_DECIMALS = 6  # a column written with more decimals than this is not rounded after the jitter
INT_KEY_STRIDE = 10**12  # copy k of an integer key is key + k x this (real keys stay below it)


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


def check_scale(scale) -> int:
    """The scale factor as an int; ReplayError unless it is a whole number of at least 1."""
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or scale < 1:
        raise ReplayError(
            f"scale {scale!r}: give a whole number of copies of each real row, 1 or more "
            "(1 lands the table as it is, 10 makes each day ten times as many rows)"
        )
    return int(scale)


def _as_numbers(values: pd.Series) -> pd.Series | None:
    """The column as floats, or None when a non-empty cell is not a number."""
    if pd.api.types.is_bool_dtype(values):
        return None
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    numbers = pd.to_numeric(values, errors="coerce")
    return numbers.astype(float) if numbers.notna().sum() == values.notna().sum() else None


def continuous_columns(features: pd.DataFrame, spec: Spec) -> dict[str, pd.Series]:
    """{column: its values as floats} for the columns a copy jitters: the features
    contract's float columns whose values in the day are not all whole numbers (a
    whole-valued column, like a wind direction in tens of degrees, is a grid: copied as is)."""
    skip = {spec.id_column, spec.timestamp_column}
    result = {}
    for rule in spec.contract("features").columns:
        if rule.type != "float" or rule.name in skip or rule.name not in features.columns:
            continue
        numbers = _as_numbers(features[rule.name])
        if numbers is not None and (numbers.dropna() % 1 != 0).any():
            result[rule.name] = numbers
    return result


def _jitter_groups(columns: list[str], spec: Spec) -> list[list[str]]:
    """The jittered columns in groups that share one draw per row: the columns that a
    contract relation links (the same shift of both keeps `a >= b` as it was)."""
    group_of = {c: {c} for c in columns}
    for relation in spec.contract("features").relations:
        a, b = relation["a"], relation["b"]
        if a in group_of and b in group_of:
            merged = group_of[a] | group_of[b]
            group_of.update({c: merged for c in merged})
    groups = []
    for column in columns:
        if not any(column in group for group in groups):
            groups.append([c for c in columns if c in group_of[column]])
    return groups


def _decimals(numbers: pd.Series) -> int | None:
    """The fewest decimals that write every value of the column (None: more than
    MAX_DECIMALS)."""
    present = numbers.dropna().to_numpy()
    for decimals in range(MAX_DECIMALS + 1):
        if np.allclose(present, np.round(present, decimals), rtol=0, atol=1e-9):
            return decimals
    return None


def _jittered(
    original: pd.Series, numbers: pd.Series, shifts: np.ndarray, decimals: int | None
) -> np.ndarray:
    """One column of the scaled day, a row (copy 0, the value as it is) and its copies
    (moved by `shifts`, one column per copy, kept within the day's range and its decimals),
    row after row. A missing value stays missing and a zero stays zero; text stays text."""
    values = numbers.to_numpy()
    moved = np.clip(values[:, None] + shifts, np.nanmin(values), np.nanmax(values))
    if decimals is not None:
        moved = np.round(moved, decimals)
    changed = ~np.isnan(values) & (values != 0)
    if pd.api.types.is_numeric_dtype(original):
        copies = np.where(changed[:, None], moved, values[:, None])
        return np.column_stack([values, copies]).ravel()
    text = original.to_numpy(dtype=object)
    written = (
        np.char.mod(f"%.{decimals}f", moved).astype(object)
        if decimals is not None
        else np.vectorize(lambda v: repr(float(v)), otypes=[object])(moved)
    )
    copies = np.where(changed[:, None], written, text[:, None])
    return np.column_stack([text, copies]).ravel()


def _key_slots(keys: pd.Series, tag: str, pattern: str | None) -> list[int]:
    """Where each key takes a copy's tag: its end, else the start of one of its runs of
    digits (the last first): the first place where the key with the tag still matches the
    contract's pattern for the key."""
    matcher = re.compile(pattern) if pattern else None
    slots = []
    for key in keys:
        places = [len(key)] + [m.start() for m in reversed(list(re.finditer(r"\d+", key)))]
        slot = next(
            (p for p in places if matcher is None or matcher.search(key[:p] + tag + key[p:])),
            None,
        )
        if slot is None:
            raise ReplayError(
                f"key {key!r}: no copy of it matches the contract's pattern {pattern!r} (a "
                f"copy's key takes a tag of digits like {tag!r} at its end or in a run of "
                "digits); land this table without --scale, or widen the pattern"
            )
        slots.append(slot)
    return slots


def copy_keys(keys: pd.Series, rule: ColumnRule | None, factor: int) -> list[pd.Series]:
    """The keys of copies 1..factor-1, of the keys' type. An integer key k becomes
    k + copy x INT_KEY_STRIDE; a text key takes the tag "0" + the copy's number (zero-padded)
    at its end, or at the start of a run of digits when the contract's pattern wants so."""
    copies = range(1, factor)
    if rule is not None and rule.type == "int":
        numbers = pd.to_numeric(keys)
        if numbers.abs().max() >= INT_KEY_STRIDE:
            raise ReplayError(
                f"key {numbers.abs().max()}: --scale gives copies the keys key + copy x "
                f"{INT_KEY_STRIDE}; real integer keys must stay below that"
            )
        if rule.max is not None and numbers.max() + (factor - 1) * INT_KEY_STRIDE > rule.max:
            raise ReplayError(
                f"--scale {factor}: the copies' keys (key + copy x {INT_KEY_STRIDE}) exceed "
                f"the contract's max {rule.max:g} for {rule.name!r}; raise it to scale"
            )
        return [(numbers + k * INT_KEY_STRIDE).astype(keys.dtype) for k in copies]
    width = len(str(factor - 1))
    texts = keys.astype(str).tolist()
    slots = _key_slots(texts, "0" + "1".zfill(width), rule.pattern if rule else None)
    result = []
    for k in copies:
        tag = "0" + str(k).zfill(width)
        new = [key[:p] + tag + key[p:] for key, p in zip(texts, slots, strict=True)]
        result.append(pd.Series(new, index=keys.index).astype(keys.dtype))
    return result


def _scaled_keys(keys: pd.Series, copies: list[pd.Series]) -> np.ndarray:
    """Each key followed by its copies' keys, row after row."""
    return np.column_stack(
        [keys.to_numpy(dtype=object), *(c.to_numpy(dtype=object) for c in copies)]
    )


def scale_day(
    features: pd.DataFrame,
    outcomes: pd.DataFrame | None,
    spec: Spec,
    factor: int,
    ds: str,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The day `factor` times over, each row followed by its copies. Copy 0 is the row as
    it is; copies 1..factor-1 get their own key (`copy_keys`) and a jitter of the
    continuous columns (`continuous_columns`): a normal shift of JITTER_SHARE x the
    column's sd in the day, one draw per row for the columns a relation links, seeded by
    the day and the copy. An outcome row is copied with its features row's copy keys,
    its values as they are."""
    factor = check_scale(factor)
    if factor == 1:
        return features, outcomes
    key = spec.id_column
    rules = {rule.name: rule for rule in spec.contract("features").columns}
    numbers = continuous_columns(features, spec)
    groups = _jitter_groups(list(numbers), spec)
    shifts = {column: np.empty((len(features), factor - 1)) for column in numbers}
    for k in range(1, factor):
        rng = np.random.default_rng([int(ds.replace("-", "")), k])
        for group in groups:
            sd = np.nan_to_num(min(float(numbers[c].std(ddof=0)) for c in group))
            draw = rng.standard_normal(len(features)) * JITTER_SHARE * sd
            for column in group:
                shifts[column][:, k - 1] = draw
    keys = _scaled_keys(features[key], copy_keys(features[key], rules.get(key), factor))
    scaled = features.iloc[np.repeat(np.arange(len(features)), factor)].reset_index(drop=True)
    scaled[key] = pd.Series(keys.ravel()).astype(features[key].dtype)
    for column, values in numbers.items():
        jittered = _jittered(features[column], values, shifts[column], _decimals(values))
        scaled[column] = pd.Series(jittered).astype(features[column].dtype)
    if not scaled[key].astype(str).is_unique:
        twice = scaled.loc[scaled[key].astype(str).duplicated(), key].iloc[0]
        raise ReplayError(f"{ds}: --scale {factor} gives the key {twice!r} twice")
    if outcomes is None:
        return scaled, None
    row_of = pd.Series(np.arange(len(features)), index=features[key].astype(str).to_numpy())
    rows = outcomes[key].astype(str).map(row_of).to_numpy()
    scaled_outcomes = outcomes.iloc[np.repeat(np.arange(len(outcomes)), factor)]
    scaled_outcomes = scaled_outcomes.reset_index(drop=True)
    scaled_outcomes[key] = pd.Series(keys[rows].ravel()).astype(outcomes[key].dtype)
    return scaled, scaled_outcomes


def _check_copies_are_new(keys: pd.Series, real_keys: set[str], scale: int, ds: str) -> None:
    """ReplayError when a copy's key (every row of a scaled day but each scale-th, the
    original) is the key of a real row of the table."""
    copies = keys.astype(str).to_numpy(dtype=object)[np.arange(len(keys)) % scale != 0]
    taken = [key for key in copies if key in real_keys]
    if taken:
        raise ReplayError(
            f"{ds}: --scale {scale} gives {len(taken)} copies the key of a real row, e.g. "
            f"{taken[0]!r}; land this table without --scale"
        )


def land_frames(
    lake: Lake,
    spec: Spec,
    features: pd.DataFrame,
    outcomes: pd.DataFrame | None = None,
    start: str | None = None,
    end: str | None = None,
    names: tuple[str, str] = ("features", "outcomes"),
    scale: int = 1,
) -> Landed:
    """Write every local day of the tables in [start, end] into the landing zone, each
    day `scale` times over (`scale_day`)."""
    scale = check_scale(scale)
    parts = split_days(spec, features, outcomes, start, end, names)
    real_keys = set(features[spec.id_column].astype(str)) if scale > 1 else set()
    f_rows = o_rows = 0
    for ds, (day_features, day_outcomes) in parts.items():
        if scale > 1:
            day_features, day_outcomes = scale_day(day_features, day_outcomes, spec, scale, ds)
            _check_copies_are_new(day_features[spec.id_column], real_keys, scale, ds)
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
    scale: int = 1,
) -> Landed:
    """`mlgate land`: read the tables and replay them day by day into the landing zone,
    each day `scale` times over."""
    scale = check_scale(scale)
    features = read_table(features_path, _is_csv(spec.features_feed))
    outcomes = read_table(outcomes_path, _is_csv(spec.outcomes_feed)) if outcomes_path else None
    names = (f"features {features_path}", f"outcomes {outcomes_path}")
    return land_frames(lake, spec, features, outcomes, start, end, names, scale)
