"""The promotion gate with real XGBoost models on real 2013 flights (January to early
March): a label outage is refused, a model no better than the champion is not promoted,
a clearly better one is, a slice that got worse blocks promotion, two concurrent
promotions end with one champion, the card says why, and `mlgate evaluate` agrees."""

import copy
import json
import shutil
import threading
from html import escape

import pytest
import yaml
from mlflow.exceptions import MlflowException

from mlgate import tracking
from mlgate.demo.simulator import WEATHER_COLUMNS
from mlgate.ingest.landing import labelled_frame
from mlgate.lake import names
from mlgate.lake.names import LABELS_FILE
from mlgate.lake.store import Lake
from mlgate.promote import golden, registry
from mlgate.promote.apply import apply_decision
from mlgate.promote.decide import ASK, PROMOTE, REFUSE
from mlgate.promote.evaluate import evaluate_candidate
from mlgate.train.candidate import fit_and_register, train_candidate
from mlgate.train.window import plan_window
from tests.helpers import champion, ingest_real_days, mlgate, run_info, spec_with

pytestmark = pytest.mark.slow
DS = "2013-03-10"  # recent days 03-03..03-09, training window 01-06..03-02 (golden 01-16 held out)


@pytest.fixture(scope="module")
def world(module_settings, spec):
    """Real days 01-01..03-09 ingested into a lake and an MLflow store of the module's own,
    and three models of the same window registered once for every test: `weatherless`
    (without the weather features), `weather` (with them) and `rival` (with them, another
    seed). Each test starts from the history its set-up gives it (`set_history`)."""
    settings, lake = module_settings, Lake.from_uri(module_settings.lake_uri)
    ingest_real_days(lake, spec, "2013-01-01", "2013-03-09")

    def train(name, overrides=None):
        return train_candidate(lake, settings, spec, DS, run_info(name), "test", overrides)

    return {
        "lake": lake,
        "settings": settings,
        "spec": spec,
        "client": tracking.client(settings),
        "weatherless": train("weatherless", {"drop_features": WEATHER_COLUMNS}),
        "weather": train("weather"),
        "rival": train("rival", {"params": {"seed": 99}}),
    }


def set_history(world, *models):
    """The registry as promotions of `models`, in this order, leave it: the last one is
    the champion, the one before it the previous champion."""
    client, name = world["client"], world["spec"].model
    versions = [str(m["version"]) for m in models]
    client.set_registered_model_tag(name, tracking.CHAMPION_HISTORY_TAG, json.dumps(versions))
    client.set_registered_model_alias(name, tracking.CHAMPION, versions[-1])
    if len(versions) > 1:
        client.set_registered_model_alias(name, tracking.PREVIOUS, versions[-2])
    else:
        try:
            client.delete_registered_model_alias(name, tracking.PREVIOUS)
        except MlflowException:
            pass


@pytest.fixture(autouse=True)
def weatherless_champion(world):
    """Every test starts with the weatherless model promoted, and nothing else yet."""
    set_history(world, world["weatherless"])


def champion_of(world):
    return champion(world["settings"], world["spec"].model)


def judge(world, candidate, spec=None):
    return evaluate_candidate(
        world["lake"],
        world["settings"],
        spec or world["spec"],
        candidate["version"],
        candidate["window"],
    )


