from functools import lru_cache

import pandas as pd
import pytest

from mlgate.demo import simulator
from mlgate.demo.incidents import clean_history
from mlgate.ingest import gate
from mlgate.ingest.landing import validate_features

DAY = "2013-03-05"


@lru_cache(maxsize=None)
def history_of(ds):
    from mlgate.config.spec import load_spec

    return clean_history(load_spec("flights"), "features", ds)


@pytest.fixture(scope="module")
def clean():
    features, _ = simulator.day_frames(DAY)
    return features


def run(spec, frame_or_bytes, ds=DAY, history="real", filename="flights.csv"):
    data = (
        frame_or_bytes
        if isinstance(frame_or_bytes, bytes)
        else simulator.to_csv_bytes(frame_or_bytes)
    )
    result, _ = validate_features(
        spec, data, filename, ds, history_of(ds) if history == "real" else history
    )
    return result


def checks(result):
    return {(f.check, f.column) for f in result.failures}


def test_a_real_day_passes(spec, clean):
    result = run(spec, clean)
    assert result.success, result.summary()
    assert result.rows == len(clean) == 965


@pytest.mark.parametrize("ds", ["2013-02-08", "2013-02-09", "2013-11-28", "2013-01-11"])
def test_storm_holiday_and_calm_days_pass(spec, ds):
    """The February 2013 blizzard (pressure sensors out), Thanksgiving (a third fewer
    flights), a day with no wind gust reported at all."""
    features, _ = simulator.day_frames(ds)
    result = run(spec, features, ds=ds)
    assert result.success, result.summary()


def test_a_case_change_fails_the_allowed_values(spec, clean):
    result = run(spec, clean.assign(carrier=clean["carrier"].str.lower()))
    assert checks(result) == {
        ("allowed_values", "carrier"),
        ("slice_volume", "carrier"),
    }  # every carrier's share is 0
    assert "case-sensitive" in result.failures[0].reason and "'ua'" in result.failures[0].observed


def test_a_missing_column_is_named(spec, clean):
    result = run(spec, clean.drop(columns=["visib"]))
    assert ("columns", None) in checks(result)
    assert "missing visib" in result.failures[0].reason


def test_strings_arriving_as_numbers_fail_the_type_check(spec, clean):
    result = run(spec, clean.assign(origin=1.5))
    assert ("type", "origin") in checks(result)


def test_replayed_rows_fail_uniqueness(spec, clean):
    result = run(spec, pd.concat([clean, clean.head(50)]))
    assert ("unique", "flight_id") in checks(result)
    assert "duplicates" in next(f.reason for f in result.failures if f.check == "unique")


def test_a_partition_in_the_wrong_date_folder_fails(spec, clean):
    result = run(spec, clean, ds="2013-03-06", history=None)
    assert ("partition_date", "day") in checks(result) and (
        "timestamp_in_day",
        "time_hour",
    ) in checks(result)
    assert "wrong folder" in next(f.reason for f in result.failures if f.column == "day")


def test_a_truncated_delivery_fails_the_row_count_against_history(spec, clean):
    result = run(spec, simulator.to_csv_bytes(clean)[:20_000])
    assert ("row_count", None) in checks(result)
    failure = next(f for f in result.failures if f.check == "row_count")
    assert "same weekday" in failure.reason and failure.expected.startswith("between")


def test_an_out_of_range_value_is_reported_with_the_value(spec, clean):
    bad = clean.copy()
    bad.loc[3, "temp"] = 500.0
    result = run(spec, bad)
    assert checks(result) == {("range", "temp")}
    assert "500.0" in result.failures[0].observed


@pytest.mark.parametrize(
    "data, check, words",
    [
        (b"", "readable", "is empty"),
        (b"\xff\xfe\x00garbage", "encoding", "not UTF-8"),
        (b"flight_id,year\n", "row_count", "no rows"),
    ],
)
def test_unreadable_files_are_rejections_not_crashes(spec, data, check, words):
    result = run(spec, data)
    assert not result.success and result.rows == 0
    assert result.failures[0].check == check and words in result.failures[0].reason


def test_the_json_contract(spec, clean):
    as_dict = run(spec, clean.assign(carrier=clean["carrier"].str.lower())).to_dict()
    assert {"success", "ds", "rows", "failures"} <= set(as_dict)
    assert set(as_dict["failures"][0]) == {"check", "column", "expected", "observed", "reason"}


def test_row_count_band_uses_the_same_weekday(spec):
    contract = spec.contract("features")
    rows = {
        "2013-02-19": 720,
        "2013-02-26": 700,
        "2013-02-27": 1000,
        "2013-02-28": 1000,
        "2013-03-01": 1000,
        "2013-03-02": 1000,
        "2013-03-04": 1000,
    }  # two Tuesdays among seven days
    low, high = gate.row_count_bounds(
        contract, DAY, {"days": sorted(rows), "rows": rows}
    )  # 2013-03-05 is a Tuesday
    assert (low, high) == (int(710 * 0.5), int(710 * 1.6) + 1)
    assert gate.row_count_bounds(
        contract, DAY, {"days": ["2013-03-04"], "rows": {"2013-03-04": 1000}}
    ) == (100, None)


