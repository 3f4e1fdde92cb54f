"""The promotion rules of a regression (spec `task: regression`), on intervals, not points.

Quality on the same rows, candidate minus champion: the RMSE difference by the delta method
on the paired squared errors, the MAE difference by the CLT on the paired absolute errors
(mlgate.promote.stats.paired_regression). Margins are shares of the champion's own RMSE
and MAE on those rows. The first model is judged against the best constant in hindsight
(the evaluation rows' own mean), paired the same way. Per slice value, a one-sided test of
an RMSE rise beyond `slices.max_rmse_increase`, Holm-corrected over the judged slices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlgate.config.spec import Spec
from mlgate.promote import stats

# Each rule family returns its reasons as (refuse, ask, fine), as in mlgate.promote.decide.
Reasons = tuple[list[str], list[str], list[str]]


def compare(
    labels: np.ndarray, candidate: np.ndarray, champion: np.ndarray | None, level: float
) -> dict:
    """Both models' RMSE and MAE with intervals on the same rows; the constant baseline
    (the rows' mean) paired with the candidate; with a champion, the paired differences
    (candidate minus champion) and the churn. A figure that cannot be computed (fewer than
    two rows) is left out."""
    labels = np.asarray(labels, dtype=float)
    out = {"candidate": stats.regression_quality(labels, candidate, level)}
    if len(labels) >= 2:
        constant = np.full(len(labels), labels.mean())
        out["baseline"] = {
            "rmse": stats.rmse(labels, constant),
            **stats.paired_regression(labels, candidate, constant, level),
        }
    if champion is None:
        return out
    out["champion"] = stats.regression_quality(labels, champion, level)
    out.update(stats.paired_regression(labels, candidate, champion, level))
    if len(labels):
        change = np.abs(candidate - champion)
        out["churn"] = {
            "mean_abs_change": float(change.mean()),
            "p95_abs_change": float(np.percentile(change, 95)),
        }
    return out


def slice_table(
    frame: pd.DataFrame, spec: Spec, label: str, candidate: np.ndarray, champion: np.ndarray | None
) -> list[dict]:
    """Per slice value: rows, both models' RMSE and MAE, and (with a champion) whether the
    slice's RMSE rose by more than `slices.max_rmse_increase` of the champion's,
    significantly after Holm's correction over every judged slice. Slices below
    `slices.min_rows` are shown, not judged."""
    cfg = spec.section("evaluation")
    min_rows, max_rise = (
        int(cfg["slices"]["min_rows"]),
        float(cfg["slices"]["max_rmse_increase"]),
    )
    level, rows = float(cfg["confidence"]), []
    labels = frame[label].to_numpy(dtype=float)
    for slice_col in spec.slices:
        for value, positions in frame.groupby(slice_col, sort=True).indices.items():
            y = labels[positions]
            cand = stats.regression_quality(y, candidate[positions], level)
            entry = {
                "slice": slice_col,
                "value": str(value),
                "rows": int(len(positions)),
                "candidate_rmse": cand.get("rmse"),
                "candidate_mae": cand.get("mae"),
                "champion_rmse": None,
                "judged": False,
            }
            if champion is not None and len(positions) >= 2:
                entry.update(_slice_change(y, candidate[positions], champion[positions], level))
                if len(positions) >= min_rows:
                    rise = max_rise * entry["champion_rmse"]
                    # one-sided: small when the RMSE rose by more than `rise`
                    p = stats.p_worse_than(-entry["rmse_diff"], entry["rmse_diff_se"], rise)
                    entry.update(judged=True, p_worse=p)
            rows.append(entry)
    judged = [r for r in rows if r["judged"]]
    for entry, adjusted in zip(judged, stats.holm([r["p_worse"] for r in judged])):
        entry["p_worse_holm"] = adjusted
        entry["regressed"] = adjusted < float(cfg["slices"]["alpha"])
    return rows


def _slice_change(y: np.ndarray, candidate: np.ndarray, champion: np.ndarray, level: float):
    """One slice's champion RMSE and the paired RMSE change with its interval."""
    paired = stats.paired_regression(y, candidate, champion, level)["rmse_diff"]
    return {
        "champion_rmse": stats.rmse(y, champion),
        "rmse_diff": paired["diff"],
        "rmse_diff_low": paired["low"],
        "rmse_diff_high": paired["high"],
        "rmse_diff_se": paired["se"],
    }


def rule_families(
    spec: Spec, comparison: dict, slices: list[dict], first: bool, fresher: bool | None
) -> list[Reasons]:
    """The regression rules that apply: a missing figure refuses with its reason; the first
    model against the constant baseline; otherwise RMSE (the spec's rule), MAE and slices."""
    cfg = spec.section("evaluation")
    cand, rules = comparison["candidate"], cfg["promotion"]
    if "rmse" not in cand or "baseline" not in comparison:
        return [([f"RMSE cannot be computed on {cand['rows']} evaluation rows"], [], [])]
    if first:
        return [_first_model_rule(comparison, float(cfg["first_model"]["min_rmse_reduction"]))]
    if "rmse_diff" not in comparison:
        return [(["the RMSE difference against the champion cannot be computed"], [], [])]
    champ = comparison["champion"]
    return [
        _rmse_rule(comparison["rmse_diff"], champ["rmse"], rules, fresher),
        _mae_rule(comparison["mae_diff"], champ["mae"], float(rules["max_mae_increase"])),
        _slice_rule(slices, float(cfg["slices"]["max_rmse_increase"])),
    ]


def _first_model_rule(comparison: dict, share: float) -> Reasons:
    """Without a champion: the RMSE change against the constant baseline (the evaluation
    rows' mean) must be below -share x the baseline's RMSE, on the interval."""
    base, diff = comparison["baseline"], comparison["baseline"]["rmse_diff"]
    need = -share * base["rmse"] + 0.0  # (no "-0.00" when the share is 0)
    where = (
        f"RMSE {comparison['candidate']['rmse']:.2f} against {base['rmse']:.2f} for predicting "
        f"the mean: change {stats.interval_text(diff, 2)}"
    )
    bar = f"the first-model bar {need:+.2f} ({share:.1%} of the constant's RMSE)"
    if diff["high"] < need:
        return [], [], [f"{where} is below {bar}"]
    if diff["low"] >= need:
        return [f"{where} does not beat {bar}"], [], []
    return [], [f"{where} straddles {bar}"], []


def _rmse_rule(diff: dict, champion_rmse: float, rules: dict, fresher: bool | None) -> Reasons:
    """The spec's rule on the RMSE difference: better by more than a gain, or not worse
    beyond a margin and trained on fresher data (margins: shares of the champion's RMSE)."""
    text = f"RMSE change {stats.interval_text(diff, 2)} against the champion's {champion_rmse:.2f}"
    if rules["rule"] == "better":
        gain = float(rules["min_rmse_gain"]) * champion_rmse
        if diff["high"] < -gain:
            return [], [], [f"{text}: better by more than {gain:.2f}"]
        if diff["low"] >= -gain:
            return (
                [f"{text}: no better than the champion (the rule is better by {gain:.2f})"],
                [],
                [],
            )
        return [], [f"{text}: the interval straddles the required gain {gain:.2f}"], []
    margin = float(rules["rmse_margin"]) * champion_rmse
    if diff["low"] > margin:
        return [f"{text}: worse by more than the margin {margin:.2f}"], [], []
    if diff["high"] > margin:
        return [], [f"{text}: the interval straddles the non-inferiority margin {margin:.2f}"], []
    if fresher is False:
        return [f"{text}: not worse, but not trained on fresher data than the champion"], [], []
    return [], [], [f"{text}: not worse by more than {margin:.2f}, and trained on fresher data"]


def _mae_rule(diff: dict, champion_mae: float, share: float) -> Reasons:
    """The MAE difference interval against the allowed increase (a share of the champion's)."""
    allowed = share * champion_mae
    text = f"MAE change {stats.interval_text(diff, 2)} against the champion's {champion_mae:.2f}"
    if diff["low"] > allowed:
        return [f"{text}: up by more than the allowed {allowed:.2f}"], [], []
    if diff["high"] > allowed:
        return [], [f"{text}: the interval straddles the allowed increase {allowed:.2f}"], []
    return [], [], [f"{text}: within the allowed increase {allowed:.2f}"]


def _slice_rule(slices: list[dict], share: float) -> Reasons:
    """Refuse on every slice whose RMSE rose; fine when slices were judged and none did."""
    refuse, fine = [], []
    for s in slices:
        if s.get("regressed"):
            refuse.append(
                f"slice {s['slice']}={s['value']} got worse: "
                f"RMSE {s['champion_rmse']:.2f} -> {s['candidate_rmse']:.2f} "
                f"({s['rows']} rows, Holm-adjusted p {s['p_worse_holm']:.3g} for a rise beyond "
                f"{share:.0%} of the champion's)"
            )
    judged = sum(1 for s in slices if s["judged"])
    if judged and not any(s.get("regressed") for s in slices):
        fine.append(f"no slice got worse ({judged} slices judged, Holm-corrected)")
    return refuse, [], fine
