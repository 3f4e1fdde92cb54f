"""The monitor on the real 2013 timeline: a champion trained on January is watched weekly
from February to June, with real predictions and real late labels.

January goes through the real gate (the champion is trained and judged on it); the
days after it are written straight to the validated and outcomes zones, as the gate
would, to keep the test short, except the broken deliveries, which go through the gate.
"""

import datetime as dt
import json

import pytest

from mlgate import tracking
from mlgate.demo import incidents, simulator
from mlgate.ingest import landing
from mlgate.ingest.labels import with_label
from mlgate.lake import names
from mlgate.lake.names import REPORT_FILE, dates, monitor_name
from mlgate.lake.store import Lake
from mlgate.model import profile
from mlgate.monitor import drift
from mlgate.monitor.day import champion_schema, monitor_day, predictions_of, summary_lines
from mlgate.monitor.report import day_step
from mlgate.promote import registry, stats
from mlgate.promote.apply import apply_decision
from mlgate.promote.evaluate import evaluate_candidate
from mlgate.score.batch import score_day
from mlgate.train.candidate import train_candidate
from tests.helpers import ingest_real_days, run_info

BROKEN = ("2013-03-05", "2013-03-06")  # distances delivered in kilometres: quarantined by the gate
WEEKLY = dates("2013-02-07", "2013-06-30")[::7]


@pytest.fixture(scope="module")
def timeline(module_settings, spec):
    settings, lake = module_settings, Lake.from_uri(module_settings.lake_uri)
    ingest_real_days(lake, spec, "2013-01-01", "2013-01-31")
    label = with_label(spec)
    for ds in dates("2013-02-01", "2013-06-30"):
        features, outcomes = simulator.day_frames(ds)
        if ds in BROKEN:
            lake.write_landing("flights", ds, "flights.csv", incidents.inject("distance_in_km", ds))
            landing.land_features(lake, spec, ds, run_info("ingest"))
            with pytest.raises(landing.GateRejected):
                landing.gate_features(lake, spec, ds, run_info("ingest"))
        else:
            lake.commit_frame(
                "validated", spec.model, ds, names.FEATURES_FILE, features, run_info("ingest")
            )
        lake.commit_frame(
            "outcomes", spec.model, ds, names.LABELS_FILE, label(outcomes), run_info("ingest")
        )
    first = train_candidate(lake, settings, spec, "2013-02-01", run_info("train"), "test")
    decision = evaluate_candidate(lake, settings, spec, first["version"], first["window"])
    assert decision.outcome == "promote", decision.sentence
    apply_decision(lake, settings, spec, decision, run_info("train"))
    for ds in dates("2013-02-01", "2013-06-30"):
        if ds not in BROKEN:
            score_day(lake, settings, spec, ds, run_info("score"))
    reports = {ds: monitor_day(lake, settings, spec, ds, run_info("monitor")) for ds in WEEKLY}
    return {
        "lake": lake,
        "settings": settings,
        "spec": spec,
        "reports": reports,
        "champion": first["version"],
    }


def test_quiet_through_winter_and_a_request_when_spring_changes_the_flights(timeline):
    reports = timeline["reports"]
    winter = [r for ds, r in reports.items() if ds < "2013-04-01"]
    spring = [r for ds, r in reports.items() if ds >= "2013-04-15"]
    assert len(winter) == 8 and not any(r["retrain"] for r in winter), [
        r["reasons"] for r in winter if r["retrain"]
    ]
    assert sum(r["retrain"] for r in spring) >= len(spring) - 2
    first = next(r for r in spring if r["retrain"])
    assert first["ds"] <= "2013-04-22" and any(
        reason.startswith("drift in") for reason in first["reasons"]
    )
    assert (
        len(first["persistence"]["runs_with_evidence"]) >= 2
    )  # k of the last n runs, never one alone
    assert first["alert"] == "retrain_requested"


def test_every_report_carries_coverage_age_and_intervals(timeline):
    for r in timeline["reports"].values():
        live = r["live"]
        assert live["coverage"] == 1.0 and live["labelled_rows"] > 3000
        assert (
            live["auc_low"] < live["auc"] < live["auc_high"]
            and live["rate_low"] < live["positive_rate"] < live["rate_high"]
        )
        assert (
            all(d <= dates(r["ds"], r["ds"])[0] for d in live["mature_days"])
            and len(live["mature_days"]) == 5
        )
        assert (
            r["model_age"]["days_since_training_data"] > 0
            and r["drift"]["false_alarm_rate"] == 0.01
        )