def test_without_enough_history_the_history_checks_wait_and_say_so(spec, clean):
    result = run(spec, clean, history=None)
    assert result.success and result.notes == [
        "history checks skipped: 0 accepted day(s), the contract needs 7"
    ]


def test_a_missing_value_does_not_break_a_relation(spec, clean):
    frame = clean.copy()
    frame.loc[frame.index[:150], "temp"] = float(
        "nan"
    )  # the temperature sensor out for a few hours, the dew point still there
    assert run(spec, frame).success


def test_one_origin_losing_most_of_its_flights_fails_its_weekday_share(spec, clean):
    ewr = clean.index[clean["origin"] == "EWR"]
    frame = clean.drop(ewr[: int(len(ewr) * 0.6)])  # the day's total and the share band still pass
    result = run(spec, frame)
    assert checks(result) == {("slice_weekday", "origin")}
    reason = result.failures[0].reason
    assert "origin = 'EWR'" in reason and "Tuesdays" in reason and "most of" in reason


def test_rain_in_millimetres_fails_the_nonzero_scale(spec):
    wet = "2013-03-12"  # 749 flights in rain; in millimetres every value stays under the maximum 10
    frame, _ = simulator.day_frames(wet)
    frame = frame.assign(precip=(frame["precip"] * 25.4).round(2))
    assert frame["precip"].max() <= 10
    result = run(spec, frame, ds=wet)
    assert checks(result) == {("nonzero_scale", "precip")}
    assert "millimetres for inches" in result.failures[0].reason


def test_one_weather_column_empty_while_the_rest_is_filled_fails(spec, clean):
    result = run(spec, clean.assign(wind_speed=float("nan")))
    assert checks(result) == {("missing_alone", "wind_speed")}
    assert "100.0% empty while the columns that go empty with it are" in result.failures[0].reason


def test_a_station_outage_emptying_the_whole_group_passes(spec, clean):
    weather = ["temp", "dewp", "humid", "wind_dir", "wind_speed", "wind_gust", "precip"]
    out = clean["origin"] == "JFK"  # one station: a third of the day's flights
    frame = clean.copy()
    frame.loc[out, weather + ["pressure", "visib"]] = float("nan")
    assert run(spec, frame).success


def test_slice_shares_are_counted_among_non_empty_cells_like_history():
    from mlgate.ingest import history

    days = {
        f"2013-01-0{i}": pd.DataFrame({"origin": ["EWR", "JFK", None] * 10}) for i in range(1, 8)
    }
    profile = history.build(days, [], ["origin"], [])
    assert profile["shares"]["origin"] == {"EWR": [0.5] * 7, "JFK": [0.5] * 7}
    batch, judged = history.with_indicators(days["2013-01-01"], profile, 0.02)
    assert batch[history.indicator_column("origin", "EWR")].mean() == 0.5 and len(judged) == 2


def test_rows_with_more_fields_than_the_header_are_named():
    frame, failure = gate.read_partition(b"a,b\n1,2,\n3,4,\n", "f.csv")
    assert (
        frame is None
        and failure.check == "columns"
        and "more fields than the header" in failure.reason
    )


def test_the_data_docs_page_renders_a_rejection_without_errors(spec, clean, caplog):
    import logging

    result = run(spec, clean.assign(carrier=clean["carrier"].str.lower()))
    with caplog.at_level(logging.ERROR, logger="great_expectations"):
        page = gate.data_docs_page(result).decode()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (
        "Great Expectations" in page
        and "Unsuccessful Expectations" in page
        and "__share__carrier=UA" in page
    )


def test_a_label_outage_fails_the_outcomes_gate_even_without_history(spec):
    """A day whose outcomes are mostly empty, or whose label is one value on every row,
    is refused on the first day, before any history exists."""
    from mlgate.ingest.landing import validate_outcomes

    _, outcomes = simulator.day_frames(DAY)
    emptied = outcomes.assign(arr_delay=outcomes["arr_delay"].where(outcomes.index % 10 == 0))
    result, _ = validate_outcomes(
        spec, simulator.to_csv_bytes(emptied), "outcomes.csv", DAY, None, None
    )
    assert not result.success and ("label_missing", "arr_delay") in checks(result)
    assert "took its `missing` value (1)" in result.summary()
    on_time = outcomes.assign(arr_delay=outcomes["arr_delay"].fillna(0).clip(upper=0))
    result, _ = validate_outcomes(
        spec, simulator.to_csv_bytes(on_time), "outcomes.csv", DAY, None, None
    )
    assert not result.success and checks(result) == {("label_constant", "late")}
    assert "is 0 on every row of the day" in result.summary()
    _, real = validate_outcomes(
        spec, simulator.to_csv_bytes(outcomes), "outcomes.csv", DAY, None, None
    )
    assert real["late"].nunique() == 2
