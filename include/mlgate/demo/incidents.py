"""Incident scenarios: a real clean partition with one upstream failure injected.

Each scenario reproduces a failure class from the literature on ML in production (a
missing slice, a unit change, replayed rows, a label outage, a date in the wrong folder,
a shifted schema, a type change, a case change, an empty or truncated file, a wrong
encoding). `mlgate drill` runs them through the gate so an operator can rehearse it;
the tests use them to prove every class is caught.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from mlgate.demo import simulator


@dataclass(frozen=True)
class Scenario:
    name: str
    feed: str  # "features" or "outcomes"
    description: str
    inject: Callable[[str], bytes]


def _features(ds: str) -> pd.DataFrame:
    return simulator.day_frames(ds)[0]


def _csv(frame: pd.DataFrame) -> bytes:
    return simulator.to_csv_bytes(frame)


def slice_missing(ds: str) -> bytes:
    """The busiest origin's traffic is missing (an outage removed one slice)."""
    frame = _features(ds)
    busiest = frame["origin"].value_counts().idxmax()
    return _csv(frame[frame["origin"] != busiest])


def unit_change(ds: str) -> bytes:
    """An upstream "fix" delivers the temperature in Celsius instead of Fahrenheit."""
    frame = _features(ds)
    return _csv(frame.assign(temp=((frame["temp"] - 32) * 5 / 9).round(2)))


def distance_in_km(ds: str) -> bytes:
    """Distances delivered in kilometres instead of miles."""
    frame = _features(ds)
    return _csv(frame.assign(distance=(frame["distance"] * 1.609344).round().astype("int64")))


def replayed_duplicates(ds: str) -> bytes:
    """A release replays a third of the day's rows three times."""
    frame = _features(ds)
    replay = frame.iloc[: len(frame) // 3]
    return _csv(pd.concat([frame, replay, replay], ignore_index=True))


def label_outage(ds: str) -> bytes:
    """The outcomes arrive before the labels are known: every flight looks on time."""
    outcomes = simulator.day_frames(ds)[1]
    return _csv(outcomes.assign(arr_delay=0.0, dep_delay=0.0))


def date_shifted(ds: str) -> bytes:
    """The previous day's file is delivered into this day's folder."""
    previous = (dt.date.fromisoformat(ds) - dt.timedelta(days=1)).isoformat()
    return _csv(_features(previous))


def shifted_column(ds: str) -> bytes:
    """A vendor's export shifts every value one column to the right (header unchanged)."""
    header, *rows = _csv(_features(ds)).decode().splitlines()
    shifted = ["," + row.rsplit(",", 1)[0] for row in rows]
    return ("\n".join([header, *shifted]) + "\n").encode()


def type_change(ds: str) -> bytes:
    """The flight number arrives as a float ("1545.0"): an upstream NaN made it float."""
    frame = _features(ds)
    return _csv(frame.assign(flight=frame["flight"].astype("float64")))


def case_change(ds: str) -> bytes:
    """Carrier codes arrive in lower case ("ua" instead of "UA")."""
    frame = _features(ds)
    return _csv(frame.assign(carrier=frame["carrier"].str.lower()))


def empty_file(ds: str) -> bytes:
    """Nothing was written: an empty file."""
    return b""


def truncated_file(ds: str) -> bytes:
    """The transfer stopped at 40% of the file, in the middle of a row."""
    data = _csv(_features(ds))
    return data[: int(len(data) * 0.4)]


def misencoded(ds: str) -> bytes:
    """The file arrives in UTF-16 instead of UTF-8."""
    return _csv(_features(ds)).decode().encode("utf-16")


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("slice_missing", "features", slice_missing.__doc__, slice_missing),
        Scenario("unit_change", "features", unit_change.__doc__, unit_change),
        Scenario("distance_in_km", "features", distance_in_km.__doc__, distance_in_km),
        Scenario(
            "replayed_duplicates", "features", replayed_duplicates.__doc__, replayed_duplicates
        ),
        Scenario("label_outage", "outcomes", label_outage.__doc__, label_outage),
        Scenario("date_shifted", "features", date_shifted.__doc__, date_shifted),
        Scenario("shifted_column", "features", shifted_column.__doc__, shifted_column),
        Scenario("type_change", "features", type_change.__doc__, type_change),
        Scenario("case_change", "features", case_change.__doc__, case_change),
        Scenario("empty_file", "features", empty_file.__doc__, empty_file),
        Scenario("truncated_file", "features", truncated_file.__doc__, truncated_file),
        Scenario("misencoded", "features", misencoded.__doc__, misencoded),
    ]
}


def clean_history(spec, feed: str, ds: str) -> dict:
    """The history profile of the real clean days before `ds`, parsed as delivered."""
    from mlgate.ingest.gate import read_partition
    from mlgate.ingest.labels import with_label
    from mlgate.ingest.landing import history_days, profile_for

    days = int(spec.contract(feed).history["days"])
    first = max(simulator.FIRST_DAY, dt.date.fromisoformat(ds) - dt.timedelta(days=days))
    frames = {}
    for day in history_days(simulator.dates(first, ds), ds, days):
        features, outcomes = simulator.day_frames(day)
        source = features if feed == "features" else outcomes
        frame, _ = read_partition(_csv(source), f"{feed}.csv")
        frames[day] = frame if feed == "features" else with_label(spec)(frame)
    return profile_for(spec, feed, frames)


def drill(spec, ds: str, names: list[str] | None = None) -> list[dict]:
    """Run each scenario (all by default) on the real day `ds` through the gate, with the
    real days before it as history. Returns one row per scenario: caught, checks, reason."""
    from mlgate.ingest.landing import validate_features, validate_outcomes

    profiles = {feed: clean_history(spec, feed, ds) for feed in ("features", "outcomes")}
    features_rows = len(simulator.day_frames(ds)[0])
    rows = []
    for name in names or list(SCENARIOS):
        scenario = SCENARIOS[name]
        try:
            data = scenario.inject(ds)
        except ValueError as exc:  # e.g. no day before the first one to shift from
            rows.append(
                {
                    "scenario": name,
                    "feed": scenario.feed,
                    "ds": ds,
                    "caught": None,
                    "checks": [],
                    "reason": f"skipped: {exc}",
                }
            )
            continue
        if scenario.feed == "features":
            result, _ = validate_features(spec, data, "flights.csv", ds, profiles["features"])
        else:
            result, _ = validate_outcomes(
                spec, data, "outcomes.csv", ds, profiles["outcomes"], features_rows
            )
        rows.append(
            {
                "scenario": name,
                "feed": scenario.feed,
                "ds": ds,
                "caught": not result.success,
                "checks": sorted({f.check for f in result.failures}),
                "reason": result.failures[0].reason if result.failures else "",
            }
        )
    return rows
