"""The promotion rules on intervals (mlgate.promote.decide), and the comparison of two
models' real scores they are applied to."""

import numpy as np
import pytest

from mlgate.promote.decide import ASK, PROMOTE, REFUSE, compare, decide
from mlgate.promote.stats import quality
from tests.helpers import spec_with


def comparison(
    auc_diff=None, loss_diff=(0.0, -0.001, 0.001), auc=0.70, low=0.68, high=0.72, rows=5000
):
    out = {
        "candidate": {"rows": rows, "auc": auc, "auc_low": low, "auc_high": high},
        "champion": {"auc": 0.69},
    }
    if auc_diff is not None:
        out["auc_diff"] = dict(zip(("diff", "low", "high"), auc_diff))
        out["logloss_diff"] = dict(zip(("diff", "low", "high"), loss_diff))
    return out


def test_the_first_model_is_judged_on_its_interval(spec):
    assert decide(spec, comparison(), [], [], "1", None).outcome == PROMOTE
    refused = decide(spec, comparison(auc=0.60, low=0.58, high=0.615), [], [], "1", None)
    assert refused.outcome == REFUSE and "below the first-model minimum 0.62" in refused.reasons[0]
    gray = decide(spec, comparison(auc=0.63, low=0.61, high=0.65), [], [], "1", None)
    assert gray.outcome == ASK and "straddles the first-model minimum" in gray.sentence
    assert gray.sentence.startswith(
        "Ask a person about v1 as the first champion: AUC 0.6300 (95% CI 0.6100 to 0.6500)"
    )


def test_better_rule_promotes_only_when_the_lower_bound_clears_the_margin(spec):
    better = spec_with(spec, rule="better", min_auc_gain=0.0)
    assert decide(better, comparison((0.02, 0.01, 0.03)), [], [], "2", "1").outcome == PROMOTE
    same = decide(better, comparison((0.0, 0.0, 0.0)), [], [], "2", "1")
    assert same.outcome == REFUSE and "no better than the champion" in same.sentence
    noisy = decide(better, comparison((0.002, -0.004, 0.008)), [], [], "2", "1")
    assert noisy.outcome == ASK and "straddles the required gain" in noisy.sentence


def test_non_inferior_rule_needs_fresher_data(spec):
    assert (
        decide(spec, comparison((-0.002, -0.008, 0.004)), [], [], "2", "1", fresher=True).outcome
        == PROMOTE
    )
    stale = decide(spec, comparison((-0.002, -0.008, 0.004)), [], [], "2", "1", fresher=False)
    assert stale.outcome == REFUSE and "not trained on fresher data" in stale.sentence
    worse = decide(spec, comparison((-0.03, -0.04, -0.02)), [], [], "2", "1", fresher=True)
    assert worse.outcome == REFUSE and "worse by more than the margin 0.01" in worse.sentence
    assert (
        decide(spec, comparison((-0.01, -0.018, -0.002)), [], [], "2", "1", fresher=True).outcome
        == ASK
    )


def test_log_loss_sanity_slices_and_rows_refuse(spec):
    loss = decide(
        spec,
        comparison((0.01, 0.0, 0.02), loss_diff=(0.01, 0.008, 0.012)),
        [],
        [],
        "2",
        "1",
        fresher=True,
    )
    assert loss.outcome == REFUSE and "up by more than the allowed 0.002" in loss.sentence
    failed = [{"check": "calibration", "passed": False, "observed": 0.4, "expected": "within 0.1"}]
    assert decide(
        spec, comparison((0.01, 0.0, 0.02)), failed, [], "2", "1", True
    ).sentence.startswith("Refuse v2 against champion v1: sanity check calibration failed")
    slices = [
        {
            "slice": "origin",
            "value": "LGA",
            "rows": 3000,
            "judged": True,
            "regressed": True,
            "champion_auc": 0.7,
            "candidate_auc": 0.6,
            "p_worse_holm": 0.001,
        }
    ]
    blocked = decide(spec, comparison((0.02, 0.01, 0.03)), [], slices, "2", "1", True)
    assert (
        blocked.outcome == REFUSE
        and "slice origin=LGA got worse: AUC 0.7000 -> 0.6000" in blocked.sentence
    )
    both = decide(spec, comparison((-0.03, -0.04, -0.02)), [], slices, "2", "1", True)
    assert both.sentence.endswith(
        "worse by more than the margin 0.01 (and 1 more reason to refuse)."
    )
    few = decide(spec, comparison((0.02, 0.01, 0.03), rows=50), [], [], "2", "1", True)
    assert few.outcome == REFUSE and "only 50 evaluation rows, the spec needs 1000" in few.reasons


