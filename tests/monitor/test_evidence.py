"""Live evidence decides, on real flights of January and February 2013: a gray zone settled
by live labels both ways, a promoted model that is worse live rolled back by the watch
(one alias move, one alert), and every decision judged in hindsight, through the library
and `mlgate decisions`.

One lake and registry, in the order a deployment lives it:
  v1  25 Jan  first champion
  v2  29 Jan  gray zone, unattended: stays challenger; live labels promote it (4 Feb)
  v3   5 Feb  overfit, gray zone: stays challenger; live labels refuse it (9 Feb)
  v4  10 Feb  the same overfit model let through by a lax gate; the watch rolls it back (18 Feb)
  v5  18 Feb  gray zone, unattended: stays challenger until v6 (19 Feb) takes the alias;
              the monitor releases it, superseded
"""

import copy
import json
import os

import pytest
import yaml

from mlgate import tracking
from mlgate.config.spec import Spec
from mlgate.lake.names import dates
from mlgate.lake.store import Lake
from mlgate.monitor import evidence, hindsight
from mlgate.promote import registry
from mlgate.promote.apply import apply_decision, release_challenger
from mlgate.promote.decide import ASK, PROMOTE
from mlgate.promote.evaluate import evaluate_candidate
from mlgate.score.batch import score_day
from mlgate.train.candidate import train_candidate
from tests.helpers import champion, ingest_real_days, mlgate, run_info

# deep trees, a high rate, many rounds: overconfident, clearly worse live (stumps are not:
# in the week of the 8 Feb blizzard their timid scores beat every real model's log loss)
SMALL = {"num_boost_round": 40}  # a quick real model, for the superseded gray zone
OVERFIT = {"num_boost_round": 300, "params": {"max_depth": 10, "eta": 0.5, "min_child_weight": 1}}


def gate(spec, auc_gain: float | None = None, lax: bool = False) -> Spec:
    """`spec` judging decisions on 7 days; `auc_gain` sets rule `better` with that margin
    (a margin inside the AUC change's interval puts a candidate in the gray zone); `lax`
    lets a worse model by (wide margins, no slice rule)."""
    raw = copy.deepcopy(spec.raw)
    raw.setdefault("monitoring", {})["hindsight"] = {"days": 7, "min_rows": 500}
    rules = raw["evaluation"]["promotion"]
    if auc_gain is not None:
        rules.update(rule="better", min_auc_gain=auc_gain, max_logloss_increase=1.0, min_auc=0.5)
        raw["evaluation"]["slices"]["max_auc_drop"] = 1.0
    if lax:
        rules.update(auc_margin=0.5, max_logloss_increase=1.0, min_auc=0.5)
        raw["evaluation"]["slices"]["max_auc_drop"] = 1.0
    return Spec(name=spec.name, raw=raw, path=spec.path)


def in_gray_zone(lake, settings, spec, cand) -> Spec:
    """The spec whose `better` margin sits in the middle of the candidate's AUC change
    interval against the champion: its decision is `ask`."""
    probe = evaluate_candidate(
        lake, settings, gate(spec), cand["version"], cand["window"], log=False
    )
    diff = probe.metrics["auc_diff"]
    return gate(spec, auc_gain=round((diff["low"] + diff["high"]) / 2, 6))


def trained(lake, settings, spec, name, ds, overrides=None) -> dict:
    return train_candidate(lake, settings, spec, ds, run_info(name), "test", overrides)


def score(lake, settings, spec, first, last):
    for ds in dates(first, last):
        score_day(lake, settings, spec, ds, run_info(f"score-{ds}"))


