"""`mlgate drill`: upstream incidents, derived from the spec, injected into a landed day.

Each scenario reproduces a failure class from the literature on ML in production, on the
user's own delivery of day D (the landing zone), judged by the gate with the landed days
before D as history. The scenarios come from the spec, not from any one dataset:

- `slice_missing:<slice>`: the day's most frequent value of a slice column (one of the
  contract's `allowed` values when it lists them) is missing;
- `slice_drop:<slice>`: that value loses 60% of its rows, the rest of the day untouched;
- `unit_change:<column>`: a numeric column in another unit: the larger side of a
  `relations` rule converted as degrees F to C (`(x - 32) * 5 / 9`), a history
  `distribution_columns` column scaled as miles to kilometres (`x * 1.609344`), a history
  `nonzero_columns` column scaled as inches to millimetres (`x * 25.4`);
- `column_empty:<group>`: of a history `missing_together` group, the column most often
  filled that day is empty on every row while the others stay filled;
- `case_change:<column>`: a text column with `allowed` or `pattern` in the other case;
- `date_shifted`: an older landed day delivered into D's folder;
- `replayed_duplicates`, `shifted_column`, `type_change` (an integer column as floats),
  `empty_file`, `truncated_file`, `misencoded` (UTF-16; CSV feeds only);
- `label_outage` (outcomes): the label column holds a value that makes every label negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from mlgate.config.spec import Spec
from mlgate.ingest.gate import read_partition
from mlgate.ingest.labels import derive_label
from mlgate.ingest.landing import delivered_profile, validate_features, validate_outcomes
from mlgate.ingest.replay import table_bytes
from mlgate.lake.store import Lake

MILES_TO_KM = 1.609344
INCHES_TO_MM = 25.4
SLICE_DROP_SHARE = 0.6


class DrillError(ValueError):
    """The drill cannot run on this day (nothing landed): the message says what to do."""


class Skip(ValueError):
    """This scenario cannot be made from this day (e.g. no earlier day to replay)."""


@dataclass(frozen=True)
class Day:
    """A landed day and the landed days before it, as delivered."""

    spec: Spec
    ds: str
    features: pd.DataFrame
    outcomes: pd.DataFrame | None
    previous: Callable[[], bytes | None]  # the newest earlier day's features file, as landed

    def csv(self) -> bool:
        return not self.spec.features_feed["file"].lower().endswith(".parquet")

    def encode(self, frame: pd.DataFrame, feed: str = "features") -> bytes:
        source = self.spec.features_feed if feed == "features" else self.spec.outcomes_feed
        return table_bytes(frame, source["file"])


@dataclass(frozen=True)
class Scenario:
    name: str
    feed: str  # "features" or "outcomes"
    description: str
    inject: Callable[[Day], bytes]


def _busiest(day: Day, column: str, allowed) -> object:
    """The day's most frequent value of a slice column (among `allowed` when listed)."""
    values = day.features[column]
    counts = values[values.isin(allowed)] if allowed else values
    if counts.dropna().empty:
        raise Skip(f"no value of {column!r} on {day.ds}")
    return counts.value_counts().idxmax()


def _slice_missing(column: str, allowed) -> Scenario:
    def inject(day: Day) -> bytes:
        return day.encode(day.features[day.features[column] != _busiest(day, column, allowed)])

    return Scenario(
        f"slice_missing:{column}",
        "features",
        f"The day's most frequent {column} is missing (an outage removed one slice).",
        inject,
    )


def _slice_drop(column: str, allowed) -> Scenario:
    def inject(day: Day) -> bytes:
        hit = (day.features[column] == _busiest(day, column, allowed)).to_numpy()
        order = hit.cumsum()  # every 5 rows of the value, the first 3 are dropped
        dropped = hit & ((order - 1) % 5 < round(5 * SLICE_DROP_SHARE))
        return day.encode(day.features[~dropped])

    return Scenario(
        f"slice_drop:{column}",
        "features",
        f"The day's most frequent {column} loses {SLICE_DROP_SHARE:.0%} of its rows (a partial "
        "outage: the day's total stays in its band).",
        inject,
    )


def _column_empty(group: str, columns: list[str], feed: str) -> Scenario:
    def inject(day: Day) -> bytes:
        frame = day.features if feed == "features" else day.outcomes
        if frame is None:
            raise Skip(f"no {feed} landed for {day.ds}")
        filled = {c: frame[c].notna().mean() for c in columns if c in frame.columns}
        if not filled or max(filled.values()) == 0:
            raise Skip(f"the columns of {group} are empty on {day.ds}")
        column = max(filled, key=filled.get)
        return day.encode(frame.assign(**{column: pd.Series(pd.NA, index=frame.index)}), feed)

    return Scenario(
        f"column_empty:{group}",
        feed,
        f"Of the columns that go empty together ({group}), the one most often filled is empty "
        "all day while the others are filled (a dropped field in the join upstream).",
        inject,
    )


