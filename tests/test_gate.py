import pandas as pd
import pytest

from mlgate import gate, simulator

DAY = "2013-03-05"
HISTORY = {"2013-02-26": 990, "2013-02-19": 980, "2013-02-12": 985}


@pytest.fixture(scope="module")
def clean():
    features, _ = simulator.day_frames(DAY)
    return features


def run(spec, frame_or_bytes, ds=DAY, history=HISTORY, filename="flights.csv"):
    data = frame_or_bytes if isinstance(frame_or_bytes, bytes) else simulator.to_csv_bytes(frame_or_bytes)
    result, _ = gate.validate_bytes(data, filename, spec.contract("features"), ds, history,
                                    spec.section("keys")["date_columns"])
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
    history = {(pd.Timestamp(ds) - pd.Timedelta(days=7 * k)).date().isoformat(): 960 for k in (1, 2, 3)}
    result = run(spec, features, ds=ds, history=history)
    assert result.success, result.summary()


def test_a_case_change_fails_the_allowed_values(spec, clean):
    result = run(spec, clean.assign(carrier=clean["carrier"].str.lower()))
    assert checks(result) == {("allowed_values", "carrier")}
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
    result = run(spec, clean, ds="2013-03-06", history={})
    assert ("partition_date", "day") in checks(result)
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


@pytest.mark.parametrize("data, check, words", [
    (b"", "readable", "is empty"),
    (b"\xff\xfe\x00garbage", "encoding", "not UTF-8"),
    (b"flight_id,year\n", "row_count", "no rows"),
])
def test_unreadable_files_are_rejections_not_crashes(spec, data, check, words):
    result = run(spec, data)
    assert not result.success and result.rows == 0
    assert result.failures[0].check == check and words in result.failures[0].reason


def test_the_json_contract(spec, clean):
    as_dict = run(spec, clean.assign(carrier=clean["carrier"].str.lower())).to_dict()
    assert set(as_dict) == {"success", "ds", "rows", "failures"}
    assert set(as_dict["failures"][0]) == {"check", "column", "expected", "observed", "reason"}


def test_row_count_band_uses_the_same_weekday(spec):
    contract = spec.contract("features")
    history = {"2013-03-04": 1000, "2013-02-26": 700, "2013-02-19": 720}  # a Monday, then two Tuesdays
    low, high = gate.row_count_bounds(contract, DAY, history)  # 2013-03-05 is a Tuesday
    assert (low, high) == (int(710 * 0.5), int(710 * 1.6) + 1)
