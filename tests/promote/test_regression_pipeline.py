"""The regression spec (flights_delay: minutes of arrival delay) through the real pipeline
on real 2013 flights, with a real MLflow store and registry: a first champion by the
first-model rule, a scored day, a monitor report in RMSE and MAE; and the decision table of
the regression gate: a fresher candidate inside the RMSE margin is promoted, one whose
interval straddles the margin (stopped after 20 boosting rounds) asks a person, a stunted
one (3 rounds) worse beyond it is refused.

Only this module runs the regression spec end to end (the other slow tests keep to
flights.yaml), on 45 days, so the second spec does not double the cost of the slow tests."""

import json

import numpy as np
import pytest

from mlgate import tracking
from mlgate.config.spec import load_spec
from mlgate.lake.store import Lake
from mlgate.monitor.day import monitor_day
from mlgate.promote.apply import apply_decision
from mlgate.promote.decide import ASK, PROMOTE, REFUSE
from mlgate.promote.evaluate import evaluate_candidate
from mlgate.score.batch import score_day
from mlgate.train.candidate import train_candidate
from tests.helpers import champion, ingest_real_days, run_info
from tests.promote.test_promotion import set_history

pytestmark = pytest.mark.slow
FIRST_DS = "2013-02-08"  # recent days 02-01..02-07; window January without golden 01-16
DS = "2013-02-15"  # recent days 02-08..02-14; window 01-01..02-07 (fresher by a week)


@pytest.fixture(scope="module")
def world(module_settings):
    """Real days 01-01..02-14 ingested for flights_delay, the first champion promoted by
    the first-model rule (trained for 02-08), and three candidates for 02-15: `fresh` (the
    spec's model, a week fresher), `short` (stopped after 20 boosting rounds) and `stunted`
    (3 rounds). (An ablation by drop_features would fail the features sanity check.)"""
    spec, settings = load_spec("flights_delay"), module_settings
    lake = Lake.from_uri(settings.lake_uri)
    ingest_real_days(lake, spec, "2013-01-01", "2013-02-14")

    def train(name, ds, overrides=None):
        return train_candidate(lake, settings, spec, ds, run_info(name), "test", overrides)

    first = train("first", FIRST_DS)
    decision = evaluate_candidate(lake, settings, spec, first["version"], first["window"])
    moved = apply_decision(lake, settings, spec, decision, run_info("first"))
    return {
        "lake": lake,
        "settings": settings,
        "spec": spec,
        "client": tracking.client(settings),
        "first": first,
        "first_decision": (decision, moved),
        "fresh": train("fresh", DS),
        "short": train("short", DS, {"num_boost_round": 20}),
        "stunted": train("stunted", DS, {"num_boost_round": 3}),
    }