def _unit_change(column: str, kind: str) -> Scenario:
    def inject(day: Day) -> bytes:
        values = pd.to_numeric(day.features[column], errors="coerce")
        if kind == "relation":
            changed = ((values - 32) * 5 / 9).round(2)
        elif kind == "nonzero":
            least = day.spec.contract("features").history["nonzero_min_values"]
            if (values != 0).sum() - values.isna().sum() < least:
                raise Skip(f"{column} has fewer than {least} non-zero values on {day.ds}")
            changed = (values * INCHES_TO_MM).round(2)
        else:
            changed = (values * MILES_TO_KM).round()
            if pd.api.types.is_integer_dtype(day.features[column].dtype):
                changed = changed.astype(day.features[column].dtype)  # still integers
        return day.encode(day.features.assign(**{column: changed}))

    how = {
        "relation": "as degrees F to C",
        "nonzero": f"x {INCHES_TO_MM} (as inches to millimetres)",
    }.get(kind, f"x {MILES_TO_KM} (as miles to km)")
    return Scenario(
        f"unit_change:{column}",
        "features",
        f"An upstream release delivers {column} in another unit ({how}).",
        inject,
    )


def _case_change(column: str) -> Scenario:
    def inject(day: Day) -> bytes:
        text = day.features[column].astype("object")
        present = text.dropna().astype(str)
        upper = (present == present.str.upper()).mean() >= 0.5
        swapped = present.str.lower() if upper else present.str.upper()
        return day.encode(day.features.assign(**{column: text.where(text.isna(), swapped)}))

    return Scenario(
        f"case_change:{column}",
        "features",
        f"{column} arrives in the other case ('UA' as 'ua', 'a' as 'A').",
        inject,
    )


def _date_shifted(day: Day) -> bytes:
    """The newest landed day before D, delivered into D's folder."""
    data = day.previous()
    if data is None:
        raise Skip(f"no landed day before {day.ds} to replay")
    return data


