"""The promotion rules of a regression (mlgate.promote.regression) on intervals: RMSE
against the champion by the spec's rule and margin, MAE, slices, the first model against
the constant, and a figure that cannot be computed refuses."""

import json

import numpy as np
import pandas as pd
import pytest

from mlgate.config.spec import Spec, load_spec
from mlgate.promote import regression
from mlgate.promote.decide import ASK, PROMOTE, REFUSE, decide


@pytest.fixture(scope="module")
def delay():
    return load_spec("flights_delay")


def with_rule(spec, **promotion):
    raw = json.loads(json.dumps(spec.raw))
    raw["evaluation"]["promotion"].update(promotion)
    return Spec(spec.name, spec.path, raw)


def comparison(rmse=(0.0, -0.2, 0.2), mae=(0.0, -0.1, 0.1), champion_rmse=40.0, rows=5000):
    """A regression comparison with the RMSE and MAE changes (diff, low, high)."""
    return {
        "candidate": {"rows": rows, "rmse": champion_rmse + rmse[0], "mae": 25.0},
        "baseline": {"rmse": 41.0, "rmse_diff": {"diff": -1.0, "low": -1.4, "high": -0.6}},
        "champion": {"rows": rows, "rmse": champion_rmse, "mae": 25.0},
        "rmse_diff": dict(zip(("diff", "low", "high"), rmse)),
        "mae_diff": dict(zip(("diff", "low", "high"), mae)),
    }


def test_non_inferior_rmse_refuses_beyond_the_margin_asks_across_it_promotes_inside(delay):
    # rmse_margin 0.01 of the champion's 40.0: 0.40 minutes
    worse = decide(delay, comparison((0.9, 0.5, 1.3)), [], [], "2", "1", fresher=True)
    assert worse.outcome == REFUSE and "worse by more than the margin 0.40" in worse.sentence
    gray = decide(delay, comparison((0.3, 0.1, 0.5)), [], [], "2", "1", fresher=True)
    assert gray.outcome == ASK and "straddles the non-inferiority margin 0.40" in gray.sentence
    fine = decide(delay, comparison((0.1, -0.1, 0.3)), [], [], "2", "1", fresher=True)
    assert fine.outcome == PROMOTE and "not worse by more than 0.40" in fine.sentence
    stale = decide(delay, comparison((0.1, -0.1, 0.3)), [], [], "2", "1", fresher=False)
    assert stale.outcome == REFUSE and "not trained on fresher data" in stale.sentence


def test_better_rule_needs_the_whole_interval_below_the_gain(delay):
    better = with_rule(delay, rule="better", min_rmse_gain=0.01)  # 0.40 minutes
    assert decide(better, comparison((-1.0, -1.3, -0.7)), [], [], "2", "1").outcome == PROMOTE
    assert decide(better, comparison((-0.5, -0.9, -0.1)), [], [], "2", "1").outcome == ASK
    same = decide(better, comparison((0.0, -0.2, 0.2)), [], [], "2", "1")
    assert same.outcome == REFUSE and "no better than the champion" in same.sentence


def test_mae_and_slices_refuse_even_when_the_rmse_is_fine(delay):
    # max_mae_increase 0.02 of the champion's MAE 25.0: 0.50 minutes
    mae = decide(delay, comparison(mae=(0.8, 0.6, 1.0)), [], [], "2", "1", fresher=True)
    assert mae.outcome == REFUSE and "MAE change +0.80 (+0.60 to +1.00)" in mae.sentence
    slices = [
        {
            "slice": "origin",
            "value": "EWR",
            "rows": 2000,
            "judged": True,
            "regressed": True,
            "champion_rmse": 40.0,
            "candidate_rmse": 45.0,
            "p_worse_holm": 0.001,
        }
    ]
    blocked = decide(delay, comparison(), [], slices, "2", "1", fresher=True)
    assert blocked.outcome == REFUSE and "slice origin=EWR got worse: RMSE 40.00 -> 45.00" in (
        blocked.sentence
    )


def test_the_first_model_must_beat_the_constant_on_its_interval(delay):
    first = decide(delay, comparison(), [], [], "1", None)
    assert first.outcome == PROMOTE and "predicting the mean" in first.reasons[0]
    near = comparison()
    near["baseline"]["rmse_diff"] = {"diff": -0.2, "low": -0.5, "high": 0.1}
    assert decide(delay, near, [], [], "1", None).outcome == ASK
    near["baseline"]["rmse_diff"] = {"diff": 0.2, "low": 0.0, "high": 0.4}
    assert decide(delay, near, [], [], "1", None).outcome == REFUSE


def test_without_rows_the_rmse_is_a_refusal_with_its_reason_and_no_nan(delay):
    empty = regression.compare(np.array([]), np.array([]), np.array([]), 0.95)
    decision = decide(delay, empty, [], [], "2", "1", fresher=True)
    assert decision.outcome == REFUSE
    assert "RMSE cannot be computed on 0 evaluation rows" in decision.reasons
    json.dumps(decision.to_dict(), allow_nan=False)


def test_compare_and_slices_on_small_frames(delay):
    rng = np.random.default_rng(3)
    y = rng.gamma(1.0, 30.0, 3000) - 10
    frame = pd.DataFrame(
        {"delay_minutes": y, "origin": np.repeat(["EWR", "JFK", "LGA"], 1000), "carrier": "UA"}
    )
    good = y + rng.normal(0, 5, len(y))
    bad = good.copy()
    bad[:1000] += 40  # EWR much worse
    result = regression.compare(y, good, bad, 0.95)
    assert result["rmse_diff"]["high"] < 0 and result["mae_diff"]["high"] < 0
    assert result["baseline"]["rmse_diff"]["high"] < 0
    rows = regression.slice_table(frame, delay, "delay_minutes", bad, good)
    regressed = {(r["slice"], r["value"]) for r in rows if r.get("regressed")}
    # EWR got worse, and so did the only carrier, which holds every row
    assert regressed == {("origin", "EWR"), ("carrier", "UA")} and all(r["judged"] for r in rows)
    assert not [r for r in rows if r["value"] in ("JFK", "LGA") and r.get("regressed")]
