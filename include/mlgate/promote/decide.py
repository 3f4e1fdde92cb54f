"""The decision: the spec's rules applied to intervals, not points.

Quality on the same rows: DeLong intervals for the AUC difference, a paired bootstrap for
the log-loss difference (the CLT above `evaluation.bootstrap_max_rows` rows), per-slice
non-regression with Holm's correction, churn (a regression's RMSE and MAE rules are in
mlgate.promote.regression). A figure that cannot be computed refuses with its reason,
never travels as NaN. Any refusal refuses; otherwise an interval that straddles a margin
asks a person (the gray zone); otherwise promote. The decision says why in one sentence,
and lists every reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from mlgate.config.spec import Spec
from mlgate.promote import regression, stats

PROMOTE, REFUSE, ASK = "promote", "refuse", "ask"
VERDICTS = {PROMOTE: "Promote", REFUSE: "Refuse", ASK: "Ask a person about"}


@dataclass
class Decision:
    outcome: str  # promote | refuse | ask
    first_model: bool
    candidate: str
    champion: str | None
    reasons: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)
    slices: list[dict] = field(default_factory=list)
    lineage: dict = field(default_factory=dict)
    deciding: int = 1  # how many of the first reasons decided the outcome

    @property
    def promote(self) -> bool:
        return self.outcome == PROMOTE

    @property
    def sentence(self) -> str:
        """The decision in one sentence: the verdict and its deciding reason."""
        against = (
            "as the first champion" if self.first_model else f"against champion v{self.champion}"
        )
        verb = {REFUSE: "refuse", ASK: "ask a person"}.get(self.outcome, "promote")
        more = (
            f" (and {self.deciding - 1} more reason{'s' * (self.deciding > 2)} to {verb})"
            if self.deciding > 1
            else ""
        )
        reason = self.reasons[0] if self.reasons else "no reason recorded"
        return f"{VERDICTS[self.outcome]} v{self.candidate} {against}: {reason}{more}."

    def to_dict(self) -> dict:
        """The decision as JSON-safe data (no NaN or infinity: None instead)."""
        return stats.finite_or_none({**asdict(self), "sentence": self.sentence})

    @classmethod
    def from_dict(cls, data: dict) -> "Decision":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def compare(
    labels: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray | None,
    level: float,
    rounds: int,
    max_rows: int | None = None,
) -> dict:
    """Both models' quality on the same rows; with a champion, the paired differences
    (candidate minus champion) of AUC (DeLong) and log loss (the paired bootstrap, or the
    CLT above `max_rows` rows: `method` and `interval` say which) and the churn."""
    out = {"candidate": stats.quality(labels, candidate)}
    if len(np.unique(labels)) == 2:
        alone = stats.delong(labels, candidate, level=level)
        out["candidate"].update(auc_low=alone["auc_low"], auc_high=alone["auc_high"])
    if champion is None:
        return out
    out["champion"] = stats.quality(labels, champion)
    if len(np.unique(labels)) == 2:
        paired = stats.delong(labels, candidate, champion, level=level)
        out["auc_diff"] = {
            "diff": paired["diff"],
            "low": paired["diff_low"],
            "high": paired["diff_high"],
            "se": paired["diff_se"],
        }
    loss = stats.mean_interval(
        stats.row_logloss(labels, candidate) - stats.row_logloss(labels, champion),
        level,
        rounds,
        max_rows,
    )
    out["logloss_diff"] = {
        "diff": loss["mean"],
        "low": loss["low"],
        "high": loss["high"],
        "method": loss["method"],
        "interval": loss["interval"],
    }
    out["churn"] = {
        "mean_abs_change": float(np.mean(np.abs(candidate - champion))),
        "flipped_at_0.5": float(np.mean((candidate >= 0.5) != (champion >= 0.5))),
        "flipped_at_base_rate": float(
            np.mean((candidate >= labels.mean()) != (champion >= labels.mean()))
        ),
    }
    return out


def slice_table(
    frame: pd.DataFrame, spec: Spec, label: str, candidate: np.ndarray, champion: np.ndarray | None
) -> list[dict]:
    """Per slice value: rows, quality of both models, and (with a champion) whether the
    slice's AUC fell by more than the spec allows, significantly after Holm's correction
    over every judged slice. Slices below `slices.min_rows` or with one class are shown,
    not judged."""
    cfg = spec.section("evaluation")["slices"]
    min_rows, max_drop, alpha = (
        int(cfg["min_rows"]),
        float(cfg["max_auc_drop"]),
        float(cfg["alpha"]),
    )
    level = float(spec.section("evaluation")["confidence"])
    rows, labels = [], frame[label].to_numpy(dtype=int)
    for slice_col in spec.slices:
        for value, positions in frame.groupby(slice_col, sort=True).indices.items():
            y = labels[positions]
            entry = {
                "slice": slice_col,
                "value": str(value),
                "rows": int(len(positions)),
                "positives": int(y.sum()),
                "candidate_auc": None,
                "champion_auc": None,
                "judged": False,
            }
            both = 0 < y.sum() < len(y)
            if both:
                entry["candidate_auc"] = float(roc_auc_score(y, candidate[positions]))
            if champion is not None and min(y.sum(), len(y) - y.sum()) >= 2:
                paired = stats.delong(y, candidate[positions], champion[positions], level=level)
                entry.update(
                    champion_auc=paired["other_auc"],
                    auc_diff=paired["diff"],
                    auc_diff_low=paired["diff_low"],
                    auc_diff_high=paired["diff_high"],
                )
                if len(positions) >= min_rows and min(y.sum(), len(y) - y.sum()) >= 10:
                    entry.update(
                        judged=True,
                        p_worse=stats.p_worse_than(paired["diff"], paired["diff_se"], max_drop),
                    )
            rows.append(entry)
    judged = [r for r in rows if r["judged"]]
    for entry, adjusted in zip(judged, stats.holm([r["p_worse"] for r in judged])):
        entry["p_worse_holm"] = adjusted
        entry["regressed"] = adjusted < alpha
    return rows


def decide(
    spec: Spec,
    comparison: dict,
    checks: list[dict],
    slices: list[dict],
    candidate_version: str,
    champion_version: str | None,
    fresher: bool | None = None,
) -> Decision:
    """Apply the spec's rules to intervals, not points. Any refusal refuses; otherwise an
    interval that straddles a margin asks a person; otherwise promote."""
    cfg = spec.section("evaluation")
    rules = cfg["promotion"]
    level = f"{float(cfg['confidence']):.0%}"
    cand = comparison["candidate"]
    first = champion_version is None
    families = [_sanity_and_rows(checks, cand, rules)]
    if spec.is_regression:
        families += regression.rule_families(spec, comparison, slices, first, fresher)
    elif "auc_low" not in cand:
        families.append((["the evaluation labels have one class only: AUC is undefined"], [], []))
    elif first:
        families.append(_first_model_rule(cand, float(cfg["first_model"]["min_auc"]), level))
    else:
        families += [
            _auc_rule(comparison, rules, fresher),
            _logloss_rule(comparison["logloss_diff"], float(rules["max_logloss_increase"])),
            _slice_rule(slices, cfg),
        ]
    refuse, ask, fine = ([reason for family in families for reason in family[i]] for i in range(3))
    outcome = REFUSE if refuse else ASK if ask else PROMOTE
    decision = Decision(
        outcome,
        first,
        str(candidate_version),
        champion_version,
        refuse + ask + fine,
        dict(comparison),
    )
    decision.deciding = len(refuse) if refuse else len(ask) if ask else 1
    return decision


# Each rule family returns its reasons as (refuse, ask, fine).
Reasons = tuple[list[str], list[str], list[str]]


def _sanity_and_rows(checks: list[dict], cand: dict, rules: dict) -> Reasons:
    """Refuse on every failed sanity check and on too few evaluation rows."""
    refuse = []
    for failed in (c for c in checks if not c["passed"]):
        observed = failed.get("summary", failed["observed"])
        refuse.append(
            f"sanity check {failed['check']} failed: observed {observed}, "
            f"expected {failed['expected']}"
        )
    if cand["rows"] < int(rules["min_rows"]):
        refuse.append(f"only {cand['rows']} evaluation rows, the spec needs {rules['min_rows']}")
    return refuse, [], []


def _first_model_rule(cand: dict, need: float, level: str) -> Reasons:
    """Without a champion: the AUC interval against the first-model minimum."""
    where = f"AUC {cand['auc']:.4f} ({level} CI {cand['auc_low']:.4f} to {cand['auc_high']:.4f})"
    if cand["auc_low"] >= need:
        return [], [], [f"{where} is above the first-model minimum {need}"]
    if cand["auc_high"] < need:
        return [f"{where} is below the first-model minimum {need}"], [], []
    return [], [f"{where} straddles the first-model minimum {need}"], []


def _auc_rule(comparison: dict, rules: dict, fresher: bool | None) -> Reasons:
    """The AUC floor, then the spec's rule on the AUC difference against the champion:
    better by more than a gain, or not worse beyond a margin and trained on fresher data."""
    refuse, ask, fine = [], [], []
    floor = float(rules["min_auc"])
    cand = comparison["candidate"]
    if cand["auc"] < floor:
        under = _both_under_the_floor(comparison, floor, rules["below_floor"])
        (refuse, ask, fine)[("refuse", "ask", "promote").index(under[0])].append(under[1])
    diff = comparison.get("auc_diff")
    if diff is None:
        return refuse, ask, fine
    gain = (
        f"AUC change {stats.interval_text(diff, 4)} "
        f"against the champion's {comparison['champion']['auc']:.4f}"
    )
    if rules["rule"] == "better":
        margin = float(rules["min_auc_gain"])
        if diff["low"] > margin:
            fine.append(f"{gain}: better by more than {margin}")
        elif diff["high"] <= margin:
            refuse.append(
                f"{gain}: no better than the champion (the rule is better by more than {margin})"
            )
        else:
            ask.append(f"{gain}: the interval straddles the required gain {margin}")
    else:  # non_inferior
        margin = float(rules["auc_margin"])
        if diff["high"] <= -margin:
            refuse.append(f"{gain}: worse by more than the margin {margin}")
        elif diff["low"] > -margin and fresher is False:
            refuse.append(f"{gain}: not worse, but not trained on fresher data than the champion")
        elif diff["low"] > -margin:
            fine.append(f"{gain}: not worse by more than {margin}, and trained on fresher data")
        else:
            ask.append(f"{gain}: the interval straddles the non-inferiority margin -{margin}")
    return refuse, ask, fine


def _both_under_the_floor(comparison: dict, floor: float, choice: str) -> tuple[str, str]:
    """A candidate under the AUC floor: refused, unless the champion is under it too on the
    same rows and does worse than the candidate (the AUC change's point estimate is
    positive); then the spec's `promotion.below_floor` says (promote, ask, or refuse),
    never the floor alone, which would keep the worse model. Returns (what, why)."""
    cand, champion = comparison["candidate"], comparison.get("champion") or {}
    diff = comparison.get("auc_diff")
    below = f"AUC {cand['auc']:.4f} is below the floor {floor}"
    if diff is None or champion.get("auc") is None or champion["auc"] >= floor or diff["diff"] <= 0:
        return "refuse", below
    both = (
        f"{below}, but the champion's on the same rows is lower still "
        f"({champion['auc']:.4f}): refusing keeps the worse model"
    )
    return choice, {
        "promote": f"{both}; the better of two models under the floor is promoted "
        "(promotion.below_floor: promote)",
        "ask": f"{both}; a person or live evidence decides (promotion.below_floor: ask)",
        "refuse": f"{both}, under the floor itself (promotion.below_floor: refuse)",
    }[choice]


def _logloss_rule(loss: dict, allowed: float) -> Reasons:
    """The log-loss difference interval against the allowed increase (with the method that
    made the interval, when known)."""
    how = f"; {loss['interval']}" if loss.get("interval") else ""
    text = f"log loss change {loss['diff']:+.4f} ({loss['low']:+.4f} to {loss['high']:+.4f}{how})"
    if loss["low"] > allowed:
        return [f"{text}: up by more than the allowed {allowed}"], [], []
    if loss["high"] > allowed:
        return [], [f"{text}: the interval straddles the allowed increase {allowed}"], []
    return [], [], [f"{text}: within the allowed increase {allowed}"]


def _slice_rule(slices: list[dict], cfg: dict) -> Reasons:
    """Refuse on every slice that got worse; fine when slices were judged and none did."""
    refuse, fine = [], []
    for s in slices:
        if s.get("regressed"):
            refuse.append(
                f"slice {s['slice']}={s['value']} got worse: "
                f"AUC {s['champion_auc']:.4f} -> {s['candidate_auc']:.4f} "
                f"({s['rows']} rows, Holm-adjusted p {s['p_worse_holm']:.3g} for a drop beyond "
                f"{cfg['slices']['max_auc_drop']})"
            )
    judged = sum(1 for s in slices if s["judged"])
    if judged and not any(s.get("regressed") for s in slices):
        fine.append(f"no slice got worse ({judged} slices judged, Holm-corrected)")
    return refuse, [], fine