def _replayed_duplicates(day: Day) -> bytes:
    """A release replays a third of the day's rows three times."""
    replay = day.features.iloc[: len(day.features) // 3]
    return day.encode(pd.concat([day.features, replay, replay], ignore_index=True))


def _shifted_column(day: Day) -> bytes:
    """A vendor's export shifts every value one column to the right (header unchanged)."""
    if day.csv():
        header, *rows = day.encode(day.features).decode().splitlines()
        shifted = ["," + row.rsplit(",", 1)[0] for row in rows]
        return ("\n".join([header, *shifted]) + "\n").encode()
    return day.encode(day.features.shift(1, axis=1).astype("string"))


def _int_column(spec: Spec) -> str:
    """The integer column a type change hits: the first integer feature, else the first
    integer column that is not the id."""
    types = {c.name: c.type for c in spec.contract("features").columns}
    ints = [c for c in spec.numeric_features if types.get(c) == "int"]
    ints += [c for c, t in types.items() if t == "int" and c != spec.id_column]
    if not ints:
        raise Skip("the contract has no integer column")
    return ints[0]


def _type_change(day: Day) -> bytes:
    """An integer column arrives as floats ("1545.0"): an upstream gap made it float."""
    column = _int_column(day.spec)
    values = pd.to_numeric(day.features[column], errors="coerce").astype("float64")
    return day.encode(day.features.assign(**{column: values}))


def _truncated_file(day: Day) -> bytes:
    """The transfer stopped at 40% of the file."""
    data = day.encode(day.features)
    return data[: int(len(data) * 0.4)]


def _misencoded(day: Day) -> bytes:
    """The file arrives in UTF-16 instead of UTF-8."""
    if not day.csv():
        raise Skip("a Parquet file has no text encoding to get wrong")
    return day.encode(day.features).decode().encode("utf-16")


def _label_outage(day: Day) -> bytes:
    """The outcomes arrive before the labels are known: every row gets the value of the
    label column that means 'no' (the day's most frequent such value)."""
    if day.outcomes is None:
        raise Skip(f"no outcomes landed for {day.ds}")
    column = day.spec.section("label")["column"]
    values = day.outcomes[column].dropna()
    distinct = pd.DataFrame({column: values.unique()})
    negative = set(distinct.loc[derive_label(distinct, day.spec) == 0, column])
    if not negative:
        raise Skip(f"no value of {column!r} on {day.ds} gives a negative label")
    value = values[values.isin(negative)].value_counts().idxmax()
    return day.encode(day.outcomes.assign(**{column: value}), "outcomes")


FIXED = [
    Scenario("date_shifted", "features", _date_shifted.__doc__, _date_shifted),
    Scenario("replayed_duplicates", "features", _replayed_duplicates.__doc__, _replayed_duplicates),
    Scenario("shifted_column", "features", _shifted_column.__doc__, _shifted_column),
    Scenario("type_change", "features", _type_change.__doc__, _type_change),
    Scenario("empty_file", "features", "Nothing was written: an empty file.", lambda d: b""),
    Scenario("truncated_file", "features", _truncated_file.__doc__, _truncated_file),
    Scenario("misencoded", "features", _misencoded.__doc__, _misencoded),
    Scenario("label_outage", "outcomes", _label_outage.__doc__, _label_outage),
]


def scenarios_for(spec: Spec) -> dict[str, Scenario]:
    """Every scenario the spec's contract gives, by name."""
    contract = spec.contract("features")
    rules = {c.name: c for c in contract.columns}
    slices = [col for col in spec.slices if col in rules]
    found = [_slice_missing(col, rules[col].allowed) for col in slices]
    if contract.history["slice_weekday_ratio"] is not None:
        found += [_slice_drop(col, rules[col].allowed) for col in slices]
    relation_cols = [r["a"] for r in contract.relations]
    found += [_unit_change(col, "relation") for col in dict.fromkeys(relation_cols)]
    found += [
        _unit_change(col, "distribution")
        for col in contract.history["distribution_columns"]
        if col not in relation_cols and rules[col].type in ("int", "float")
    ]
    found += [
        _unit_change(col, "nonzero")
        for col in contract.history["nonzero_columns"]
        if col not in relation_cols and col not in contract.history["distribution_columns"]
    ]
    for feed in ("features", "outcomes"):
        history = spec.contract(feed).history
        if history["null_share_margin"] is not None:
            found += [
                _column_empty(group, names, feed)
                for group, names in history["missing_together"].items()
            ]
    keys = {spec.id_column, spec.timestamp_column}
    found += [
        _case_change(c.name)
        for c in contract.columns
        if c.type == "string" and (c.allowed or c.pattern) and c.name not in keys
    ]
    return {s.name: s for s in found + FIXED}


def _landed_frame(lake: Lake, source: dict, ds: str) -> pd.DataFrame | None:
    """A landed file as the gate parses it (None when not landed or not readable)."""
    if not lake.exists("landing", source["feed"], ds, source["file"]):
        return None
    frame, _ = read_partition(
        lake.read_bytes("landing", source["feed"], ds, source["file"]), source["file"]
    )
    return frame


def load_day(lake: Lake, spec: Spec, ds: str) -> Day:
    """The landed day `ds` (DrillError when its features did not land or do not parse)."""
    source = spec.features_feed
    if not lake.exists("landing", source["feed"], ds, source["file"]):
        raise DrillError(
            f"no {source['feed']} landed for {ds} in {lake.location('landing', source['feed'])}; "
            f"land the day first: mlgate land --spec {spec.name} --features FILE "
            "[--outcomes FILE]"
        )
    features = _landed_frame(lake, source, ds)
    if features is None:
        raise DrillError(
            f"the landed {source['feed']} of {ds} does not parse; drill on a clean day "
            f"(mlgate validate --spec {spec.name} --ds {ds} --data FILE says why)"
        )
    earlier = [d for d in lake.list_partitions("landing", source["feed"]) if d < ds]

    def previous() -> bytes | None:
        if not earlier:
            return None
        return lake.read_bytes("landing", source["feed"], earlier[-1], source["file"])

    return Day(spec, ds, features, _landed_frame(lake, spec.outcomes_feed, ds), previous)


def landed_history(lake: Lake, spec: Spec, feed: str, ds: str) -> dict:
    """The history profile of the landed days before `ds` (as delivered, taken as
    accepted; outcomes with their labels)."""
    source = spec.features_feed if feed == "features" else spec.outcomes_feed
    landed = lake.list_partitions("landing", source["feed"])
    return delivered_profile(spec, feed, landed, ds, lambda d: _landed_frame(lake, source, d))


def judge(day: Day, scenario: Scenario, profiles: dict) -> dict:
    """One scenario through the gate: caught (None when skipped), checks, first reason."""
    row = {"scenario": scenario.name, "feed": scenario.feed, "ds": day.ds}
    try:
        data = scenario.inject(day)
    except Skip as exc:
        return {**row, "caught": None, "checks": [], "reason": f"skipped: {exc}"}
    spec = day.spec
    if scenario.feed == "features":
        result, _ = validate_features(
            spec, data, spec.features_feed["file"], day.ds, profiles["features"]
        )
    else:
        result, _ = validate_outcomes(
            spec, data, spec.outcomes_feed["file"], day.ds, profiles["outcomes"], len(day.features)
        )
    return {
        **row,
        "caught": not result.success,
        "checks": sorted({f.check for f in result.failures}),
        "reason": result.failures[0].reason if result.failures else "",
    }


def drill(lake: Lake, spec: Spec, ds: str, names: list[str] | None = None) -> list[dict]:
    """Run each scenario (all by default) on the landed day `ds` through the gate, with the
    landed days before it as history. One row per scenario: caught, checks, reason."""
    scenarios = scenarios_for(spec)
    unknown = sorted(set(names or []) - set(scenarios))
    if unknown:
        raise DrillError(
            f"unknown scenario {', '.join(unknown)}; {spec.name}'s: {', '.join(scenarios)}"
        )
    day = load_day(lake, spec, ds)
    profiles = {feed: landed_history(lake, spec, feed, ds) for feed in ("features", "outcomes")}
    return [judge(day, scenarios[name], profiles) for name in names or list(scenarios)]
