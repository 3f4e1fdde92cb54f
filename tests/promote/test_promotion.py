"""The promotion gate with real XGBoost models on real 2013 flights (January to early
March): a label outage is refused, a model no better than the champion is not promoted,
a clearly better one is, a slice that got worse blocks promotion, two concurrent
promotions end with one champion, the card says why, and `mlgate evaluate` agrees."""

import copy
import json
import re
import shutil
import threading
from contextlib import contextmanager
from html import escape
from pathlib import Path

import pytest
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlgate import tracking
from mlgate.config.spec import Spec
from mlgate.demo.simulator import WEATHER_COLUMNS
from mlgate.lake import names
from mlgate.lake.names import LABELS_FILE
from mlgate.lake.store import Lake
from mlgate.promote import golden, registry
from mlgate.promote.apply import apply_decision
from mlgate.promote.decide import ASK, PROMOTE, REFUSE, Decision
from mlgate.promote.evaluate import evaluate_candidate
from mlgate.train.candidate import fit_and_register, train_candidate
from mlgate.train.window import WindowRows, plan_window
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
    if tracking.PROMOTION_INTENT_TAG in client.get_registered_model(name).tags:
        client.delete_registered_model_tag(name, tracking.PROMOTION_INTENT_TAG)


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


def descriptions(client, model: str, version: str) -> tuple[str, str]:
    """The description (Markdown) of a model version and of its run, as the MLflow UI shows."""
    mv = client.get_model_version(model, str(version))
    return mv.description, client.get_run(mv.run_id).data.tags["mlflow.note.content"]


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
    # trained again on purpose (train_candidate would reuse the champion: same data, settings)
    twin = fit_and_register(
        lake,
        world["settings"],
        spec,
        window,
        WindowRows(lake, spec, window.train_days),
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

    class MQLabelsInverted(WindowRows):
        def day(self, ds):
            rows = super().day(ds)
            flipped = rows["carrier"] == "MQ"
            rows.loc[flipped, "late"] = 1 - rows.loc[flipped, "late"]
            return rows

    rows = MQLabelsInverted(lake, spec, window.train_days)
    candidate = fit_and_register(lake, settings, spec, window, rows, run_info("slice"), "test")
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
    # the decision is the description of the run and the version, with a link to the Airflow
    # run that trained it (judged outside Airflow: the run tag's)
    trained = f"({tracking.airflow_run_url(settings, 'test', 'weather')})"
    described = descriptions(client, spec.model, candidate["version"])
    for text in described:
        assert text.startswith(f"**{decision.sentence}**") and trained in text
        assert f"- {decision.reasons[-1]}" in text and "Promoted" not in text
    assert apply_decision(lake, settings, better_rule, decision, run_info("promote-weather"))
    promoted_by = f"({tracking.airflow_run_url(settings, 'test', 'promote-weather')})"
    for text in descriptions(client, spec.model, candidate["version"]):
        assert text.startswith(f"**{decision.sentence}**\n\nPromoted: v{candidate['version']} ")
        assert promoted_by in text
    mv = client.get_model_version(spec.model, candidate["version"])
    assert champion_of(world) == candidate["version"]
    assert (
        registry.alias_version_number(client, spec.model, tracking.PREVIOUS)
        == world["weatherless"]["version"]
    )
    assert (
        mv.tags["mlgate.promoted_by"] == "test/promote-weather"
        and mv.tags["mlgate.promoted_because"] == decision.sentence
    )
    assert mv.tags["mlgate.golden_version"] == decision.lineage["evaluation_set"]["version"]


BEFORE_BATCHING = Path(__file__).parents[1] / "data" / "promote" / "decisions_before_batching.json"
METHOD = re.compile(r"; 95% interval by [^)]*")


def same(got, want, where="") -> None:
    """`got` equals `want` in every key, item and number (floats to 1e-9)."""
    if isinstance(want, dict):
        assert set(got) >= set(want), (where, sorted(set(want) - set(got)))
        for key in want:
            same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), where
    else:
        assert got == want, where