@pytest.fixture(scope="module")
def story(module_settings, spec, tmp_path_factory):
    """The story above. The margins that put v2 and v3 in the gray zone are the tests'
    (`in_gray_zone`); live evidence settles them with the spec's own (`gate(spec)`:
    log loss up by at most 0.002)."""
    lake, settings = Lake.from_uri(module_settings.lake_uri), module_settings
    alerts = tmp_path_factory.mktemp("alerts") / "alerts.jsonl"
    os.environ.update(
        MLGATE_ALERT_CALLBACK="tests.helpers:record_alert", MLGATE_TEST_ALERTS=str(alerts)
    )
    ingest_real_days(lake, spec, "2013-01-01", "2013-02-19")
    out = {"lake": lake, "settings": settings, "spec": gate(spec), "alerts": alerts}

    v1 = trained(lake, settings, spec, "v1", "2013-01-25")
    apply_decision(
        lake,
        settings,
        spec,
        evaluate_candidate(lake, settings, gate(spec), v1["version"], v1["window"]),
        run_info("v1"),
    )
    score(lake, settings, spec, "2013-01-25", "2013-01-28")

    # v2: in the gray zone, an unattended run leaves it to live evidence
    v2 = trained(lake, settings, spec, "v2", "2013-01-29")
    asked = in_gray_zone(lake, settings, spec, v2)
    decision = evaluate_candidate(lake, settings, asked, v2["version"], v2["window"])
    out["v2_decision"] = decision
    apply_decision(lake, settings, asked, decision, run_info("v2"))
    out["v2_release"] = release_challenger(
        settings, asked, decision.to_dict(), "manual", "evidence", None
    )
    score(lake, settings, spec, "2013-01-29", "2013-01-29")
    out["v2_day_one"] = evidence.settle_gray_zone(
        lake, settings, gate(spec), "2013-01-29", run_info("m-0129")
    )
    score(lake, settings, spec, "2013-01-30", "2013-02-04")
    out["v2_settled"] = evidence.settle_gray_zone(
        lake, settings, gate(spec), "2013-02-04", {**run_info("m-0204"), "ds": "2013-02-04"}
    )

    # v3: an overfit model in the gray zone; live labels refuse it
    v3 = trained(lake, settings, spec, "v3", "2013-02-05", OVERFIT)
    asked = in_gray_zone(lake, settings, spec, v3)
    decision = evaluate_candidate(lake, settings, asked, v3["version"], v3["window"])
    out["v3_decision"] = decision
    apply_decision(lake, settings, asked, decision, run_info("v3"))
    score(lake, settings, spec, "2013-02-05", "2013-02-09")
    out["v3_settled"] = evidence.settle_gray_zone(
        lake, settings, gate(spec), "2013-02-09", run_info("m-0209")
    )
    out["v2_watched"] = evidence.watch_champion(
        lake, settings, spec, "2013-02-09", run_info("m-0209")
    )

    # v4: the same overfit model promoted by a lax gate; the watch rolls it back
    v4 = trained(lake, settings, spec, "v4", "2013-02-10", OVERFIT)
    lax = gate(spec, lax=True)
    decision = evaluate_candidate(lake, settings, lax, v4["version"], v4["window"])
    out["v4_decision"] = decision
    apply_decision(lake, settings, lax, decision, {**run_info("v4"), "ds": "2013-02-10"})
    out["champion_after_v4"] = champion(settings, spec.model)
    score(lake, settings, spec, "2013-02-10", "2013-02-18")
    out["history_before_watch"] = registry.champion_history(tracking.client(settings), spec.model)
    out["v4_watched"] = evidence.watch_champion(
        lake, settings, spec, "2013-02-18", {**run_info("m-0218"), "ds": "2013-02-18"}
    )
    out["v4_watched_again"] = evidence.watch_champion(
        lake, settings, spec, "2013-02-18", {**run_info("m-0218"), "ds": "2013-02-18"}
    )

    # v5: a gray zone left to evidence, superseded by v6 before the evidence is in
    v5 = trained(lake, settings, spec, "v5", "2013-02-18", SMALL)
    asked = in_gray_zone(lake, settings, spec, v5)
    decision = evaluate_candidate(lake, settings, asked, v5["version"], v5["window"])
    out["v5_decision"] = decision
    apply_decision(lake, settings, asked, decision, run_info("v5"))
    trained(lake, settings, spec, "v6", "2013-02-19", SMALL)
    out["superseded"] = evidence.release_superseded(settings, gate(spec))
    out["superseded_again"] = evidence.release_superseded(settings, gate(spec))
    return out


