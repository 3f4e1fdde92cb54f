"""Whole DAG runs with dag.test() on real 2013 days: ingest 23 days, the first champion,
score and monitor; then a broken delivery is quarantined and the champion stays."""

import datetime as dt
import json

import pytest

from mlgate import tracking
from mlgate.config.settings import load_settings
from mlgate.demo import simulator
from mlgate.lake.names import dates
from mlgate.lake.store import Lake
from tests.helpers import champion

pytestmark = pytest.mark.slow
MODEL = "flights_late"


def day(ds):
    """The logical date of the daily run for day `ds`: local midnight in the spec's zone."""
    from mlgate.airflow import dagkit
    from mlgate.config.spec import load_spec

    return dagkit.day_start(load_spec("flights"), ds)


@pytest.fixture(scope="module")
def env(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    from mlgate.airflow.local import DAGS_FOLDER

    settings = load_settings()
    bag = DagBag(str(DAGS_FOLDER))
    dags = {
        kind: bag.dags[f"mlgate_{MODEL}_{kind}"]
        for kind in ("ingest", "train", "score", "monitor", "rollback")
    }
    lake = Lake.from_uri(settings.lake_uri)
    states = {}
    for ds in dates("2013-01-01", "2013-01-23"):
        simulator.deliver_features(lake, ds)
        if ds > "2013-01-01":
            simulator.deliver_outcomes(
                lake, (dt.date.fromisoformat(ds) - dt.timedelta(days=1)).isoformat()
            )
        states[ds] = str(
            dags["ingest"].test(logical_date=day(ds), run_conf={"accept_reason": None}).state
        )
    return {"dags": dags, "lake": lake, "settings": settings, "ingest_states": states}


def test_ingest_validates_every_real_day(env):
    assert set(env["ingest_states"].values()) == {"success"}
    lake = env["lake"]
    assert len(lake.list_partitions("validated", MODEL)) == 23
    assert len(lake.list_partitions("outcomes", MODEL)) == 22
    assert lake.list_partitions("golden", MODEL) == ["2013-01-16"]
    lineage = lake.read_lineage("validated", MODEL, "2013-01-05")
    assert lineage["dag_id"] == f"mlgate_{MODEL}_ingest" and lineage["gate"]["success"]
    assert lineage["rows"] == len(simulator.day_frames("2013-01-05")[0]) == 720  # a Saturday
    assert (
        lineage["source_sha256"]
        == lake.read_lineage("raw", MODEL, "2013-01-05")["files"]["flights.csv"]
    )


def test_rerunning_a_day_changes_nothing(env):
    lake = env["lake"]
    before = {z: lake.read_lineage(z, MODEL, "2013-01-10") for z in ("raw", "validated")}
    assert (
        str(
            env["dags"]["ingest"]
            .test(logical_date=day("2013-01-10"), run_conf={"accept_reason": None})
            .state
        )
        == "success"
    )
    assert {z: lake.read_lineage(z, MODEL, "2013-01-10") for z in ("raw", "validated")} == before


def test_train_dated_today_on_2013_data_fails_and_registers_nothing(env, capfd):
    """An unpaused train DAG's cron run is dated today: on a lake of 2013 days it must not
    train on data years old (issue 15). It fails, without retrying, before any MLflow run."""
    import pendulum

    today = pendulum.now("America/New_York").start_of("day")
    run = env["dags"]["train"].test(
        logical_date=today, run_conf={"overrides": {}, "trigger": "schedule"}
    )
    assert str(run.state) == "failed"
    tis = {ti.task_id: (str(ti.state), ti.try_number) for ti in run.get_task_instances()}
    assert tis["train_candidate"] == ("failed", 1)
    assert (
        f"refused: {MODEL} on {today.to_date_string()}: the newest validated, labelled day is "
        "2013-01-22" in capfd.readouterr().out.replace("\n", " ")
    )
    client = tracking.client(env["settings"])
    assert client.search_model_versions(f"name='{MODEL}'") == []
    assert champion(env["settings"], MODEL) is None


def test_train_makes_the_first_champion_then_score_and_monitor(env):
    dags = env["dags"]
    run = dags["train"].test(
        logical_date=day("2013-01-23"),
        run_conf={"overrides": {}, "trigger": "test", "gray_zone": "refuse"},
    )
    assert str(run.state) == "success"
    assert champion(env["settings"], MODEL) == "1"
    mv = tracking.client(env["settings"]).get_model_version(MODEL, "1")
    assert mv.tags["mlgate.decision"] == "promote" and mv.tags["mlgate.promoted_by"].startswith(
        f"mlgate_{MODEL}_train/"
    )

    assert (
        str(dags["score"].test(logical_date=day("2013-01-23"), run_conf={"rescore": False}).state)
        == "success"
    )
    predictions = env["lake"].read_frame("predictions", MODEL, "2013-01-23", "predictions.parquet")
    assert set(predictions["model_version"]) == {"1"} and len(predictions) > 800

    assert (
        str(dags["score"].test(logical_date=day("2013-01-21"), run_conf={"rescore": False}).state)
        == "success"
    )
    monitor = dags["monitor"].test(logical_date=day("2013-01-23"))
    assert str(monitor.state) == "success"
    tis = {ti.task_id: str(ti.state) for ti in monitor.get_task_instances()}
    assert tis == {
        "live_decisions": "success",
        "measure": "success",
        "request_retrain": "skipped",  # inside the cool-down
    }
    report = json.loads(
        env["lake"].read_bytes("reports", f"{MODEL}-monitor", "2013-01-23", "report.json")
    )
    # a first champion is no decision between two models: nothing to settle nor judge yet
    assert report["decisions"] == {
        "superseded": [],
        "settled": None,
        "watch": None,
        "hindsight": {
            "summary": {"right": 0, "wrong": 0, "pending": 0, "judged": 0, "share": None},
            "newly_judged": [],
        },
    }
    mature = env["lake"].read_lineage("predictions", MODEL, "2013-01-21")["rows"]
    assert (
        report["champion"] == "1" and report["live"]["predicted_rows"] == mature
    )  # 01-22 and 01-23 not mature yet


def test_the_monitor_reads_the_pause_variable_and_alerts_through_its_callback(
    env, monkeypatch, tmp_path
):
    from mlgate.lake.names import FEATURES_FILE

    lake, dags = env["lake"], env["dags"]
    monkeypatch.setenv(f"AIRFLOW_VAR_MLGATE_{MODEL.upper()}_RETRAINING_PAUSED", "true")
    monkeypatch.setenv("MLGATE_ALERT_CALLBACK", "tests.helpers:record_alert")
    monkeypatch.setenv("MLGATE_TEST_ALERTS", str(tmp_path / "alerts.jsonl"))
    days = ("2013-01-21", "2013-01-22", "2013-01-23")
    originals = {ds: lake.read_frame("validated", MODEL, ds, FEATURES_FILE) for ds in days}
    try:  # the pressure sensor's feed breaks for three days (the gate allows a day without weather)
        for ds, frame in originals.items():
            lake.commit_frame(
                "validated",
                MODEL,
                ds,
                FEATURES_FILE,
                frame.assign(pressure=float("nan")),
                {"test": "broken feed"},
            )
        assert str(dags["monitor"].test(logical_date=day("2013-01-23")).state) == "success"
    finally:
        for ds, frame in originals.items():
            lake.commit_frame("validated", MODEL, ds, FEATURES_FILE, frame, {"test": "restored"})
    report = json.loads(lake.read_bytes("reports", f"{MODEL}-monitor", "2013-01-23", "report.json"))
    assert report["paused"] is True and any(
        f"mlgate_{MODEL}_retraining_paused" in q for q in report["quiet_reasons"]
    )
    assert "pressure" in report["integrity"]["skipped"] and "pressure" not in [
        f["name"] for f in report["drift"]["features"]
    ]
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [a["kind"] for a in alerts] == ["data_integrity"]
    assert "pressure: missing in" in alerts[0]["reasons"][-1] and alerts[0]["runbook"][
        "do"
    ].startswith("Fix or re-deliver")


@pytest.mark.parametrize(
    "scenario, check",
    [
        ("unit_change", "relation"),
        ("slice_missing", "slice_volume"),
        ("replayed_duplicates", "unique"),
        ("date_shifted", "partition_date"),
        ("case_change", "allowed_values"),
    ],
)
def test_a_broken_delivery_is_quarantined_and_the_champion_stays(env, scenario, check):
    from mlgate.demo import incidents

    lake, dags = env["lake"], env["dags"]
    before = champion(env["settings"], MODEL)
    broken = incidents.inject(scenario, "2013-01-24")
    lake.write_landing("flights", "2013-01-24", "flights.csv", broken)
    run = dags["ingest"].test(logical_date=day("2013-01-24"), run_conf={"accept_reason": None})
    assert str(run.state) == "failed"
    assert {ti.task_id: str(ti.state) for ti in run.get_task_instances()}["validate"] == "failed"
    reason = json.loads(lake.read_bytes("quarantine", MODEL, "2013-01-24", "_reason.json"))
    assert check in {f["check"] for f in reason["failures"]}
    assert "re-run" in reason["what_to_do"]
    assert lake.read_bytes("raw", MODEL, "2013-01-24", "flights.csv") == broken  # raw kept
    assert b"Great Expectations" in lake.read_bytes(
        "reports", f"{MODEL}-gate-features", "2013-01-24", "validation.html"
    )
    assert not lake.exists("validated", MODEL, "2013-01-24")
    assert champion(env["settings"], MODEL) == before


def test_an_operator_can_accept_a_rejected_batch_on_purpose(env):
    lake, dags = env["lake"], env["dags"]
    features, _ = simulator.day_frames("2013-01-24")
    lake.write_landing(
        "flights",
        "2013-01-24",
        "flights.csv",
        simulator.to_csv_bytes(features.assign(carrier=features["carrier"].str.lower())),
    )

    accepted = dags["ingest"].test(
        logical_date=day("2013-01-24"),
        run_conf={"accept_reason": "carrier case fixed downstream, ticket 42"},
    )
    assert str(accepted.state) == "success"
    assert (
        lake.read_lineage("validated", MODEL, "2013-01-24")["accepted_despite_gate"]
        == "carrier case fixed downstream, ticket 42"
    )


def test_rollback_without_a_previous_champion_fails_clearly(env):
    run = env["dags"]["rollback"].test(
        run_conf={"reason": "testing rollback"}, logical_date=day("2013-01-24")
    )
    assert str(run.state) == "failed"
    assert champion(env["settings"], MODEL) == "1"
