"""The flights demo's incidents: the drill's spec-derived scenarios (mlgate.ingest.drill)
made from the simulator's real 2013 days, under the names the demo's tests use.

`mlgate drill` itself reads the landing zone; these helpers let a test break a day that has
not landed, and judge it against the real clean days before it."""

from __future__ import annotations

import datetime as dt

from mlgate.config.spec import load_spec
from mlgate.demo import simulator
from mlgate.ingest.drill import Day, scenarios_for
from mlgate.lake.names import dates

# the demo's names for the spec-derived scenarios
NAMES = {
    "slice_missing": "slice_missing:origin",
    "unit_change": "unit_change:temp",
    "distance_in_km": "unit_change:distance",
    "case_change": "case_change:carrier",
}


def day(ds: str, spec=None) -> Day:
    """The real day `ds` as the drill sees a landed one (the day before it to replay)."""
    spec = spec or load_spec(simulator.DEMO_SPEC)
    features, outcomes = simulator.day_frames(ds)
    previous = (dt.date.fromisoformat(ds) - dt.timedelta(days=1)).isoformat()

    def previous_file() -> bytes | None:
        if previous < simulator.FIRST_DAY.isoformat():
            return None
        return simulator.to_csv_bytes(simulator.day_frames(previous)[0])

    return Day(spec, ds, features, outcomes, previous_file)


def inject(name: str, ds: str, spec=None) -> bytes:
    """The file of day `ds` broken by scenario `name` (a demo name or a drill name)."""
    spec = spec or load_spec(simulator.DEMO_SPEC)
    return scenarios_for(spec)[NAMES.get(name, name)].inject(day(ds, spec))


def clean_history(spec, feed: str, ds: str) -> dict:
    """The history profile of the real clean days before `ds`, parsed as delivered."""
    from mlgate.ingest.gate import read_partition
    from mlgate.ingest.landing import delivered_profile

    days = int(spec.contract(feed).history["days"])
    first = max(simulator.FIRST_DAY, dt.date.fromisoformat(ds) - dt.timedelta(days=days))

    def delivered(d: str):
        features, outcomes = simulator.day_frames(d)
        data = simulator.to_csv_bytes(features if feed == "features" else outcomes)
        return read_partition(data, f"{feed}.csv")[0]

    return delivered_profile(spec, feed, dates(first, ds), ds, delivered)