def test_a_gray_zone_left_to_evidence_waits_then_live_labels_promote_it(story):
    assert story["v2_decision"].outcome == ASK
    assert "stays the challenger" in story["v2_release"]
    waiting = story["v2_day_one"]
    assert waiting["outcome"] == "waiting" and waiting["why"].endswith(
        "of 2000 labelled live rows so far"
    )
    settled = story["v2_settled"]
    assert settled["outcome"] == "promoted", settled
    assert (
        settled["change"]["high"] <= 0.002
        and "live logloss change of v2 against v1" in settled["why"]
    )
    client = tracking.client(story["settings"])
    v2 = client.get_model_version("flights_late", "2")
    assert v2.tags[tracking.PROMOTED_BECAUSE_TAG].startswith("live evidence settled the gray zone")
    assert v2.tags[tracking.PROMOTED_BY_TAG].endswith("(approved by live evidence)")
    assert v2.tags[tracking.PROMOTED_DS_TAG] == "2013-02-04"


def test_a_gray_zone_worse_live_is_refused_with_the_live_figures(story):
    assert story["v3_decision"].outcome == ASK
    settled = story["v3_settled"]
    assert settled["outcome"] == "refused" and settled["change"]["low"] > 0.002, settled
    client = tracking.client(story["settings"])
    v3 = client.get_model_version("flights_late", "3")
    assert v3.tags[tracking.NOT_PROMOTED_TAG].startswith("live evidence settled the gray zone")
    assert "worse beyond the margin" in v3.tags[tracking.NOT_PROMOTED_TAG]
    assert registry.alias_version(client, "flights_late", tracking.CHALLENGER) is None or (
        registry.alias_version_number(client, "flights_late", tracking.CHALLENGER) != "3"
    )
    # a person who answers after the evidence settled it no longer promotes it
    lake, settings, spec = story["lake"], story["settings"], story["spec"]
    assert not apply_decision(
        lake, settings, spec, story["v3_decision"], run_info("late"), approved_by="ana"
    )
    # meanwhile v2, promoted on 4 Feb, was under watch against v1 and kept
    assert story["v2_watched"]["outcome"] in ("kept", "watching"), story["v2_watched"]


def test_a_champion_worse_live_is_rolled_back_by_the_watch_once_with_an_alert(story):
    assert story["v4_decision"].outcome == PROMOTE and story["champion_after_v4"] == "4"
    watched = story["v4_watched"]
    assert watched["outcome"] == "rolled back", watched
    assert "v4 is worse beyond the margin" in watched["why"]
    client = tracking.client(story["settings"])
    assert champion(story["settings"], "flights_late") == "2"
    # one alias move: the history lost v4, nothing else
    history = registry.champion_history(client, "flights_late")
    assert history == story["history_before_watch"][:-1]
    assert (
        story["v4_watched_again"] is None or story["v4_watched_again"]["outcome"] != "rolled back"
    )
    v4 = client.get_model_version("flights_late", "4")
    assert v4.tags[tracking.ROLLED_BACK_TAG].startswith("the watch after its promotion")
    assert v4.tags[tracking.ROLLED_BACK_DS_TAG] == "2013-02-18"
    # what the MLflow UI shows first on both versions: the rollback, above the decision
    assert v4.description.startswith("**Rolled back on 2013-02-18**: v2 is the champion again")
    v2 = client.get_model_version("flights_late", "2")
    assert v2.description.startswith("**Champion again on 2013-02-18** (rollback from v4")
    assert "live evidence settled the gray zone" in v2.description  # its decision, kept below
    alerts = [json.loads(line) for line in story["alerts"].read_text().splitlines()]
    assert [a["kind"] for a in alerts] == ["watch_rollback"]
    assert alerts[0]["champion"] == "2" and "rolled back to v2" in alerts[0]["title"]


