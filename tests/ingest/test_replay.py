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


# ---- --scale: a real day N times over ------------------------------------------

SCALED_DAYS = ("2013-02-08", "2013-02-09")  # a snowstorm: weather gaps, rain, low visibility
CONTINUOUS = ["temp", "dewp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
GRID = ["sched_dep_time", "sched_arr_time", "hour", "minute", "flight", "distance", "wind_dir"]


def _landed(lake, feed: str, file: str, ds: str) -> pd.DataFrame:
    return pd.read_csv(pd.io.common.BytesIO(lake.read_bytes("landing", feed, ds, file)))


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    """The two real days landed at scale 3 by the simulator: {ds: (features, outcomes)} as
    landed, with the real day as delivered."""
    from mlgate.lake.store import Lake

    lake = Lake.from_uri(f"file://{tmp_path_factory.mktemp('scaled') / 'lake'}")
    assert simulator.simulate(lake, *SCALED_DAYS, scale=3) == list(SCALED_DAYS)
    return lake, {
        ds: (
            _landed(lake, "flights", "flights.csv", ds),
            _landed(lake, "flight_outcomes", "outcomes.csv", ds),
        )
        for ds in SCALED_DAYS
    }


def test_scale_3_lands_three_times_the_rows_with_keys_of_their_own(scaled, spec):
    _, days = scaled
    keys = pd.concat([features["flight_id"] for features, _ in days.values()])
    assert keys.is_unique  # across copies and days
    pattern = spec.contract("features").column("flight_id").pattern
    assert keys.str.fullmatch(pattern).all()  # the gate's pattern for the key
    real_year = set(simulator.flights_2013()["flight_id"])
    for ds, (features, outcomes) in days.items():
        real, _ = simulator.day_frames(ds)
        assert len(features) == 3 * len(real) and len(outcomes) == 3 * len(real)
        copies = features[~features["flight_id"].isin(real["flight_id"])]
        assert len(copies) == 2 * len(real) and not copies["flight_id"].isin(real_year).any()


def test_copy_0_is_the_real_row_and_copies_keep_the_grid_columns(scaled):
    _, days = scaled
    features, _ = days["2013-02-08"]
    real_frame, _ = simulator.day_frames("2013-02-08")
    real = pd.read_csv(pd.io.common.BytesIO(simulator.to_csv_bytes(real_frame)))
    originals = features.iloc[::3].reset_index(drop=True)
    pd.testing.assert_frame_equal(originals, real)
    for copy in (1, 2):
        rows = features.iloc[copy::3].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            rows[GRID + ["carrier", "origin", "dest"]], real[GRID + ["carrier", "origin", "dest"]]
        )
        assert rows[CONTINUOUS].isna().equals(real[CONTINUOUS].isna())  # missing stays missing
        assert (rows["temp"] != real["temp"]).mean() > 0.5  # the copies are jittered


def test_the_jittered_columns_keep_their_distribution(scaled):
    _, days = scaled
    for ds, (features, _) in days.items():
        real, _ = simulator.day_frames(ds)
        for column in CONTINUOUS:
            before, after = real[column].dropna(), features[column].dropna()
            sd = before.std()
            assert abs(after.mean() - before.mean()) <= 0.02 * sd + 1e-9, (ds, column)
            assert abs(after.std() - sd) <= 0.02 * sd + 1e-9, (ds, column)
            for q in (0.25, 0.5, 0.75):
                assert abs(after.quantile(q) - before.quantile(q)) <= 0.15 * sd + 1e-9, (
                    ds,
                    column,
                    q,
                )
            assert before.min() - 1e-9 <= after.min() and after.max() <= before.max() + 1e-9
            assert (after == 0).sum() == 3 * (before == 0).sum()  # a zero stays zero
        assert ((features["temp"] >= features["dewp"]) | features["temp"].isna()).mean() >= (
            (real["temp"] >= real["dewp"]) | real["temp"].isna()
        ).mean()  # the contract's relation holds as often as in the real day


def test_outcomes_join_the_copies_one_to_one_with_the_real_labels(scaled):
    _, days = scaled
    for ds, (features, outcomes) in days.items():
        joined = features[["flight_id"]].merge(outcomes, on="flight_id", validate="one_to_one")
        assert len(joined) == len(features)
        _, real = simulator.day_frames(ds)
        delays = outcomes["arr_delay"].to_numpy().reshape(-1, 3)  # each row and its 2 copies
        expected = real["arr_delay"].to_numpy()
        for copy in range(3):
            assert pd.Series(delays[:, copy]).equals(pd.Series(expected))