def test_the_batched_evaluation_decides_as_the_whole_frame_did(world):
    """Read and scored day by day, the evaluation gives the decisions, metrics, checks and
    slices the whole-frame evaluation gave on this world (recorded before the batching, in
    tests/data/promote/decisions_before_batching.json), and says the paired bootstrap made
    the log-loss interval; with `bootstrap_max_rows` below the set's rows, the CLT makes it,
    the decision and the card say so, and the decision stays the same."""
    before = json.loads(BEFORE_BATCHING.read_text())
    pairs = {
        "weather_vs_weatherless": ("weather", "weatherless"),
        "rival_vs_weather": ("rival", "weather"),
    }
    for key, (candidate, against) in pairs.items():
        set_history(world, world[against])
        decision = judge(world, world[candidate]).to_dict()
        want = before[key]
        print(key, decision["sentence"])
        assert decision["outcome"] == want["outcome"]
        assert [METHOD.sub("", r) for r in decision["reasons"]] == want["reasons"]
        same(decision["metrics"], want["metrics"], "metrics")
        same(decision["slices"], want["slices"], "slices")
        same(decision["checks"], want["checks"], "checks")
        lineage = decision["lineage"]
        assert lineage["evaluation_set"]["rows"] == want["rows"] == 7452
        assert lineage["rows_sha256"] == want["rows_sha256"]
        assert decision["metrics"]["logloss_diff"]["interval"] == (
            "95% interval by the paired bootstrap, 1000 rounds over 7,452 rows"
        )
    raw = copy.deepcopy(world["spec"].raw)
    raw["evaluation"]["bootstrap_max_rows"] = 1000
    clt_spec = Spec(name=world["spec"].name, raw=raw, path=world["spec"].path)
    set_history(world, world["weatherless"])
    decision = judge(world, world["weather"], clt_spec)
    loss, want = decision.metrics["logloss_diff"], before["weather_vs_weatherless"]
    assert decision.outcome == want["outcome"] and loss["method"] == "clt"
    assert any(
        "log loss change" in r and "by the CLT over 7,452 paired rows" in r
        for r in decision.reasons
    )
    boot = want["metrics"]["logloss_diff"]
    half = (boot["high"] - boot["low"]) / 2
    assert loss["diff"] == pytest.approx(boot["diff"], rel=1e-9)
    assert (
        abs(loss["low"] - boot["low"]) < 0.12 * half
        and abs(loss["high"] - boot["high"]) < 0.12 * half
    )
    page = open(
        world["client"].download_artifacts(world["weather"]["run_id"], "promotion_card.html")
    ).read()
    assert "log loss: 95% interval by the CLT over 7,452 paired rows" in page


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


# ---- a promotion killed between its registry writes ------------------------------------

WRITES = (
    "set_registered_model_alias",
    "delete_registered_model_alias",
    "set_registered_model_tag",
    "delete_registered_model_tag",
    "set_model_version_tag",
    "delete_model_version_tag",
)
# the three writes that move the champion: (MlflowClient method, alias or tag it writes)
CHAMPION_WRITES = {
    "champion": ("set_registered_model_alias", tracking.CHAMPION),
    "previous_champion": ("set_registered_model_alias", tracking.PREVIOUS),
    "history": ("set_registered_model_tag", tracking.CHAMPION_HISTORY_TAG),
}


class Killed(BaseException):
    """The process died at this registry write (a BaseException: nothing catches it)."""


@contextmanager
def killed_at(kill):
    """The registry (a real MLflow store) is written as usual until the write `kill` (the
    N-th write when an int, else the first write of (method, alias or tag)), which raises
    Killed instead of writing; yields the list of the writes made or attempted."""
    writes = []
    with pytest.MonkeyPatch.context() as patch:
        for name in WRITES:

            def write(self, *args, _real=getattr(MlflowClient, name), _name=name, **kwargs):
                writes.append((_name, args[1] if len(args) > 1 else None))
                if kill in (len(writes), writes[-1]):
                    raise Killed(f"killed at write {len(writes)}: {writes[-1]}")
                return _real(self, *args, **kwargs)

            patch.setattr(MlflowClient, name, write)
        yield writes


def promotion(world, candidate="weather", over="weatherless"):
    """An evaluation's decision to promote `candidate` over the champion `over`."""
    return Decision(
        PROMOTE, False, world[candidate]["version"], over and world[over]["version"], ["forced"]
    )


def promote_killed_at(world, kill, candidate="weather", over="weatherless"):
    """Promote `candidate` over `over` (the weather model over the weatherless one); the
    process dies at `kill`."""
    with killed_at(kill) as writes, pytest.raises(Killed):
        apply_decision(
            world["lake"],
            world["settings"],
            world["spec"],
            promotion(world, candidate, over),
            run_info("killed"),
        )
    return writes


def assert_weather_promoted(world):
    client, model = world["client"], world["spec"].model
    weatherless, weather = world["weatherless"]["version"], world["weather"]["version"]
    assert champion_of(world) == weather
    assert registry.alias_version_number(client, model, tracking.PREVIOUS) == weatherless
    assert registry.champion_history(client, model) == [weatherless, weather]
    assert registry.promotion_intent(client, model) is None
    tags = client.get_model_version(model, weather).tags
    assert tags[tracking.PROMOTED_BY_TAG] == "test/killed"


