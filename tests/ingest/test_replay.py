"""`mlgate land`'s code: a table cut into the local days of the spec's timestamp."""

from __future__ import annotations

import pandas as pd
import pytest

from mlgate.demo import simulator
from mlgate.ingest import replay


def _flights_tables(first: str, last: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    table = simulator.flights_2013().query("@first <= ds <= @last")
    return (
        table[simulator.FEATURE_FEED_COLUMNS].reset_index(drop=True),
        table[simulator.OUTCOME_COLUMNS].reset_index(drop=True),
    )


def test_a_table_lands_as_the_simulator_delivers_it(lake, spec, tmp_path):
    features, outcomes = _flights_tables("2013-03-01", "2013-03-03")
    features.to_csv(tmp_path / "f.csv", index=False)
    outcomes.sample(frac=1, random_state=1).to_parquet(tmp_path / "o.parquet")  # any order
    landed = replay.land(lake, spec, tmp_path / "f.csv", tmp_path / "o.parquet")
    assert landed.days == ["2013-03-01", "2013-03-02", "2013-03-03"]
    assert landed.feature_rows == landed.outcome_rows == len(features)
    for ds in landed.days:
        day_features, day_outcomes = simulator.day_frames(ds)
        assert lake.read_bytes("landing", "flights", ds, "flights.csv") == (
            simulator.to_csv_bytes(day_features)
        )
        landed_outcomes = pd.read_csv(
            pd.io.common.BytesIO(lake.read_bytes("landing", "flight_outcomes", ds, "outcomes.csv"))
        )
        assert set(landed_outcomes["flight_id"]) == set(day_outcomes["flight_id"])


def test_the_day_is_the_local_day_not_the_utc_one(spec):
    # 01:30Z on 2 March is still 1 March in New York; 05:30Z is 2 March
    frame = pd.DataFrame(
        {"flight_id": ["a", "b"], "time_hour": ["2013-03-02T01:30:00Z", "2013-03-02T05:30:00Z"]}
    )
    assert list(replay.local_days(frame, spec)) == ["2013-03-01", "2013-03-02"]


def test_landing_the_same_day_twice_gives_the_same_partition(lake, spec, tmp_path):
    features, outcomes = _flights_tables("2013-03-01", "2013-03-02")
    features.to_csv(tmp_path / "f.csv", index=False)
    replay.land(lake, spec, tmp_path / "f.csv", start="2013-03-02", end="2013-03-02")
    first = lake.read_lineage("landing", "flights", "2013-03-02")
    landed = replay.land(lake, spec, tmp_path / "f.csv", start="2013-03-02")
    assert landed.days == ["2013-03-02"]
    assert lake.read_lineage("landing", "flights", "2013-03-02") == first
    assert not lake.exists("landing", "flights", "2013-03-01")


def test_a_csv_keeps_its_cells_as_written(lake, spec, tmp_path):
    """An integer column with a gap is not turned into floats ("1545.0") on the way."""
    features, _ = _flights_tables("2013-03-01", "2013-03-01")
    header, first, *rest = simulator.to_csv_bytes(features).decode().splitlines()
    cells = first.split(",")
    cells[header.split(",").index("flight")] = ""
    text = "\n".join([header, ",".join(cells), *rest]) + "\n"
    (tmp_path / "f.csv").write_text(text)
    replay.land(lake, spec, tmp_path / "f.csv")
    assert lake.read_bytes("landing", "flights", "2013-03-01", "flights.csv").decode() == text


@pytest.mark.parametrize(
    "content, words",
    [
        (b"\xff\xfe\x00garbage", ["cannot be read"]),
        (b"flight_id,year\na,2013\n", ["no column 'time_hour'", "keys.timestamp"]),
        (b"time_hour,year\n2013-03-01T10:00:00Z,2013\n", ["no column 'flight_id'", "keys.id"]),
        (
            b"flight_id,time_hour\na,2013-03-01T10:00:00Z\nb,next tuesday\n",
            ["'time_hour'", "'next tuesday'", "not timestamps"],
        ),
    ],
)
def test_clear_errors_name_the_column_and_a_sample(lake, spec, tmp_path, content, words):
    (tmp_path / "f.csv").write_bytes(content)
    with pytest.raises(replay.ReplayError) as error:
        replay.land(lake, spec, tmp_path / "f.csv")
    assert str(tmp_path / "f.csv") in str(error.value)  # the message names the file
    for word in words:
        assert word in str(error.value)


def test_outcome_ids_not_in_the_features_are_an_error(lake, spec, tmp_path):
    features, outcomes = _flights_tables("2013-03-01", "2013-03-01")
    features.to_csv(tmp_path / "f.csv", index=False)
    outcomes.assign(flight_id=outcomes["flight_id"] + "x").to_csv(tmp_path / "o.csv", index=False)
    with pytest.raises(replay.ReplayError, match=r"id\(s\) in column 'flight_id' are not in"):
        replay.land(lake, spec, tmp_path / "f.csv", tmp_path / "o.csv")
    assert not lake.exists("landing", "flights", "2013-03-01")  # nothing half-landed


def test_a_missing_file_and_a_wrong_suffix(lake, spec, tmp_path):
    with pytest.raises(replay.ReplayError, match="no such file"):
        replay.land(lake, spec, tmp_path / "absent.csv")
    (tmp_path / "f.json").write_text("{}")
    with pytest.raises(replay.ReplayError, match=r"\.csv or \.parquet"):
        replay.land(lake, spec, tmp_path / "f.json")


def test_the_simulator_refuses_a_spec_that_is_not_its_own(spec):
    from mlgate.config.spec import Spec

    raw = {**spec.raw, "source": {**spec.raw["source"], "features": {"feed": "x", "file": "x.csv"}}}
    with pytest.raises(simulator.NotFlightsSpec, match="mlgate land --spec other"):
        simulator.check_spec(Spec(name="other", path=spec.path, raw=raw))
