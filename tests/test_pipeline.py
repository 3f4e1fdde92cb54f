"""The loop through the library functions, on real 2013 days: ingest, first champion,
a refused candidate, compare-and-set, promotion history and rollback, scoring, monitoring."""

import pytest

from mlgate import tracking
from mlgate.demo import simulator
from mlgate.ingest import landing
from mlgate.lake.store import Lake
from mlgate.monitor.day import monitor_day
from mlgate.promote import registry
from mlgate.promote.apply import apply_decision
from mlgate.promote.evaluate import evaluate_candidate
from mlgate.promote.rollback import roll_back
from mlgate.score.batch import score_day
from mlgate.train.candidate import train_candidate
from mlgate.train.window import NotEnoughData, plan_window
from tests.helpers import champion, ingest_real_days, run_info, spec_with

LAST_DAY = "2013-01-24"


@pytest.fixture(scope="module")
def world(module_settings, spec):
    """24 real days ingested (features and labels) into a lake with its own MLflow store."""
    lake = Lake.from_uri(module_settings.lake_uri)
    ingest_real_days(lake, spec, "2013-01-01", LAST_DAY)
    return lake, module_settings, spec


def candidate(world, name, ds="2013-01-25", overrides=None):
    lake, settings, spec = world
    return train_candidate(lake, settings, spec, ds, run_info(name), "test", overrides)


def judge(world, cand, name, spec=None):
    lake, settings, spec = (*world[:2], spec or world[2])
    decision = evaluate_candidate(lake, settings, spec, cand["version"], cand["window"])
    return decision, apply_decision(lake, settings, spec, decision, run_info(name))


def test_the_window_holds_out_golden_and_recent_days(world):
    lake, _, spec = world
    window = plan_window(lake, spec, "2013-01-25")
    assert window.recent_days == [f"2013-01-{d}" for d in range(18, 25)]
    assert "2013-01-16" not in window.train_days and window.golden_days == ["2013-01-16"]
    assert window.train_days[0] == "2013-01-01" and window.train_days[-1] == "2013-01-17"
    with pytest.raises(
        NotEnoughData, match="only 8 labelled, validated days .* training.min_days = 14"
    ):
        plan_window(lake, spec, "2013-01-16")


def test_the_loop(world):
    lake, settings, spec = world
    client = tracking.client(settings)

    # 1. the first model becomes champion by the first-model rule
    first = candidate(world, "first")
    decision, moved = judge(world, first, "first")
    assert moved and decision.first_model and champion(settings, spec.model) == first["version"]
    assert "first-model minimum" in decision.reasons[0]
    # its run carries the lineage a data scientist needs
    run = client.get_run(first["run_id"])
    assert (
        run.data.params["window_first_day"] == "2013-01-01"
        and run.data.tags["airflow.run_id"] == "first"
    )
    assert run.inputs.dataset_inputs and "eval_candidate_auc" in run.data.metrics

    # 2. a crippled candidate is refused, with its reason, and the champion stays
    weak = candidate(world, "weak", overrides={"num_boost_round": 2, "params": {"max_depth": 1}})
    decision, moved = judge(world, weak, "weak")
    assert not moved and not decision.promote and champion(settings, spec.model) == first["version"]
    assert any("worse by more than the margin 0.01" in r for r in decision.reasons), (
        decision.reasons
    )
    assert client.get_model_version(spec.model, weak["version"]).tags["mlgate.decision"] == "refuse"
    assert registry.alias_version(client, spec.model, tracking.CHALLENGER) is None

    # 3. compare-and-set: a promotion against a stale champion is refused
    with pytest.raises(registry.PromotionError, match="champion moved"):
        registry.promote(client, spec.model, weak["version"], expected_champion=None, tags={})
    assert champion(settings, spec.model) == first["version"]

    # 4. a retried training task (same Airflow run) reuses its version instead of duplicating it
    again = candidate(world, "weak", overrides={"num_boost_round": 2, "params": {"max_depth": 1}})
    assert again["reused"] and again["version"] == weak["version"]

    # 5. promotion history and rollback, twice in a row
    registry.promote(
        client,
        spec.model,
        weak["version"],
        expected_champion=first["version"],
        tags={"mlgate.promoted_by": "test"},
    )
    # the same window as the champion (only a "better" rule can promote it), another seed:
    # the first's data and settings would give back the first's own version
    third = candidate(world, "third", overrides={"params": {"seed": 3}})
    decision, moved = judge(world, third, "third", spec_with(spec, rule="better", min_auc_gain=0.0))
    assert moved, decision.sentence
    assert registry.alias_version_number(client, spec.model, tracking.PREVIOUS) == weak["version"]
    assert roll_back(lake, settings, spec, "test one") == {
        "from": third["version"],
        "to": weak["version"],
    }
    assert roll_back(lake, settings, spec, "test two") == {
        "from": weak["version"],
        "to": first["version"],
    }
    assert champion(settings, spec.model) == first["version"]
    assert registry.alias_version(client, spec.model, tracking.PREVIOUS) is None
    with pytest.raises(registry.PromotionError, match="no previous champion"):
        roll_back(lake, settings, spec, "test three")