def test_the_evaluation_set_is_versioned_and_never_trained_on(world):
    lake, spec = world["lake"], world["spec"]
    window = plan_window(lake, spec, DS)
    evaluation_set = golden.build_evaluation_set(lake, spec, window.golden_days, window.recent_days)
    assert set(evaluation_set.frame["ds"]) == {"2013-01-16", *window.recent_days}
    assert [d["labels_from"] for d in evaluation_set.manifest["days"]][
        0
    ] == "landing/flight_outcomes/ds=2013-01-16/outcomes.csv"
    golden.check_disjoint(lake, spec, evaluation_set, window.train_days, "candidate")  # passes
    with pytest.raises(
        golden.EvaluationError,
        match=r"evaluation rows .* are in the candidate's training window \(days 2013-03-03\)",
    ):
        golden.check_disjoint(
            lake, spec, evaluation_set, [*window.train_days, "2013-03-03"], "candidate"
        )
    # a golden day re-frozen with other labels changes the version, and an evaluation in
    # flight refuses
    frame = lake.read_frame("golden", spec.model, "2013-01-16", names.GOLDEN_FILE)
    lake.commit_frame(
        "golden",
        spec.model,
        "2013-01-16",
        names.GOLDEN_FILE,
        frame.assign(late=1 - frame["late"]),
        run_info("tamper"),
    )
    try:
        with pytest.raises(
            golden.EvaluationError,
            match="the evaluation set changed while the models were scored .* 2013-01-16",
        ):
            golden.verify_unchanged(
                lake, spec, evaluation_set, window.golden_days, window.recent_days
            )
    finally:
        lake.commit_frame(
            "golden", spec.model, "2013-01-16", names.GOLDEN_FILE, frame, run_info("ingest")
        )
    golden.verify_unchanged(lake, spec, evaluation_set, window.golden_days, window.recent_days)


def test_a_label_outage_model_is_refused_with_the_reason(world, tmp_path):
    """Outcomes of every training day delivered as 'on time' (the label outage): the model
    learns that nothing is ever late."""
    spec = world["spec"]
    shutil.copytree(world["settings"].home / "lake", tmp_path / "lake")
    outage = Lake.from_uri(f"file://{tmp_path / 'lake'}")
    window = plan_window(outage, spec, DS)
    for ds in window.train_days:
        labels = outage.read_frame("outcomes", spec.model, ds, LABELS_FILE)
        outage.commit_frame(
            "outcomes",
            spec.model,
            ds,
            LABELS_FILE,
            labels.assign(late=0),
            outage.read_lineage("outcomes", spec.model, ds),
        )
    candidate = train_candidate(outage, world["settings"], spec, DS, run_info("outage"), "test")
    decision = evaluate_candidate(
        outage, world["settings"], spec, candidate["version"], candidate["window"]
    )
    print(decision.sentence, decision.reasons)
    assert decision.outcome == REFUSE and champion_of(world) == world["weatherless"]["version"]
    failed = {c["check"]: c for c in decision.checks if not c["passed"]}
    assert set(failed) >= {"training_labels", "calibration"}
    assert decision.sentence.startswith(
        f"Refuse v{candidate['version']} against champion v{world['weatherless']['version']}: "
        "sanity check training_labels failed: observed 0.0"
    )
    assert (
        failed["calibration"]["observed"]["mean_prediction"] * 3
        < failed["calibration"]["observed"]["observed_rate"]
    )


def test_a_model_no_better_than_the_champion_is_not_promoted_under_the_better_rule(world):
    better_rule = spec_with(world["spec"], rule="better", min_auc_gain=0.0)
    lake, spec = world["lake"], world["spec"]
    window = plan_window(lake, spec, DS)
    frame = labelled_frame(lake, spec, window.train_days)
    # trained again on purpose (train_candidate would reuse the champion: same data, settings)
    twin = fit_and_register(
        lake,
        world["settings"],
        spec,
        window,
        frame,
        run_info("twin"),
        "test",
        {"drop_features": WEATHER_COLUMNS},
    )
    decision = judge(world, twin, better_rule)
    print(decision.sentence, decision.reasons)
    assert decision.outcome == REFUSE and any(
        "no better than the champion" in r for r in decision.reasons
    )
    assert not next(c for c in decision.checks if c["check"] == "features")[
        "passed"
    ]  # and it lacks the spec's weather
    assert (
        decision.metrics["auc_diff"]["diff"] == 0
        and decision.metrics["churn"]["mean_abs_change"] == 0
    )
    assert not apply_decision(
        world["lake"], world["settings"], better_rule, decision, run_info("twin")
    )
    assert champion_of(world) == world["weatherless"]["version"]


