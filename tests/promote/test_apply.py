"""Where the train DAG goes after the gate (mlgate.promote.apply.route)."""

from mlgate.promote.apply import route
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
