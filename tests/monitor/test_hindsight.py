"""Hindsight on real flights: the gate's decisions judged by the days after them, through
the library and `mlgate decisions`."""

import copy
import json

import pytest
import yaml

from mlgate import tracking
from mlgate.config.spec import Spec
from mlgate.lake.store import Lake
from mlgate.monitor import hindsight
from mlgate.promote.apply import apply_decision
from mlgate.promote.evaluate import evaluate_candidate
from mlgate.promote.rollback import roll_back
from mlgate.train.candidate import train_candidate
from tests.helpers import champion, ingest_real_days, mlgate, run_info

WEAK = {"num_boost_round": 2, "params": {"max_depth": 1}}  # stumps: clearly worse


def with_hindsight(spec, days: int, lax: bool = False) -> Spec:
    """`spec` judging decisions on `days` days; `lax`: a gate that lets a worse model by."""
    raw = copy.deepcopy(spec.raw)
    raw.setdefault("monitoring", {})["hindsight"] = {"days": days, "min_rows": 500}
    if lax:
        raw["evaluation"]["promotion"].update(auc_margin=0.5, max_logloss_increase=1.0, min_auc=0.5)
        raw["evaluation"]["slices"]["max_auc_drop"] = 1.0
    return Spec(name=spec.name, raw=raw, path=spec.path)


@pytest.fixture(scope="module")
def decided(module_settings, spec):
    """Real days of 2013-01-01..02-03 in a lake; v1 the first champion (25 Jan), v2 a
    crippled candidate refused (25 Jan), v3 the same crippled candidate promoted by a gate
    with margins wide open (27 Jan), then a rollback from v3 to v1 (on 3 Feb)."""
    lake, settings = Lake.from_uri(module_settings.lake_uri), module_settings
    ingest_real_days(lake, spec, "2013-01-01", "2013-02-03")
    week = with_hindsight(spec, 7)
    lax = with_hindsight(spec, 7, lax=True)
    for name, ds, gate, overrides in (
        ("first", "2013-01-25", week, None),
        ("weak", "2013-01-25", week, WEAK),
        ("weak-lax", "2013-01-27", lax, WEAK),
    ):
        cand = train_candidate(lake, settings, gate, ds, run_info(name), "test", overrides)
        decision = evaluate_candidate(lake, settings, gate, cand["version"], cand["window"])
        apply_decision(lake, settings, gate, decision, run_info(name))
    assert champion(settings, spec.model) == "3"
    roll_back(lake, settings, spec, "live quality fell")
    return lake, settings, week


def test_a_refusal_a_wrong_promotion_and_a_pending_rollback(decided):
    lake, settings, spec = decided
    judged = hindsight.judge_all(lake, settings, spec)
    by = {(j.decision, j.candidate): j for j in judged}
    assert sorted(by) == [("promote", "3"), ("refuse", "2"), ("rollback", "1")]

    refused = by["refuse", "2"]  # the stumps lost to the champion on the next week: right
    assert (refused.champion, refused.promoted, refused.verdict) == ("1", False, hindsight.RIGHT)
    assert refused.days[0] == "2013-01-25" and refused.days[-1] == "2013-01-31"
    assert refused.change["metric"] == "logloss" and refused.change["low"] > 0
    assert "v1 was better" in refused.why

    promoted = by["promote", "3"]  # the same stumps promoted: wrong, and says which was better
    assert (promoted.champion, promoted.promoted, promoted.verdict) == ("1", True, hindsight.WRONG)
    assert (promoted.days[0], promoted.days[-1], len(promoted.days)) == (
        "2013-01-27",
        "2013-02-02",
        7,
    )
    assert "v1, passed over, was better" in promoted.why

    rollback = by["rollback", "1"]  # on 3 Feb, judged by 3..9 Feb: labels not in yet
    assert (rollback.ds, rollback.champion, rollback.verdict) == ("2013-02-03", "3", "pending")
    assert "labels come in up to 2013-02-09" in rollback.why

    assert hindsight.share_right(judged) == {
        "right": 1,
        "wrong": 1,
        "pending": 1,
        "judged": 2,
        "share": 0.5,
    }


def test_mlgate_decisions_prints_the_table_and_records_the_verdicts(decided, tmp_path):
    lake, settings, spec = decided
    (tmp_path / "flights.yaml").write_text(yaml.safe_dump(spec.raw))
    shown = mlgate("decisions", "--spec", str(tmp_path / "flights.yaml"))
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == [
        "day",
        "decision",
        "candidate",
        "champion",
        "chose",
        "change",
        "(95%)",
        "hindsight",
    ]
    assert lines[-1] == "1/2 right, 1 pending"
    assert any(line.startswith("2013-01-27  promote") and "wrong" in line for line in lines)

    out = mlgate("decisions", "--spec", str(tmp_path / "flights.yaml"), "--json", "--record")
    assert out.returncode == 0, out.stderr
    listed = json.loads(out.stdout)
    assert listed["summary"]["share"] == 0.5 and len(listed["decisions"]) == 3
    client = tracking.client(settings)
    tags = {v: client.get_model_version(spec.model, v).tags for v in ("1", "2", "3")}
    assert tags["2"][tracking.HINDSIGHT_TAG] == "right"
    assert tags["3"][tracking.HINDSIGHT_TAG] == "wrong"
    assert "passed over, was better" in tags["3"][tracking.HINDSIGHT_WHY_TAG]
    assert tracking.ROLLBACK_HINDSIGHT_TAG not in tags["3"]  # the rollback is still pending