def test_training_the_same_window_again_reuses_its_version(world):
    """A resumed demo, a cleared Airflow run or a second request on the same data: the same
    data and settings give the version already registered, not a duplicate run and version."""
    versions_before = world["client"].search_model_versions(f"name='{world['spec'].model}'")
    again = train_candidate(
        world["lake"],
        world["settings"],
        world["spec"],
        DS,
        run_info("another-airflow-run"),
        "test",
        {"params": {"seed": 99}},
    )
    assert again == {**again, "version": world["rival"]["version"], "reused": True}
    assert again["run_id"] == world["rival"]["run_id"]
    after = world["client"].search_model_versions(f"name='{world['spec'].model}'")
    assert len(after) == len(versions_before)


def test_a_worse_slice_blocks_promotion_even_when_the_average_improved(world):
    """Trained with the weather, but with the labels of one carrier inverted: better on
    average, worse for that carrier."""
    lake, settings, spec = world["lake"], world["settings"], world["spec"]
    window = plan_window(lake, spec, DS)
    frame = labelled_frame(lake, spec, window.train_days)
    flipped = frame["carrier"] == "MQ"
    frame.loc[flipped, "late"] = 1 - frame.loc[flipped, "late"]
    candidate = fit_and_register(lake, settings, spec, window, frame, run_info("slice"), "test")
    decision = judge(world, candidate)
    print(decision.sentence, decision.reasons)
    assert decision.metrics["auc_diff"]["diff"] > 0  # the average improved
    assert decision.outcome == REFUSE and any(
        r.startswith("slice carrier=MQ got worse") for r in decision.reasons
    )
    regressed = [s for s in decision.slices if s.get("regressed")]
    assert [(s["slice"], s["value"]) for s in regressed] == [("carrier", "MQ")]


def test_a_clearly_better_model_is_promoted_and_its_card_says_why(world):
    lake, settings, spec, client = world["lake"], world["settings"], world["spec"], world["client"]
    better_rule = spec_with(spec, rule="better", min_auc_gain=0.0)
    candidate = world["weather"]
    decision = judge(world, candidate, better_rule)
    print(decision.sentence, decision.reasons)
    assert decision.outcome == PROMOTE, decision.reasons
    assert decision.metrics["auc_diff"]["low"] > 0
    assert {c["check"] for c in decision.checks} >= {
        "loads",
        "answers_one_row",
        "no_nan",
        "in_range",
        "calibration",
        "latency",
        "size",
        "features",
        "leakage",
        "training_labels",
    }
    card = json.loads(
        open(client.download_artifacts(candidate["run_id"], "promotion_card.json")).read()
    )
    html = open(client.download_artifacts(candidate["run_id"], "promotion_card.html")).read()
    assert (
        card["sentence"] == decision.sentence
        and card["lineage"]["evaluation_set"]["version"]
        == decision.lineage["evaluation_set"]["version"]
    )
    assert escape(decision.sentence) in html and html.count("<svg") == 2 and "carrier=MQ" in html
    assert apply_decision(lake, settings, better_rule, decision, run_info("weather"))
    mv = client.get_model_version(spec.model, candidate["version"])
    assert champion_of(world) == candidate["version"]
    assert (
        registry.alias_version_number(client, spec.model, tracking.PREVIOUS)
        == world["weatherless"]["version"]
    )
    assert (
        mv.tags["mlgate.promoted_by"] == "test/weather"
        and mv.tags["mlgate.promoted_because"] == decision.sentence
    )
    assert mv.tags["mlgate.golden_version"] == decision.lineage["evaluation_set"]["version"]