def test_mlflow_plots_the_figures_one_point_per_day_on_one_run_per_champion(timeline):
    """The monitor logs each day's figures on the champion's one monitor run, the day as
    step and its midnight as timestamp: a metric history per figure, one point a day, that
    a re-run of a day leaves as it was."""
    lake, settings, spec, reports = (timeline[k] for k in ("lake", "settings", "spec", "reports"))
    client, champion = tracking.client(settings), timeline["champion"]
    (run_id,) = {r["mlflow_run_id"] for r in reports.values()}
    run = client.get_run(run_id)
    assert run.info.run_name == f"monitor: {spec.model} v{champion}"
    assert run.data.tags[tracking.KIND_TAG] == "monitor"
    assert run.data.tags[tracking.MONITOR_CHAMPION_TAG] == champion
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == monitor_name(spec.model)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

    def midnight(ds):
        return int(dt.datetime.fromisoformat(f"{ds}T00:00:00+00:00").timestamp() * 1000)

    figures = {
        "live_auc": lambda r: r["live"]["auc"],
        "live_coverage": lambda r: r["live"]["coverage"],
        "live_labelled_rows": lambda r: r["live"]["labelled_rows"],
        "drifted_importance": lambda r: r["drift"]["drifted_importance"],
        "retrain": lambda r: r["retrain"],
    }

    def histories():
        return {
            key: sorted(
                (m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, key)
            )
            for key in figures
        }

    before = histories()
    for key, figure in figures.items():
        assert before[key] == [
            (
                (dt.date.fromisoformat(ds) - dt.date(1970, 1, 1)).days,
                midnight(ds),
                float(figure(reports[ds])),
            )
            for ds in WEEKLY
        ], key
    # the description is the latest day's verdict, with the link to its Airflow run
    described = run.data.tags["mlflow.note.content"]
    assert described.startswith(f"**{spec.model} v{champion}, monitored {WEEKLY[-1]}: ")
    assert f"({tracking.airflow_run_url(settings, 'test', 'monitor')})" in described
    # a re-run of an earlier day finds the same run and adds no point; its report is there
    again = monitor_day(lake, settings, spec, WEEKLY[3], run_info("monitor-again"))
    assert again["mlflow_run_id"] == run_id and "mlflow_kept" not in again
    assert histories() == before
    assert client.get_run(run_id).data.tags["mlflow.note.content"] == described
    page = f"monitor/ds={WEEKLY[3]}/drift_report.html"
    assert [a.path for a in client.list_artifacts(run_id, f"monitor/ds={WEEKLY[3]}")] == [page]
    assert "Live quality" in open(client.download_artifacts(run_id, page)).read()


def test_a_rejected_batch_is_never_counted_as_drift(timeline):
    settings, spec = timeline["settings"], timeline["spec"]
    report = timeline["reports"]["2013-03-07"]
    assert report["days"]["quarantined"] == list(BROKEN) and not report["retrain"]
    assert "distance" not in report["drift"]["drifted"] and report["drift"]["rows"] == sum(
        len(simulator.day_frames(d)[0]) for d in report["days"]["validated"]
    )
    assert any("2013-03-05 was quarantined" in p for p in report["integrity"]["problems"])
    # the same window with the broken days counted would have called distance drifted
    champion = registry.alias_version(tracking.client(settings), spec.model, tracking.CHAMPION)
    reference = tracking.reference_profile(settings, champion.run_id)
    broken = [simulator.day_frames(d)[0] for d in report["days"]["validated"]]
    broken += [
        simulator.day_frames(d)[0].assign(distance=lambda f: f["distance"] * 1.609344)
        for d in BROKEN
    ]
    import pandas as pd

    counted = drift.compare(
        reference,
        profile.inputs(pd.concat(broken), champion_schema(settings, spec, report["champion"])),
        0.01,
        0.15,
    )
    assert "distance" in counted["drifted"]