def test_scoring_and_monitoring(world):
    lake, settings, spec = world
    if champion(settings, spec.model) is None:
        judge(world, candidate(world, "for-scoring"), "for-scoring")
    lineage = score_day(lake, settings, spec, "2013-01-24", run_info("score"))
    predictions = lake.read_frame("predictions", spec.model, "2013-01-24", "predictions.parquet")
    assert len(predictions) == lineage["rows"] == len(simulator.day_frames("2013-01-24")[0])
    assert predictions["prediction_id"].is_unique and predictions["score"].between(0, 1).all()
    assert (
        set(predictions["model_version"]) == {champion(settings, spec.model)}
        and predictions["feature_hash"].str.len().eq(16).all()
    )
    assert (
        score_day(lake, settings, spec, "2013-01-24", run_info("score-again"))["unchanged"] is True
    )

    for ds in ("2013-01-21", "2013-01-22", "2013-01-23"):
        score_day(lake, settings, spec, ds, run_info("score"))
    report = monitor_day(lake, settings, spec, "2013-01-24", run_info("monitor"))
    mature_rows = sum(len(simulator.day_frames(d)[0]) for d in ("2013-01-21", "2013-01-22"))
    live = report["live"]
    assert (
        live["mature_days"][-1] == "2013-01-22"
    )  # outcomes of the last two days are not mature yet
    assert (
        live["labelled_rows"] == live["predicted_rows"] == mature_rows and live["coverage"] == 1.0
    )
    assert live["auc_low"] < live["auc"] < live["auc_high"] and 0.5 < live["auc"] < 1
    assert {"origin=EWR", "origin=JFK", "origin=LGA"} <= set(live["slices"])
    assert {f["name"] for f in report["drift"]["features"]} == set(spec.feature_names)
    assert report["drift"]["predictions"]["method"] == "ks"
    assert abs(sum(f["importance"] for f in report["drift"]["features"]) - 1) < 1e-3
    assert report["retrain"] is False  # trained today: inside the cool-down whatever the drift
    assert lake.exists("reports", f"{spec.model}-monitor", "2013-01-24", "drift_report.html")
    page = lake.read_bytes(
        "reports", f"{spec.model}-monitor", "2013-01-24", "drift_report.html"
    ).decode()
    assert page.count("<svg") == len(spec.feature_names) + 1 and "Live quality" in page
    import mlflow

    monitored = mlflow.search_runs(experiment_names=[f"{spec.model}-monitor"], output_format="list")
    assert [r.info.run_id for r in monitored] == [report["mlflow_run_id"]]
    again = monitor_day(lake, settings, spec, "2013-01-24", run_info("monitor-again"))
    assert again["mlflow_run_id"] == report["mlflow_run_id"] and again["drift"] == report["drift"]


def test_a_redelivered_day_that_fails_leaves_validated(world):
    from mlgate.demo import incidents

    lake, settings, spec = world
    ds = "2013-01-22"
    assert lake.exists("validated", spec.model, ds)
    lake.write_landing("flights", ds, "flights.csv", incidents.inject("slice_missing", ds))
    landing.land_features(lake, spec, ds, run_info("redelivery"))
    with pytest.raises(landing.GateRejected, match="slices of origin"):
        landing.gate_features(lake, spec, ds, run_info("redelivery"))
    assert not lake.exists("validated", spec.model, ds) and lake.exists(
        "quarantine", spec.model, ds
    )
    simulator.deliver_features(lake, ds)  # the upstream fixes it: the day is validated again
    landing.land_features(lake, spec, ds, run_info("fixed"))
    assert landing.gate_features(lake, spec, ds, run_info("fixed")).success and lake.exists(
        "validated", spec.model, ds
    )