def test_two_concurrent_promotions_end_with_exactly_one_champion(world):
    lake, settings, spec = world["lake"], world["settings"], world["spec"]
    before = champion_of(world)
    rivals = [world["weather"], world["rival"]]
    decisions = [judge(world, r) for r in rivals]
    print([d.sentence for d in decisions])
    for d in decisions:  # both judged against the same champion; force both through to race
        d.outcome, d.champion = PROMOTE, before
    barrier, results = threading.Barrier(2), {}

    def promote(i):
        barrier.wait()
        try:
            results[i] = apply_decision(lake, settings, spec, decisions[i], run_info(f"rival-{i}"))
        except registry.PromotionError as exc:
            results[i] = exc

    threads = [threading.Thread(target=promote, args=(i,)) for i in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    winners = [i for i, r in results.items() if r is True]
    losers = [r for r in results.values() if isinstance(r, registry.PromotionError)]
    print(results)
    assert len(winners) == 1 and len(losers) == 1
    winner = rivals[winners[0]]["version"]
    assert champion_of(world) == winner
    assert f"the champion moved from v{before} to v{winner}" in str(losers[0])
    assert "Re-run the evaluation against the new champion" in str(losers[0])
    assert registry.champion_history(world["client"], spec.model)[-2:] == [before, winner]


def test_mlgate_evaluate_exit_codes(world, tmp_path):
    """0 promote, 1 refuse, 3 ask a person; the JSON is the decision; it never promotes,
    nor logs. The command runs in this module's environment (module_settings): its lake
    and MLflow store."""
    spec, client = world["spec"], world["client"]
    weatherless, weather = world["weatherless"]["version"], world["weather"]["version"]
    set_history(world, world["weatherless"], world["weather"], world["rival"])
    tags = {v: client.get_model_version(spec.model, v).tags for v in (weatherless, weather)}

    def evaluate(version, spec_path):
        done = mlgate("evaluate", "--spec", str(spec_path), "--candidate", version, "--json")
        return done.returncode, (
            json.loads(done.stdout) if done.stdout.startswith("{") else done.stderr
        )

    # the weatherless model against the rival champion, which has the weather
    code, out = evaluate(weatherless, spec.path)
    assert code == 1 and out["outcome"] == REFUSE
    assert out["champion"] == world["rival"]["version"], out
    low, high = (evaluate(weather, spec.path)[1]["metrics"]["auc_diff"][k] for k in ("low", "high"))
    raw = copy.deepcopy(spec.raw)  # a required gain inside its interval: the gray zone
    raw["evaluation"]["promotion"].update(
        rule="better", min_auc_gain=round((low + high) / 2, 6), max_logloss_increase=0.05
    )
    (tmp_path / "gray.yaml").write_text(yaml.safe_dump(raw))
    code, out = evaluate(weather, tmp_path / "gray.yaml")
    assert code == 3 and out["outcome"] == ASK, out
    assert "straddles the required gain" in out["sentence"], out
    raw["evaluation"]["promotion"].update(min_auc_gain=round(low - 0.01, 6))
    (tmp_path / "easy.yaml").write_text(yaml.safe_dump(raw))
    code, out = evaluate(weather, tmp_path / "easy.yaml")
    assert code == 0 and out["outcome"] == PROMOTE, out
    code, out = evaluate("999", spec.path)
    assert code == 2 and "no registered version 999" in out
    assert champion_of(world) == world["rival"]["version"]  # judging never promotes
    assert {v: client.get_model_version(spec.model, v).tags for v in tags} == tags  # nor logs


def test_rollback_refuses_a_model_that_no_longer_fits_the_feature_schema(world):
    """History: weatherless -> weather -> rival. One step back works; the next would
    restore the weatherless model, which lacks the spec's features: refused, nothing moves."""
    from mlgate.promote.rollback import roll_back

    lake, settings, spec = world["lake"], world["settings"], world["spec"]
    set_history(world, world["weatherless"], world["weather"], world["rival"])
    history = [world[m]["version"] for m in ("weatherless", "weather", "rival")]
    assert roll_back(lake, settings, spec, "test one") == {"from": history[2], "to": history[1]}
    with pytest.raises(
        registry.PromotionError,
        match=f"v{history[0]} reads features .* no longer fits the current feature schema",
    ):
        roll_back(lake, settings, spec, "test two")
    assert champion_of(world) == history[1]
    assert registry.champion_history(world["client"], spec.model) == history[:2]
