"""Where the train DAG goes after the gate (mlgate.promote.apply.route), and which gray
zones are left to live evidence."""

from mlgate.promote.apply import left_to_evidence, route
from mlgate.promote.decide import ASK, PROMOTE, REFUSE
from tests.helpers import spec_with


def test_the_train_dag_routes_by_outcome_and_backfills_never_promote(spec):
    def d(outcome):
        return {"outcome": outcome, "sentence": f"{outcome} v2"}

    assert route(spec, d(PROMOTE), "scheduled") == ("promote", "promote v2")
    assert route(spec, d(ASK), "manual")[0] == "approve"
    assert route(spec, d(ASK), "manual", gray_zone="refuse") == (None, "champion unchanged: ask v2")
    assert route(spec, d(REFUSE), "asset_triggered") == (None, "champion unchanged: refuse v2")
    for outcome in (PROMOTE, ASK):
        assert route(spec, d(outcome), "backfill") == (
            None,
            f"backfill runs never promote; the decision was: {outcome} v2",
        )
    no_asking = spec_with(spec)
    no_asking.raw["evaluation"]["approval"] = {"ask": False}
    assert route(no_asking, d(ASK), "manual")[0] is None


def test_a_gray_zone_nobody_answers_is_left_to_live_evidence_a_person_s_answer_is_not(spec):
    ask = {"outcome": ASK, "sentence": "ask v2", "candidate": "2"}
    step, why = route(spec, ask, "scheduled", gray_zone="evidence")
    assert step is None and "v2 stays the challenger, scored in shadow" in why
    assert left_to_evidence(spec, ask, "scheduled", "evidence", None)
    timed_out = {"chosen_options": ["Reject"], "responded_by_user": None}
    assert left_to_evidence(spec, ask, "manual", "ask", timed_out)
    rejected = {"chosen_options": ["Reject"], "responded_by_user": {"name": "ana"}}
    assert not left_to_evidence(spec, ask, "manual", "ask", rejected)
    assert not left_to_evidence(spec, ask, "backfill", "evidence", None)
    assert not left_to_evidence(spec, ask, "manual", "refuse", None)
    assert not left_to_evidence(spec, {**ask, "outcome": REFUSE}, "manual", "evidence", None)
    off = spec_with(spec)
    off.raw["evaluation"]["evidence"] = {**off.raw["evaluation"]["evidence"], "settle": False}
    assert not left_to_evidence(off, ask, "manual", "evidence", None)
    assert route(off, ask, "manual", gray_zone="evidence") == (None, "champion unchanged: ask v2")