def no_nan(text: str) -> dict:
    """Parse JSON, failing on NaN or infinity."""

    def refuse(constant):
        raise ValueError(f"{constant} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_first_champion_a_scored_day_and_a_monitor_report(world):
    lake, settings, spec, client = (world[k] for k in ("lake", "settings", "spec", "client"))
    decision, moved = world["first_decision"]
    print(
        "FIRST-MODEL " + json.dumps({"sentence": decision.sentence, **decision.metrics["baseline"]})
    )
    assert moved and decision.first_model, decision.sentence
    assert champion(settings, spec.model) == world["first"]["version"]
    assert "predicting the mean" in decision.reasons[0] and decision.outcome == PROMOTE
    metrics = client.get_run(world["first"]["run_id"]).data.metrics
    assert {"train_rmse", "valid_rmse", "train_label_sd", "eval_candidate_rmse"} <= set(metrics)
    assert "train_logloss" not in metrics and "train_positive_rate" not in metrics
    version = client.get_model_version(spec.model, world["first"]["version"])
    assert float(version.tags[tracking.EVAL_RMSE_TAG]) == pytest.approx(
        decision.metrics["candidate"]["rmse"], abs=1e-5
    )

    set_history(world, world["first"])
    client.set_registered_model_alias(spec.model, tracking.CHALLENGER, world["fresh"]["version"])
    for ds in ("2013-02-12", "2013-02-13", "2013-02-14"):
        score_day(lake, settings, spec, ds, run_info("score"))
    predictions = lake.read_frame("predictions", spec.model, "2013-02-14", "predictions.parquet")
    scores = predictions["score"]
    assert np.isfinite(scores).all() and scores.max() > 1  # minutes, not probabilities
    assert lake.exists("predictions", f"{spec.model}-shadow", "2013-02-14")

    report = monitor_day(lake, settings, spec, "2013-02-14", run_info("monitor"))
    live = report["live"]
    assert live["mature_days"][-1] == "2013-02-12" and "auc" not in live
    assert live["rmse_low"] < live["rmse"] < live["rmse_high"] and 0 < live["mae"] < live["rmse"]
    # cancelled and diverted flights have no delay: dropped, and the coverage says so
    assert live["labelled_rows"] < live["predicted_rows"] and 0.9 < live["coverage"] < 1
    assert report["shadow"]["challenger"] == world["fresh"]["version"]
    assert report["shadow"]["rmse_change_low"] < report["shadow"]["rmse_change_high"]
    assert report["drift"]["predictions"]["method"] == "ks"  # minutes drift like probabilities
    assert report["retrain"] is False  # trained a week ago: inside the cool-down
    stored = no_nan(
        lake.read_bytes("reports", f"{spec.model}-monitor", "2013-02-14", "report.json")
    )
    assert stored["live"]["rmse"] == live["rmse"]
    monitor_run = tracking.client(settings).get_run(report["mlflow_run_id"])
    assert {"live_rmse", "live_mae"} <= set(monitor_run.data.metrics)


def judge(world, name):
    """The candidate `name` judged against the first champion; prints its decision-table row."""
    set_history(world, world["first"])
    cand = world[name]
    lake, settings, spec = world["lake"], world["settings"], world["spec"]
    decision = evaluate_candidate(lake, settings, spec, cand["version"], cand["window"])
    m = decision.metrics
    row = {
        "candidate": f"v{cand['version']} {name}",
        "champion": f"v{decision.champion}",
        "rmse": (round(m["candidate"]["rmse"], 3), round(m["champion"]["rmse"], 3)),
        "rmse_diff": [round(m["rmse_diff"][k], 3) for k in ("diff", "low", "high")],
        "mae_diff": [round(m["mae_diff"][k], 3) for k in ("diff", "low", "high")],
        "outcome": decision.outcome,
        "sentence": decision.sentence,
        "reasons": decision.reasons,
    }
    print("DECISION-TABLE " + json.dumps(row))
    no_nan(json.dumps(decision.to_dict()))
    return decision


def test_a_fresher_candidate_inside_the_margin_is_promoted(world, tmp_path):
    decision = judge(world, "fresh")
    assert decision.outcome == PROMOTE, decision.reasons
    assert "not worse by more than" in decision.sentence and "fresher data" in decision.sentence
    card = world["client"].download_artifacts(
        world["fresh"]["run_id"], "promotion_card.html", str(tmp_path)
    )
    page = open(card).read()
    assert "RMSE" in page and "rmse_diff" not in page and "ROC" not in page


def test_a_candidate_whose_interval_straddles_the_margin_asks_a_person(world):
    decision = judge(world, "short")
    assert decision.outcome == ASK, decision.reasons
    assert "straddles the non-inferiority margin" in decision.sentence


def test_a_stunted_candidate_worse_beyond_the_margin_is_refused(world):
    decision = judge(world, "stunted")
    assert decision.outcome == REFUSE, decision.reasons
    assert "worse by more than the margin" in decision.sentence
    assert decision.metrics["rmse_diff"]["low"] > 0.01 * decision.metrics["champion"]["rmse"]


def test_hindsight_judges_a_regression_decision_by_its_rmse_change(world):
    """A decision of 8 Feb between `fresh` and the first champion, judged on 8..14 Feb (held
    out of both windows): the change is RMSE(candidate) - RMSE(champion) on those rows, its
    interval by the delta method around it, and the verdict says which was better."""
    import copy

    from mlgate.config.spec import Spec
    from mlgate.ingest.landing import labelled_frame
    from mlgate.model.serving import load_model, predict_served
    from mlgate.monitor import hindsight
    from mlgate.promote import stats

    lake, settings, spec = world["lake"], world["settings"], world["spec"]
    raw = copy.deepcopy(spec.raw)
    raw.setdefault("monitoring", {})["hindsight"] = {"days": 7, "min_rows": 500}
    seven = Spec(name=spec.name, raw=raw, path=spec.path)
    decision = hindsight.Judged(
        ds=FIRST_DS,
        decision="promote",
        candidate=world["fresh"]["version"],
        champion=world["first"]["version"],
        promoted=True,
        sentence="",
    )
    judged = hindsight.judge(lake, settings, seven, decision)
    frame = labelled_frame(lake, seven, hindsight.hindsight_days(seven, FIRST_DS))
    rmse = {
        role: stats.rmse(
            frame[spec.section("label")["name"]],
            predict_served(load_model(settings.tracking_uri, spec.model, version), frame),
        )
        for role, version in (("fresh", decision.candidate), ("first", decision.champion))
    }
    change = judged.change
    assert change["metric"] == "rmse" and judged.rows == len(frame) > 500
    assert change["diff"] == pytest.approx(rmse["fresh"] - rmse["first"], rel=1e-9)
    assert change["low"] < change["diff"] < change["high"]
    assert judged.verdict in (hindsight.RIGHT, hindsight.WRONG)
    assert judged.why.startswith(f"rmse change of v{decision.candidate} against v")