def interrupted(world, candidate="weather", over="weatherless"):
    """How a log says the promotion of `candidate` over `over` was finished."""
    return (
        f"finished the interrupted promote of {world['spec'].model} from "
        f"v{world[over]['version']} to v{world[candidate]['version']} (test/killed"
    )


@pytest.mark.parametrize("write", CHAMPION_WRITES)
def test_a_promotion_killed_at_a_champion_write_is_finished_by_its_retry(world, write, capsys):
    lake, settings, spec, client = world["lake"], world["settings"], world["spec"], world["client"]
    promote_killed_at(world, CHAMPION_WRITES[write])
    intent = registry.promotion_intent(client, spec.model)  # what a crash leaves behind
    assert (intent["action"], intent["from"], intent["to"], intent["by"]) == (
        "promote",
        world["weatherless"]["version"],
        world["weather"]["version"],
        "test/killed",
    )
    capsys.readouterr()
    assert apply_decision(lake, settings, spec, promotion(world), run_info("killed"))
    assert interrupted(world) in capsys.readouterr().out
    assert_weather_promoted(world)
    assert registry.rollback(client, spec.model, "after the retry") == {
        "from": world["weather"]["version"],
        "to": world["weatherless"]["version"],
    }
    assert registry.champion_history(client, spec.model) == [world["weatherless"]["version"]]


def test_a_promotion_killed_at_any_write_is_finished_by_its_retry(world):
    """Every write of the promotion, from the intent to its removal."""
    with killed_at(None) as writes:
        apply_decision(
            world["lake"], world["settings"], world["spec"], promotion(world), run_info("killed")
        )
    assert len(writes) >= 5, writes
    for n in range(1, len(writes) + 1):
        set_history(world, world["weatherless"])
        assert promote_killed_at(world, n)[-1] == writes[n - 1]
        assert apply_decision(
            world["lake"], world["settings"], world["spec"], promotion(world), run_info("killed")
        ), writes[n - 1]
        assert_weather_promoted(world)


@pytest.mark.parametrize("write", CHAMPION_WRITES)
def test_a_promotion_killed_at_a_champion_write_is_finished_by_the_next_one(world, write):
    """The next candidate (the rival) was judged against the champion the registry showed
    after the crash: the interrupted promotion is finished first, then the compare-and-set
    says whether the rival's decision still holds."""
    lake, settings, spec, client = world["lake"], world["settings"], world["spec"], world["client"]
    promote_killed_at(world, CHAMPION_WRITES[write])
    seen = champion_of(world)
    judged = Decision(PROMOTE, False, world["rival"]["version"], seen, ["forced"])
    if seen == world["weatherless"]["version"]:  # killed before the champion alias moved
        with pytest.raises(registry.PromotionError) as refused:
            apply_decision(lake, settings, spec, judged, run_info("next"))
        assert f"the champion moved from v{seen} to v{world['weather']['version']}" in str(
            refused.value
        ) and interrupted(world) in str(refused.value)
        assert_weather_promoted(world)
        return
    assert apply_decision(lake, settings, spec, judged, run_info("next"))
    history = [world[m]["version"] for m in ("weatherless", "weather", "rival")]
    assert registry.champion_history(client, spec.model) == history
    assert registry.alias_version_number(client, spec.model, tracking.PREVIOUS) == history[1]
    assert registry.rollback(client, spec.model, "after the next") == {
        "from": history[2],
        "to": history[1],
    }
    assert champion_of(world) == history[1]


@pytest.mark.parametrize("write", CHAMPION_WRITES)
def test_a_promotion_killed_at_a_champion_write_is_finished_then_rolled_back(world, write):
    """The operator rolls back (the real rollback: the target is checked in a fresh process)
    after the crash of the rival's promotion over the weather model: the promotion is
    finished, then undone by one step back, to the model that was champion before it."""
    from mlgate.promote.rollback import roll_back

    lake, settings, spec, client = world["lake"], world["settings"], world["spec"], world["client"]
    set_history(world, world["weatherless"], world["weather"])
    promote_killed_at(world, CHAMPION_WRITES[write], "rival", "weather")
    moved = roll_back(lake, settings, spec, "crashed promotion")
    weatherless, weather = world["weatherless"]["version"], world["weather"]["version"]
    assert (moved["from"], moved["to"]) == (world["rival"]["version"], weather)
    assert moved["finished"].startswith(interrupted(world, "rival", "weather"))
    assert champion_of(world) == weather
    assert registry.alias_version_number(client, spec.model, tracking.PREVIOUS) == weatherless
    assert registry.champion_history(client, spec.model) == [weatherless, weather]
    assert registry.promotion_intent(client, spec.model) is None
    tags = client.get_model_version(spec.model, world["rival"]["version"]).tags
    assert tags[tracking.ROLLED_BACK_TAG] == "crashed promotion"


