"""No false rejection, and every incident class caught: the real days of 2013, validated in
date order with their own accepted history (features and outcomes), all pass the gate, and on
20 days spread over the year every scenario of the drill, injected into that day, is caught."""

import datetime as dt
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from mlgate.demo import simulator
from mlgate.ingest import drill
from mlgate.ingest.gate import read_partition
from mlgate.ingest.landing import history_days, profile_for, validate_features, validate_outcomes
from mlgate.lake.names import dates

pytestmark = pytest.mark.slow

# every 18 days from the 12th (seven days of history), to 27 December
DRILL_DAYS = [(dt.date(2013, 1, 12) + dt.timedelta(days=18 * i)).isoformat() for i in range(20)]


def _profiles(spec, accepted: dict, ds: str) -> dict:
    return {
        feed: profile_for(
            spec, feed, {d: accepted[feed][d] for d in history_days(sorted(accepted[feed]), ds, 28)}
        )
        for feed in accepted
    }


def _drill(spec, ds: str, profiles: dict, previous: bytes) -> list[dict]:
    """Every drill scenario injected into the real day `ds`, judged with its history."""
    features, outcomes = simulator.day_frames(ds)
    day = drill.Day(spec, ds, features, outcomes, lambda: previous)
    return [drill.judge(day, s, profiles) for s in drill.scenarios_for(spec).values()]


def _table(rows: list[dict]) -> str:
    lines = ["| scenario | caught | tried | check |", "|---|---|---|---|"]
    for name in dict.fromkeys(r["scenario"] for r in rows):
        tried = [r for r in rows if r["scenario"] == name and r["caught"] is not None]
        checks = sorted({c for r in tried for c in r["checks"]})
        caught = sum(r["caught"] for r in tried)
        lines.append(f"| {name} | {caught} | {len(tried)} | {', '.join(checks)} |")
    return "\n".join(lines)


def test_every_real_day_of_2013_passes_and_every_incident_is_caught(spec):
    accepted = {"features": {}, "outcomes": {}}
    rejected, drills = [], []
    days = dates("2013-01-01", "2013-12-31")
    previous = None
    # the drills need only their day's history: a second process runs them beside the year
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    for ds in days:
        features, outcomes = simulator.day_frames(ds)
        profile = _profiles(spec, accepted, ds)
        if ds in DRILL_DAYS:
            drills.append(pool.submit(_drill, spec, ds, profile, previous))
        data = simulator.to_csv_bytes(features)
        result, frame = validate_features(spec, data, "flights.csv", ds, profile["features"])
        if result.success:
            accepted["features"][ds] = frame
        else:
            rejected.append(result.summary())
        result, frame = validate_outcomes(
            spec,
            simulator.to_csv_bytes(outcomes),
            "outcomes.csv",
            ds,
            profile["outcomes"],
            len(read_partition(data, "f.csv")[0]),
        )
        if result.success:
            accepted["outcomes"][ds] = frame
        else:
            rejected.append(result.summary())
        previous = data
    drilled = [row for drill_day in drills for row in drill_day.result()]
    pool.shutdown()
    print(
        f"{len(days)} days tried: {len(accepted['features'])} features and "
        f"{len(accepted['outcomes'])} outcomes partitions passed"
    )
    print(_table(drilled))
    assert len(days) == 365
    assert rejected == []
    missed = [r for r in drilled if r["caught"] is False]
    assert missed == []
    tried = {}
    for r in drilled:
        if r["caught"] is not None:
            tried.setdefault(r["scenario"], set()).add(r["ds"])
    assert set(tried) == set(drill.scenarios_for(spec))
    # every class on at least 19 days; a unit change of rain shows on rainy days only
    short = {s: len(d) for s, d in tried.items() if len(d) < 19 and s != "unit_change:precip"}
    assert short == {}
    assert len(tried["unit_change:precip"]) >= 4
