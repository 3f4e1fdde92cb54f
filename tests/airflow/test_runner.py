"""`mlgate land` and `mlgate run` on a second real dataset, not flights: a Portuguese resort
hotel's arrivals (Parquet features, a text label from a CSV outcomes table, an integer-coded
categorical, Europe/Lisbon), through the real DAGs to a first champion, scored days and
monitor reports; then `mlgate drill` on the same landed days."""

from __future__ import annotations

import json
import os

import pytest

from tests.helpers import HOTEL_SPEC, home_env, hotel_tables, mlgate

FIRST, LAST = "2016-07-02", "2016-07-27"
TRAIN_DAY = "2016-07-23"  # the spec's train_cron: three weeks of labelled days


def _mlgate(env: dict, *args: str):
    """The installed command in the hotel's own home (a whole run takes minutes)."""
    return mlgate(*args, timeout=1500, env=env)


@pytest.fixture(scope="module")
def hotel(tmp_path_factory):
    """The hotel's tables landed for four weeks and run through the DAGs in a home of its
    own that already holds a user's file."""
    folder = tmp_path_factory.mktemp("hotel")
    home = folder / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    env = {  # the run sets up the home's own Airflow (not the test session's)
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIRFLOW") and k != "MLGATE_SPECS_DIR"
    }
    env.update(home_env(home))
    features, outcomes = hotel_tables(folder)
    spec = str(HOTEL_SPEC)
    land = _mlgate(env, "land", "--spec", spec, "--features", str(features),
                   "--outcomes", str(outcomes), "--start", FIRST, "--end", LAST)  # fmt: skip
    run = _mlgate(env, "run", "--spec", spec, "--start", FIRST, "--end", LAST, "--json")
    return {"home": home, "env": env, "land": land, "run": run}


@pytest.mark.slow
def test_land_cuts_the_tables_into_local_days(hotel):
    land = hotel["land"]
    assert land.returncode == 0, land.stderr
    assert "landed 26 day(s), 2016-07-02 .. 2016-07-27" in land.stdout
    landing = hotel["home"] / "lake" / "landing"
    assert len(list((landing / "arrivals").glob("ds=*/arrivals.parquet"))) == 26
    assert len(list((landing / "room_assignments").glob("ds=*/assignments.csv"))) == 26


@pytest.mark.slow
def test_run_reaches_a_first_champion_scores_and_monitors(hotel):
    from mlgate.lake.store import Lake

    run = hotel["run"]
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    events = [json.loads(line) for line in run.stdout.splitlines()]
    assert all(list(e) == ["date", "event", "model_version", "metric", "reason"] for e in events)
    first = [e for e in events if e["event"].startswith("first champion")]
    assert first and first[0]["date"] == TRAIN_DAY and first[0]["model_version"] == "v1", events
    assert first[0]["metric"].startswith("eval AUC")
    assert f"{LAST} ingest success | score success v1" in run.stderr  # progress on stderr
    lake = Lake.from_uri(f"file://{hotel['home'] / 'lake'}")
    assert lake.list_partitions("predictions", "hotel_rooms")[0] == TRAIN_DAY
    assert lake.list_partitions("predictions", "hotel_rooms")[-1] == LAST
    report = json.loads(lake.read_bytes("reports", "hotel_rooms-monitor", LAST, "report.json"))
    assert report["champion"] == "1" and report["live"]["labelled_rows"] > 0
    assert 0.7 < report["live"]["auc"] <= 1 and "drifted_importance" in report["drift"]
    assert lake.list_partitions("quarantine", "hotel_rooms") == []


@pytest.mark.slow
def test_run_deletes_nothing_in_the_home(hotel):
    assert (hotel["home"] / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_the_drill_derives_the_hotels_scenarios_and_catches_them(hotel):
    out = _mlgate(hotel["env"], "drill", "--spec", str(HOTEL_SPEC), "--ds", LAST, "--json")
    report = json.loads(out.stdout)
    rows = {r["scenario"]: r for r in report["scenarios"]}
    assert "case_change:reserved_room_type" in rows and "unit_change:historical_adr" in rows
    assert "slice_missing:market_segment" in rows
    assert not any(name.startswith("unit_change:") and "relation" in name for name in rows)
    assert rows["misencoded"]["caught"] is None  # a Parquet feed has no text encoding
    assert rows["label_outage"]["caught"] is True
    assert out.returncode == 0, [r for r in report["scenarios"] if r["caught"] is False]
    assert report["caught"] == report["tried"] == len(rows) - 1


@pytest.mark.slow
def test_running_a_range_again_trains_nothing_twice_and_tells_the_same_story(hotel):
    """A resumed or repeated `mlgate run` over days already played (the first champion's
    training day among them): the same timeline, and no second MLflow run or model version."""
    from mlflow import MlflowClient

    client = MlflowClient(hotel["env"]["MLFLOW_TRACKING_URI"])
    before = client.search_model_versions("name='hotel_rooms'")
    again = _mlgate(
        hotel["env"], "run", "--spec", str(HOTEL_SPEC), "--start", TRAIN_DAY,
        "--end", "2016-07-24", "--json",
    )  # fmt: skip
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    first = [json.loads(line) for line in hotel["run"].stdout.splitlines()]
    repeated = [json.loads(line) for line in again.stdout.splitlines()]
    assert repeated == [e for e in first if TRAIN_DAY <= e["date"] <= "2016-07-24"]
    after = client.search_model_versions("name='hotel_rooms'")
    assert sorted(v.version for v in after) == sorted(v.version for v in before)
