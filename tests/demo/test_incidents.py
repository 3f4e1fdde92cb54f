"""Every incident scenario is caught, on every day it is tried on, by the check that names it."""

import json

import pytest

from mlgate.demo import incidents, simulator
from mlgate.ingest.gate import read_partition
from tests.helpers import mlgate

# a Sunday with 19 days of history, the blizzard, Memorial Day, Independence Day, a Saturday,
# the day after Thanksgiving, Christmas Eve
DAYS = [
    "2013-01-20",
    "2013-02-09",
    "2013-05-27",
    "2013-07-04",
    "2013-09-14",
    "2013-11-29",
    "2013-12-24",
]
NAMED_BY = {
    "slice_missing": "slice_volume",
    "unit_change": "relation",
    "distance_in_km": "distribution",
    "replayed_duplicates": "unique",
    "label_outage": "positive_rate",
    "date_shifted": "partition_date",
    "shifted_column": "type",
    "type_change": "type",
    "case_change": "allowed_values",
    "empty_file": "readable",
    "truncated_file": "row_count",
    "misencoded": "encoding",
}


def test_every_scenario_has_a_naming_check():
    assert set(NAMED_BY) == set(incidents.SCENARIOS)


@pytest.mark.parametrize("ds", DAYS)
def test_the_drill_catches_every_scenario(ds):
    out = mlgate("drill", "--spec", "flights", "--ds", ds, "--json")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["caught"] == report["tried"] == len(incidents.SCENARIOS)
    for row in report["scenarios"]:
        assert NAMED_BY[row["scenario"]] in row["checks"], row
        assert row["reason"]


def test_the_first_reason_explains_the_incident():
    rows = {
        r["scenario"]: r
        for r in incidents.drill(
            __import__("mlgate.config.spec").config.spec.load_spec("flights"), "2013-03-05"
        )
    }
    assert "physically impossible" in rows["unit_change"]["reason"]
    assert "origin = 'EWR' is 0.0%" in rows["slice_missing"]["reason"]
    assert "wrong folder" in rows["date_shifted"]["reason"]
    assert "label outage" in rows["label_outage"]["reason"]
    assert rows["shifted_column"]["reason"].startswith("column 'flight_id' has type float64")


def test_a_scenario_that_cannot_be_made_on_the_first_day_is_skipped_not_fatal(spec):
    rows = {
        r["scenario"]: r
        for r in incidents.drill(spec, "2013-01-01", ["date_shifted", "case_change"])
    }
    assert rows["date_shifted"]["caught"] is None and rows["date_shifted"]["reason"].startswith(
        "skipped: no flights on 2012-12-31"
    )
    assert rows["case_change"]["caught"] is True


def test_scenarios_start_from_the_real_partition():
    clean, _ = simulator.day_frames("2013-03-05")
    frame, _ = read_partition(incidents.case_change("2013-03-05"), "flights.csv")
    assert len(frame) == len(clean) and set(frame["carrier"]) == set(clean["carrier"].str.lower())
    assert incidents.SCENARIOS["label_outage"].feed == "outcomes"


def test_validate_catches_a_scenario_file(tmp_path):
    path = tmp_path / "flights.csv"
    path.write_bytes(incidents.unit_change("2013-03-05"))
    out = mlgate(
        "validate", "--spec", "flights", "--ds", "2013-03-05", "--data", str(path), "--json"
    )
    assert out.returncode == 1
    assert json.loads(out.stdout)["failures"][0]["check"] == "relation"