@pytest.mark.parametrize("write", CHAMPION_WRITES)
def test_a_rollback_killed_at_a_champion_write_is_finished_by_its_retry_one_step_only(world, write):
    client, model = world["client"], world["spec"].model
    set_history(world, world["weatherless"], world["weather"], world["rival"])
    history = [world[m]["version"] for m in ("weatherless", "weather", "rival")]
    with killed_at(CHAMPION_WRITES[write]), pytest.raises(Killed):
        registry.rollback(client, model, "bad day", by="test/rollback")
    moved = registry.rollback(client, model, "bad day", by="test/rollback")  # the retry
    assert (moved["from"], moved["to"]) == (history[2], history[1]) and moved["finished"]
    assert registry.champion_history(client, model) == history[:2]
    assert champion_of(world) == history[1]
    assert registry.alias_version_number(client, model, tracking.PREVIOUS) == history[0]
    assert registry.rollback(client, model, "another", by="test/other") == {
        "from": history[1],
        "to": history[0],
    }


def test_an_interrupted_promotion_whose_candidate_is_gone_is_undone(world):
    """The candidate version was deleted after the crash: the next promotion cannot finish
    the interrupted one, so it puts the champion back and says so."""
    lake, settings, spec, client = world["lake"], world["settings"], world["spec"], world["client"]
    weather = client.get_model_version(spec.model, world["weather"]["version"])
    doomed = client.create_model_version(spec.model, weather.source, weather.run_id).version
    killed = Decision(PROMOTE, False, str(doomed), world["weatherless"]["version"], ["forced"])
    with killed_at(CHAMPION_WRITES["previous_champion"]), pytest.raises(Killed):
        apply_decision(lake, settings, spec, killed, run_info("killed"))
    assert champion_of(world) == str(doomed)  # served, while the history is stale
    client.delete_model_version(spec.model, str(doomed))
    note = registry.finish_interrupted(client, spec.model)
    assert note.startswith(f"undid the interrupted promote of {spec.model}") and (
        f"v{doomed} no longer exists" in note
    )
    assert champion_of(world) == world["weatherless"]["version"]
    assert registry.champion_history(client, spec.model) == [world["weatherless"]["version"]]
    assert registry.promotion_intent(client, spec.model) is None


def test_a_refused_or_rejected_candidate_leaves_no_challenger_and_is_not_shadow_scored(world):
    """What the train DAG's `release_challenger` does after a refusal, and after a person
    rejected a gray-zone candidate; the score DAG then scores with the champion alone."""
    from mlgate.lake.names import shadow_name
    from mlgate.promote.apply import release_challenger
    from mlgate.score.batch import score_day

    lake, settings, spec, client = world["lake"], world["settings"], world["spec"], world["client"]
    rival, challenger = world["rival"]["version"], tracking.CHALLENGER
    refused = Decision(REFUSE, False, rival, world["weatherless"]["version"], ["it is worse"])
    rejected = Decision(ASK, False, rival, world["weatherless"]["version"], ["gray"])
    answer = {"chosen_options": ["Reject"], "responded_by_user": {"name": "ana"}}
    for decision, answer, why in (
        (refused, None, f"champion unchanged: {refused.sentence}"),
        (rejected, answer, f"rejected by ana in the gray zone: {rejected.sentence}"),
    ):
        client.set_registered_model_alias(spec.model, challenger, rival)  # as training leaves it
        done = release_challenger(settings, spec, decision.to_dict(), "scheduled", "ask", answer)
        assert done == f"v{rival} is no longer the challenger nor scored in shadow: {why}"
        assert registry.alias_version(client, spec.model, challenger) is None
        assert client.get_model_version(spec.model, rival).tags[tracking.NOT_PROMOTED_TAG] == why
        for text in descriptions(client, spec.model, rival):
            assert text.startswith(f"**{decision.sentence}**\n\nNot promoted: {why}\n")
    lineage = score_day(lake, settings, spec, "2013-03-09", run_info("score"), rescore=True)
    assert "shadow_version" not in lineage and lineage["model_version"] == champion_of(world)
    assert not lake.exists("predictions", shadow_name(spec.model), "2013-03-09")
    approved = {"chosen_options": ["Approve"], "responded_by_user": {"name": "ana"}}
    client.set_registered_model_alias(spec.model, challenger, rival)  # approved: promote moves it
    assert release_challenger(settings, spec, rejected.to_dict(), "manual", "ask", approved) is None
    assert registry.alias_version_number(client, spec.model, challenger) == rival
    client.delete_registered_model_alias(spec.model, challenger)