def test_compare_gives_intervals_and_churn(real_scores):
    labels, a, b = real_scores
    result = compare(labels, a, b, level=0.95, rounds=500)
    assert result["auc_diff"]["low"] < result["auc_diff"]["diff"] < result["auc_diff"]["high"]
    loss = result["logloss_diff"]
    assert loss["low"] < loss["diff"] < loss["high"]
    assert loss["diff"] == pytest.approx(
        quality(labels, a)["logloss"] - quality(labels, b)["logloss"], abs=1e-9
    )
    assert 0 < result["churn"]["mean_abs_change"] < 1


def test_an_auc_that_cannot_be_computed_refuses_with_its_reason_and_no_nan(spec):
    """One class among the evaluation labels: no AUC. The decision refuses and says why, and
    nothing NaN reaches the JSON of the card, XCom or the MLflow metrics."""
    import json

    from mlgate.promote.card import card_json, flat_metrics

    labels = np.zeros(2000, dtype=int)
    rng = np.random.default_rng(0)
    candidate, champion = rng.uniform(0, 0.3, 2000), rng.uniform(0, 0.3, 2000)
    for champion_scores, champion_version in ((champion, "1"), (None, None)):
        comparison = compare(labels, candidate, champion_scores, level=0.95, rounds=100)
        decision = decide(spec, comparison, [], [], "2", champion_version, fresher=True)
        assert decision.outcome == REFUSE
        assert "the evaluation labels have one class only: AUC is undefined" in decision.reasons
        json.dumps(decision.to_dict(), allow_nan=False)  # raises on NaN
        json.dumps(card_json(spec, decision), allow_nan=False)
        assert all(np.isfinite(v) for v in flat_metrics(decision).values())


def test_a_candidate_under_the_floor_but_better_than_a_champion_under_it_is_not_silently_refused(
    spec, real_scores
):
    """Real scores of a depth-4 model and of stumps on three days of March 2013 (the stumps
    rank better there), both under a floor of 0.95: the floor alone would keep the worse
    model; `below_floor` decides."""
    labels, *scores = real_scores
    worse_one, better_one = sorted(scores, key=lambda s: quality(labels, s)["auc"])
    judged = compare(labels, better_one, worse_one, 0.95, 200)
    assert judged["champion"]["auc"] < judged["candidate"]["auc"] < 0.95

    def outcome(choice, candidate=judged):
        # wide margins elsewhere: only the floor is in question
        gate = spec_with(
            spec, min_auc=0.95, below_floor=choice, auc_margin=0.1, max_logloss_increase=0.1
        )
        return decide(gate, candidate, [], [], "2", "1", fresher=True)

    promoted, asked, refused = outcome("promote"), outcome("ask"), outcome("refuse")
    assert promoted.outcome == PROMOTE and "the better of two models under the floor" in (
        " ".join(promoted.reasons)
    )
    assert asked.outcome == ASK and "lower still" in asked.sentence
    assert refused.outcome == REFUSE and "refusing keeps the worse model" in refused.sentence
    # the other way round (the worse against the better as champion): the floor refuses
    worse = outcome("promote", compare(labels, worse_one, better_one, 0.95, 200))
    assert worse.outcome == REFUSE and any(
        r.startswith("AUC") and r.endswith("is below the floor 0.95") for r in worse.reasons
    )