def test_every_decision_is_judged_in_hindsight(story):
    lake, settings, spec = story["lake"], story["settings"], story["spec"]
    judged = hindsight.judge_all(lake, settings, spec)
    by = {(j.decision, j.candidate): j for j in judged}
    assert sorted(by) == [
        ("ask", "2"),
        ("ask", "3"),
        ("ask", "5"),
        ("promote", "4"),
        ("rollback", "2"),
    ]
    assert by["ask", "3"].verdict == hindsight.RIGHT and not by["ask", "3"].promoted
    assert "v2 was better" in by["ask", "3"].why  # it lost to the champion of 5 Feb
    wrong = by["promote", "4"]  # the lax gate's promotion: wrong, and it says which was better
    assert (wrong.champion, wrong.verdict) == ("2", hindsight.WRONG)
    assert wrong.days[0] == "2013-02-10" and wrong.change["low"] > 0
    assert "v2, passed over, was better" in wrong.why
    rollback = by["rollback", "2"]  # on 18 Feb, judged by 18..24 Feb: labels not in yet
    assert (rollback.champion, rollback.verdict) == ("4", hindsight.PENDING)
    assert "labels come in up to 2013-02-24" in rollback.why
    assert by["ask", "2"].verdict in (hindsight.RIGHT, hindsight.WRONG)


def test_mlgate_decisions_prints_the_table_and_records_the_verdicts(story, tmp_path):
    settings, spec = story["settings"], story["spec"]
    (tmp_path / "flights.yaml").write_text(yaml.safe_dump(spec.raw))
    shown = mlgate("decisions", "--spec", str(tmp_path / "flights.yaml"))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:5] == ["day", "decision", "candidate", "champion", "chose"]
    assert any(line.startswith("2013-02-10  promote") and "wrong" in line for line in lines)
    assert lines[-1].endswith("right, 2 pending")  # the rollback and v5, both of 18 Feb

    listed = mlgate("decisions", "--spec", str(tmp_path / "flights.yaml"), "--json", "--record")
    assert listed.returncode == 0, listed.stderr
    summary = json.loads(listed.stdout)["summary"]
    assert summary["judged"] == 3 and summary["wrong"] >= 1
    tags = {v: tracking.client(settings).get_model_version(spec.model, v).tags for v in ("3", "4")}
    assert tags["3"][tracking.HINDSIGHT_TAG] == "right"
    assert tags["4"][tracking.HINDSIGHT_TAG] == "wrong"
    assert "passed over, was better" in tags["4"][tracking.HINDSIGHT_WHY_TAG]
    assert tracking.ROLLBACK_HINDSIGHT_TAG not in tags["4"]  # the rollback is still pending
    described = tracking.client(settings).get_model_version(spec.model, "4").description
    assert described.startswith("**In hindsight, its decision (2013-02-10) was wrong**")
    assert "**Rolled back on 2013-02-18**" in described
    # recorded verdicts are final: the monitor's judge_all keeps them without scoring again
    kept = hindsight.judge_all(story["lake"], settings, spec, again=False)
    assert {j.candidate for j in kept if j.recorded} >= {"3", "4"}


def test_a_gray_zone_superseded_by_a_newer_candidate_is_released_once(story):
    assert story["v5_decision"].outcome == ASK
    [released] = story["superseded"]
    assert released["version"] == "5" and released["why"].startswith("superseded by v6")
    assert story["superseded_again"] == []
    client = tracking.client(story["settings"])
    v5 = client.get_model_version("flights_late", "5")
    assert v5.tags[tracking.NOT_PROMOTED_TAG].startswith("superseded by v6, a newer candidate")
    assert "Not promoted: superseded by v6" in v5.description
    assert registry.alias_version_number(client, "flights_late", tracking.CHALLENGER) == "6"
