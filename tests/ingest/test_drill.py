"""`mlgate drill`: the scenarios come from the spec, run on the landed days, and every one is
caught, on every day it is tried on, by the check that names it."""

import json

import pytest

from mlgate.demo import incidents, simulator
from mlgate.ingest import drill
from mlgate.ingest.gate import read_partition
from tests.helpers import mlgate

# a Sunday with 19 days of history, the blizzard, Independence Day, the day after Thanksgiving
# (tests/ingest/test_gate_year.py drills every scenario on 20 more days spread over the year)
DAYS = ["2013-01-20", "2013-02-09", "2013-07-04", "2013-11-29"]
FLIGHTS_SCENARIOS = {  # name: the check that must name it
    "slice_missing:origin": "slice_volume",
    "slice_missing:carrier": "slice_volume",
    "slice_drop:origin": "slice_weekday",
    "slice_drop:carrier": "slice_weekday",
    "unit_change:temp": "relation",
    "unit_change:distance": "distribution",
    "unit_change:sched_dep_time": "range",
    "unit_change:sched_arr_time": "range",
    "unit_change:hour": "range",
    "unit_change:minute": "range",
    "unit_change:flight": "distribution",
    "unit_change:precip": "nonzero_scale",
    "column_empty:weather": "missing_alone",
    "case_change:carrier": "allowed_values",
    "case_change:origin": "allowed_values",
    "case_change:dest": "pattern",
    "date_shifted": "partition_date",
    "replayed_duplicates": "unique",
    "shifted_column": "type",
    "type_change": "type",
    "empty_file": "readable",
    "truncated_file": "row_count",
    "misencoded": "encoding",
    "label_outage": "positive_rate",
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory):
    """The real 2013 days up to the day after Thanksgiving, landed as `mlgate land` lands them."""
    uri = f"file://{tmp_path_factory.mktemp('drill') / 'lake'}"
    out = mlgate("simulate", "--lake", uri, "--start", "2013-01-01", "--end", "2013-11-29")
    assert out.returncode == 0, out.stderr
    return uri


def test_the_scenarios_are_derived_from_the_spec(spec):
    assert list(drill.scenarios_for(spec)) == list(FLIGHTS_SCENARIOS)


# On these holidays a slice's share moves as far as a 60% loss moves it on other days (US
# Airways flew 41% under its usual share the day after Thanksgiving): a partial slice loss can
# hide there, and only there. A slice missing entirely is still caught.
HOLIDAYS = {"2013-07-04", "2013-11-29"}  # (Christmas Eve too, seen when it was tried)


@pytest.mark.parametrize("ds", DAYS)
def test_the_drill_catches_every_scenario(landed, ds):
    out = mlgate("drill", "--spec", "flights", "--ds", ds, "--lake", landed, "--json")
    report = json.loads(out.stdout)
    missed = [r["scenario"] for r in report["scenarios"] if r["caught"] is False]
    if ds in HOLIDAYS:
        assert all(name.startswith("slice_drop:") for name in missed), missed
    else:
        assert missed == []
    assert out.returncode == (1 if missed else 0), out.stderr[-3000:]
    skipped = [r for r in report["scenarios"] if r["caught"] is None]
    # a unit change of rain cannot show on a day without rain: the drill says so
    assert all(r["scenario"] == "unit_change:precip" for r in skipped), skipped
    assert report["tried"] == len(FLIGHTS_SCENARIOS) - len(skipped)
    assert report["caught"] == report["tried"] - len(missed)
    for row in report["scenarios"]:
        partial_loss_on_holiday = ds in HOLIDAYS and row["scenario"].startswith("slice_drop:")
        if row["caught"] and not partial_loss_on_holiday:
            assert FLIGHTS_SCENARIOS[row["scenario"]] in row["checks"], row
        assert row["reason"] or row["scenario"] in missed


def test_the_first_reason_explains_the_incident(landed, spec):
    from mlgate.lake.store import Lake

    rows = {r["scenario"]: r for r in drill.drill(Lake.from_uri(landed), spec, "2013-03-05")}
    assert "physically impossible" in rows["unit_change:temp"]["reason"]
    assert "origin = 'EWR' is 0.0%" in rows["slice_missing:origin"]["reason"]
    assert "wrong folder" in rows["date_shifted"]["reason"]
    assert "label outage" in rows["label_outage"]["reason"]
    assert rows["shifted_column"]["reason"].startswith("column 'flight_id' has type float64")


def test_a_scenario_that_cannot_be_made_on_the_first_landed_day_is_skipped(landed, spec):
    from mlgate.lake.store import Lake

    rows = {
        r["scenario"]: r
        for r in drill.drill(
            Lake.from_uri(landed), spec, "2013-01-01", ["date_shifted", "case_change:carrier"]
        )
    }
    assert rows["date_shifted"]["caught"] is None
    assert rows["date_shifted"]["reason"] == "skipped: no landed day before 2013-01-01 to replay"
    assert rows["case_change:carrier"]["caught"] is True


@pytest.mark.parametrize(
    "args, words",
    [
        (["--ds", "2014-03-05"], ["no flights landed for 2014-03-05", "mlgate land"]),
        (["--ds", "2013-03-05", "--scenario", "nope"], ["unknown scenario nope"]),
    ],
)
def test_a_day_not_landed_and_an_unknown_scenario_are_usage_errors(landed, args, words):
    out = mlgate("drill", "--spec", "flights", "--lake", landed, *args)
    assert out.returncode == 2
    for word in words:
        assert word in out.stderr


def test_the_demo_scenarios_start_from_the_real_partition():
    clean, _ = simulator.day_frames("2013-03-05")
    frame, _ = read_partition(incidents.inject("case_change", "2013-03-05"), "flights.csv")
    assert len(frame) == len(clean) and set(frame["carrier"]) == set(clean["carrier"].str.lower())


def test_validate_catches_a_scenario_file(tmp_path):
    path = tmp_path / "flights.csv"
    path.write_bytes(incidents.inject("unit_change", "2013-03-05"))
    out = mlgate(
        "validate", "--spec", "flights", "--ds", "2013-03-05", "--data", str(path), "--json"
    )
    assert out.returncode == 1
    assert json.loads(out.stdout)["failures"][0]["check"] == "relation"