def test_drift_counted_day_by_day_is_the_drift_of_the_whole_window(timeline):
    """The monitor counts the window's features one day at a time; its drift section is the
    one the whole window's feature frame gives: every statistic, p-value and verdict, on a
    quiet winter window (with quarantined days) and on a drifted spring one."""
    lake, settings, spec = timeline["lake"], timeline["settings"], timeline["spec"]
    version, cfg = timeline["champion"], spec.section("monitoring")["drift"]
    champion = registry.alias_version(tracking.client(settings), spec.model, tracking.CHAMPION)
    reference = tracking.reference_profile(settings, champion.run_id)
    schema = champion_schema(settings, spec, version)
    spring = next(ds for ds, r in timeline["reports"].items() if r["drift"]["drifted"])
    for ds in ("2013-03-07", spring):
        report = timeline["reports"][ds]
        days = report["days"]["validated"]
        frame = lake.read_frames("validated", spec.model, days, names.FEATURES_FILE)
        whole = drift.compare(
            reference,
            profile.inputs(frame, schema),
            float(cfg["false_alarm_rate"]),
            float(cfg["min_drifted_share"]),
            predictions=predictions_of(lake, spec.model, days, version)["score"],
            skip=report["integrity"]["skipped"],
            seed=int(spec.section("training")["seed"]),
        )
        assert report["drift"] == stats.finite_or_none(whole), ds
    assert timeline["reports"][spring]["drift"]["drifted"]


def test_the_pause_switch_and_the_cool_down_hold_a_request_back(timeline):
    lake, settings, spec = timeline["lake"], timeline["settings"], timeline["spec"]
    ds = next(ds for ds, r in timeline["reports"].items() if r["retrain"])
    paused = monitor_day(
        lake,
        settings,
        spec,
        ds,
        run_info("monitor-paused"),
        paused=True,
        pause_variable="mlgate_flights_late_retraining_paused",
    )
    assert paused["retrain"] is False and paused["alert"] == "retrain_paused" and paused["evidence"]
    # MLflow keeps the day's first point, and the report and the log say what this run measured
    assert paused["mlflow_kept"] == {"retrain": {"mlflow": 1.0, "now": 0.0}}
    history = tracking.client(settings).get_metric_history(paused["mlflow_run_id"], "retrain")
    assert [m.value for m in history if m.step == day_step(ds)] == [1.0]
    assert "  MLflow keeps this day's first figures: retrain 1 (now 0)" in summary_lines(paused)
    assert any(
        "paused (Airflow Variable mlgate_flights_late_retraining_paused)" in q
        for q in paused["quiet_reasons"]
    )
    # a candidate trained a few days ago (promoted or not) starts the cool-down: the request waits
    train_candidate(
        lake,
        settings,
        spec,
        dates("2013-01-01", ds)[-4],
        run_info("train-recent"),
        "test",
    )
    waiting = monitor_day(lake, settings, spec, ds, run_info("monitor-cooldown"))
    assert waiting["retrain"] is False and waiting["evidence"] and waiting["alert"] is None
    assert any("the request waits until" in q for q in waiting["quiet_reasons"])
    stored = json.loads(lake.read_bytes("reports", monitor_name(spec.model), ds, REPORT_FILE))
    assert stored["quiet_reasons"] == waiting["quiet_reasons"]


def test_a_champion_moved_by_hand_outside_the_gate_is_alerted(timeline):
    """Someone registers a version in the MLflow UI and points @champion at it: the next
    monitor run alerts, naming both versions; an alias back where the gate left it is quiet."""
    from mlgate.monitor.alerts import build_alert

    settings, spec = timeline["settings"], timeline["spec"]
    client = tracking.client(settings)
    gate_champion = client.get_model_version(spec.model, timeline["champion"])
    by_hand = client.create_model_version(spec.model, gate_champion.source, gate_champion.run_id)
    client.set_registered_model_alias(spec.model, tracking.CHAMPION, by_hand.version)
    try:
        report = monitor_day(
            timeline["lake"], settings, spec, "2013-03-01", run_info("monitor-by-hand")
        )
    finally:
        client.set_registered_model_alias(spec.model, tracking.CHAMPION, timeline["champion"])
    assert report["alert"] == "champion_outside_gate"
    alert = build_alert(report)
    assert alert["reasons"] == [
        f"@champion of {spec.model} points to v{by_hand.version}, but the gate's last promotion "
        f"or rollback left v{timeline['champion']}: it was moved outside the gate, and "
        f"v{by_hand.version} is served without having passed it"
    ]
    assert registry.champion_outside_gate(client, spec.model) is None  # back where it was