def test_landing_a_scaled_day_twice_writes_the_same_bytes(scaled, lake, spec):
    first_lake, _ = scaled
    features, outcomes = _flights_tables("2013-02-08", "2013-02-08")
    replay.land_frames(lake, spec, features, outcomes, scale=3)
    replay.land_frames(lake, spec, features, outcomes, scale=3)
    for feed, file in (("flights", "flights.csv"), ("flight_outcomes", "outcomes.csv")):
        assert lake.read_bytes("landing", feed, "2013-02-08", file) == first_lake.read_bytes(
            "landing", feed, "2013-02-08", file
        )


@pytest.mark.parametrize("scale", [0, -2, 2.5, "3", True])
def test_a_bad_scale_is_refused_saying_what_a_scale_is(lake, spec, tmp_path, scale):
    features, _ = _flights_tables("2013-02-08", "2013-02-08")
    features.to_csv(tmp_path / "f.csv", index=False)
    with pytest.raises(replay.ReplayError, match="whole number of copies"):
        replay.land(lake, spec, tmp_path / "f.csv", scale=scale)
    assert not lake.exists("landing", "flights", "2013-02-08")


@pytest.mark.parametrize("command", ["land", "simulate"])
@pytest.mark.parametrize("value", ["0", "-1", "2.5", "ten"])
def test_the_cli_refuses_a_bad_scale_with_exit_2(lake, tmp_path, capsys, command, value):
    from mlgate.cli import main

    args = {
        "land": ["land", "--spec", "flights", "--features", str(tmp_path / "f.csv")],
        "simulate": ["simulate", "--start", "2013-02-08", "--end", "2013-02-08"],
    }[command]
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--lake", f"file://{tmp_path / 'lake'}", "--scale", value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"--scale: {value!r} is not a scale" in err and "whole number" in err
    assert not (tmp_path / "lake").exists()


def test_the_hotel_lands_at_scale_2_with_integer_keys(tmp_path, capsys):
    """Not flights-specific: another real dataset, integer keys, Parquet features."""
    from mlgate.cli import main
    from mlgate.config.spec import load_spec
    from mlgate.ingest import landing
    from mlgate.lake.store import Lake
    from tests.helpers import HOTEL_SPEC, hotel_tables

    features_file, outcomes_file = hotel_tables(tmp_path)
    lake_uri = f"file://{tmp_path / 'lake'}"
    args = ["land", "--spec", str(HOTEL_SPEC), "--features", str(features_file)]
    args += ["--outcomes", str(outcomes_file), "--start", "2016-08-01", "--end", "2016-08-03"]
    assert main([*args, "--scale", "2", "--lake", lake_uri]) == 0
    assert "(scale 2)" in capsys.readouterr().out
    spec, lake = load_spec(str(HOTEL_SPEC)), Lake.from_uri(lake_uri)
    real = pd.read_parquet(features_file)
    for ds in ("2016-08-01", "2016-08-02", "2016-08-03"):
        data = lake.read_bytes("landing", "arrivals", ds, "arrivals.parquet")
        features = pd.read_parquet(pd.io.common.BytesIO(data))
        day = real[real["arrival_date"] == ds]
        assert len(features) == 2 * len(day) and features["booking_id"].is_unique
        assert features["booking_id"].dtype == real["booking_id"].dtype
        assert set(features["booking_id"].iloc[::2]) == set(day["booking_id"])
        assert not features["booking_id"].iloc[1::2].isin(real["booking_id"]).any()
        outcomes = _landed(lake, "room_assignments", "assignments.csv", ds)
        assert set(outcomes["booking_id"]) == set(features["booking_id"])
        result, _ = landing.validate_features(spec, data, "arrivals.parquet", ds, None)
        assert result.success, result.summary()


def test_a_copy_that_would_take_a_real_key_is_refused(lake, spec):
    """Copy 1 of the key "...-0515" on 1 March would be "...-051501"; a real row of 2 March
    that already has that key makes the scaled lake ambiguous: refused, nothing landed."""
    features, outcomes = _flights_tables("2013-03-01", "2013-03-02")
    raw = {**spec.raw, "contract": {**spec.raw["contract"]}}
    raw["contract"]["features"] = {
        **raw["contract"]["features"],
        "columns": {**raw["contract"]["features"]["columns"], "flight_id": {"type": "string"}},
    }
    from mlgate.config.spec import Spec

    unpatterned = Spec(name=spec.name, path=spec.path, raw=raw)  # a copy's tag goes at the end
    first = features["flight_id"].iloc[0]
    later = features.index[features["time_hour"] >= "2013-03-02T12"][0]
    features.loc[later, "flight_id"] = first + "01"
    outcomes.loc[later, "flight_id"] = first + "01"
    with pytest.raises(replay.ReplayError, match=f"the key of a real row, e.g. '{first}01'"):
        replay.land_frames(lake, unpatterned, features, outcomes, scale=2)
    assert not lake.exists("landing", "flights", "2013-03-01")
