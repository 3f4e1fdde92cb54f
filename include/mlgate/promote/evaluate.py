"""The promotion gate: is the candidate safe to serve, and is it better than the champion
by more than noise?

1. The evaluation set (golden days plus the recent labelled days) is read with its
   version; no row of it may be in either model's training window.
2. Both models are loaded and score the set in a fresh process, as the score DAG loads
   them; the candidate's sanity checks must pass (mlgate.promote.sanity).
3. Quality on the same rows: DeLong intervals for the AUC difference, a paired bootstrap
   for the log-loss difference, per-slice non-regression with Holm's correction, churn.
4. The spec's rule is applied to the intervals: promote, refuse, or ask a person when an
   interval straddles a margin (the gray zone).

The decision, its card (HTML and JSON, mlgate.promote.card) and the metrics are logged to the
candidate's MLflow run and tagged on its model version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.store import Lake
from mlgate.promote import golden, registry, sanity, stats

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
        return f"{VERDICTS[self.outcome]} v{self.candidate} {against}: {self.reasons[0] if self.reasons else 'no reason recorded'}{more}."

    def to_dict(self) -> dict:
        return {**asdict(self), "sentence": self.sentence}

    @classmethod
    def from_dict(cls, data: dict) -> "Decision":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def compare(
    labels: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray | None,
    level: float,
    rounds: int,
) -> dict:
    """Both models' quality on the same rows; with a champion, the paired differences
    (candidate minus champion) of AUC (DeLong) and log loss (bootstrap) and the churn."""
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
    loss = stats.bootstrap_mean(
        stats.row_logloss(labels, candidate) - stats.row_logloss(labels, champion), level, rounds
    )
    out["logloss_diff"] = {"diff": loss["mean"], "low": loss["low"], "high": loss["high"]}
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
    cfg = spec.section("evaluation").get("slices", {})
    min_rows, max_drop, alpha = (
        int(cfg.get("min_rows", 200)),
        float(cfg.get("max_auc_drop", 0.02)),
        float(cfg.get("alpha", 0.05)),
    )
    level = float(spec.section("evaluation").get("confidence", 0.95))
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


def _interval(d: dict, digits: int = 4) -> str:
    return f"{d['diff']:+.{digits}f} ({d['low']:+.{digits}f} to {d['high']:+.{digits}f})"


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
    level = f"{float(cfg.get('confidence', 0.95)):.0%}"
    cand = comparison["candidate"]
    refuse, ask, fine = [], [], []
    first = champion_version is None
    for failed in (c for c in checks if not c["passed"]):
        refuse.append(
            f"sanity check {failed['check']} failed: observed {failed.get('summary', failed['observed'])}, "
            f"expected {failed['expected']}"
        )
    if cand["rows"] < int(rules["min_rows"]):
        refuse.append(f"only {cand['rows']} evaluation rows, the spec needs {rules['min_rows']}")
    if "auc_low" not in cand:
        refuse.append("the evaluation labels have one class only: AUC is undefined")
    elif first:
        need = float(cfg["first_model"]["min_auc"])
        where = (
            f"AUC {cand['auc']:.4f} ({level} CI {cand['auc_low']:.4f} to {cand['auc_high']:.4f})"
        )
        if cand["auc_low"] >= need:
            fine.append(f"{where} is above the first-model minimum {need}")
        elif cand["auc_high"] < need:
            refuse.append(f"{where} is below the first-model minimum {need}")
        else:
            ask.append(f"{where} straddles the first-model minimum {need}")
    else:
        floor = float(rules["min_auc"])
        if cand["auc"] < floor:
            refuse.append(f"AUC {cand['auc']:.4f} is below the floor {floor}")
        diff = comparison.get("auc_diff")
        if diff is not None:
            gain = f"AUC change {_interval(diff)} against the champion's {comparison['champion']['auc']:.4f}"
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
                    refuse.append(
                        f"{gain}: not worse, but not trained on fresher data than the champion"
                    )
                elif diff["low"] > -margin:
                    fine.append(
                        f"{gain}: not worse by more than {margin}, and trained on fresher data"
                    )
                else:
                    ask.append(
                        f"{gain}: the interval straddles the non-inferiority margin -{margin}"
                    )
        loss, allowed = comparison["logloss_diff"], float(rules["max_logloss_increase"])
        text = f"log loss change {_interval(loss)}"
        if loss["low"] > allowed:
            refuse.append(f"{text}: up by more than the allowed {allowed}")
        elif loss["high"] > allowed:
            ask.append(f"{text}: the interval straddles the allowed increase {allowed}")
        else:
            fine.append(f"{text}: within the allowed increase {allowed}")
        for s in slices:
            if s.get("regressed"):
                refuse.append(
                    f"slice {s['slice']}={s['value']} got worse: AUC {s['champion_auc']:.4f} -> {s['candidate_auc']:.4f} "
                    f"({s['rows']} rows, Holm-adjusted p {s['p_worse_holm']:.3g} for a drop beyond "
                    f"{spec.section('evaluation').get('slices', {}).get('max_auc_drop', 0.02)})"
                )
        judged = sum(1 for s in slices if s["judged"])
        if judged and not any(s.get("regressed") for s in slices):
            fine.append(f"no slice got worse ({judged} slices judged, Holm-corrected)")
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


def evaluate_candidate(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    candidate_version: str,
    window: dict,
    run: dict | None = None,
    log: bool = True,
) -> Decision:
    """Judge a registered candidate against the current champion on the same rows and
    return the decision; with `log`, the decision, its card and the metrics go to the
    candidate's MLflow run and model version."""
    from mlgate.promote import card

    cfg = spec.section("evaluation")
    level, rounds = float(cfg.get("confidence", 0.95)), int(cfg.get("bootstrap_rounds", 1000))
    client = tracking.client(settings)
    label = spec.section("label")["name"]
    candidate_mv = client.get_model_version(spec.model, str(candidate_version))
    champion_mv = registry.alias_version(client, spec.model, tracking.CHAMPION)
    if champion_mv is not None and str(champion_mv.version) == str(candidate_version):
        raise golden.EvaluationError(
            f"v{candidate_version} is already the champion of {spec.model}; nothing to judge."
        )
    evaluation_set = golden.build_evaluation_set(
        lake, spec, window["golden_days"], window["recent_days"]
    )
    frame = evaluation_set.frame
    if frame.empty:
        raise golden.EvaluationError(
            f"{spec.model}: no golden or recent labelled days to evaluate on; ingest more days first."
        )
    golden.check_disjoint(lake, spec, evaluation_set, window["train_days"], "candidate")
    champion_window = (
        tracking.training_window(settings, champion_mv.run_id) if champion_mv else None
    )
    if champion_window:
        golden.check_disjoint(lake, spec, evaluation_set, champion_window["train_days"], "champion")
    versions = {"candidate": str(candidate_version)}
    if champion_mv is not None:
        versions["champion"] = str(champion_mv.version)
    probes = sanity.score_in_fresh_process(settings.tracking_uri, spec, versions, frame)
    golden.verify_unchanged(
        lake, spec, evaluation_set, window["golden_days"], window["recent_days"]
    )
    if champion_mv is not None and not probes["champion"].get("loaded"):
        raise golden.EvaluationError(
            f"the champion v{champion_mv.version} does not load in a fresh process "
            f"({probes['champion']['error']}); roll it back before judging candidates."
        )
    train_rate = client.get_run(candidate_mv.run_id).data.metrics.get("train_positive_rate")
    checks = sanity.sanity_checks(spec, probes["candidate"], frame, train_rate)
    labels = frame[label].to_numpy(dtype=int)
    scores = {name: p["scores"] for name, p in probes.items() if "scores" in p}
    if "candidate" not in scores:
        comparison = {"candidate": {"rows": int(len(frame))}}
        decision = Decision(
            REFUSE,
            champion_mv is None,
            str(candidate_version),
            versions.get("champion"),
            [f"sanity check loads failed: {probes['candidate']['error']}"],
            comparison,
        )
    else:
        champion_scores = scores.get("champion")
        comparison = compare(labels, scores["candidate"], champion_scores, level, rounds)
        slices = slice_table(frame, spec, label, scores["candidate"], champion_scores)
        fresher = None
        if champion_window:
            fresher = window["train_days"][-1] > champion_window["train_days"][-1]
        decision = decide(
            spec,
            comparison,
            checks,
            slices,
            str(candidate_version),
            versions.get("champion"),
            fresher,
        )
        decision.slices = slices
    decision.checks = checks
    decision.metrics.update(
        level=f"{level:.0%}",
        latency_ms=probes["candidate"].get("latency_ms"),
        model_mb=round(probes["candidate"].get("size_bytes", 0) / 1e6, 3),
    )
    decision.lineage = {
        "evaluation_set": {
            "version": evaluation_set.version,
            "manifest": evaluation_set.manifest,
            "rows": int(len(frame)),
            "golden_days": window["golden_days"],
            "recent_days": window["recent_days"],
        },
        "candidate": {
            "version": str(candidate_version),
            "run_id": candidate_mv.run_id,
            "window": [window["train_days"][0], window["train_days"][-1]],
            "window_days": len(window["train_days"]),
        },
        "champion": None
        if champion_mv is None
        else {
            "version": str(champion_mv.version),
            "run_id": champion_mv.run_id,
            "window": [champion_window["train_days"][0], champion_window["train_days"][-1]]
            if champion_window
            else None,
        },
        "airflow": run or {},
        "evaluated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "rows_sha256": hashlib.sha256(
            pd.util.hash_pandas_object(frame[[spec.id_column, label]], index=False).values.tobytes()
        ).hexdigest(),
    }
    if log:
        card.log_card(settings, spec, decision, labels, scores)
    return decision


def route(
    spec: Spec, decision: dict, run_type: str, gray_zone: str = "ask"
) -> tuple[str | None, str]:
    """Where the train DAG goes after the gate: ("promote" | "approve" | None, why).
    Backfill runs never promote; a gray zone asks a person unless the spec or the run
    (`gray_zone="refuse"`, for unattended runs) says to refuse."""
    if "BACKFILL" in run_type.upper():
        return None, f"backfill runs never promote; the decision was: {decision['sentence']}"
    if decision["outcome"] == PROMOTE:
        return "promote", decision["sentence"]
    if (
        decision["outcome"] == ASK
        and spec.section("evaluation").get("approval", {}).get("ask", True)
        and gray_zone == "ask"
    ):
        return "approve", f"gray zone: asking a person in Required Actions. {decision['sentence']}"
    return None, f"champion unchanged: {decision['sentence']}"


def apply_decision(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    decision: Decision,
    run: dict,
    backfill: bool = False,
    approved_by: str | None = None,
) -> bool:
    """Move the aliases if the decision (or a person, for a gray zone) says so; returns
    whether the champion changed. Backfill runs never promote. The move is a
    compare-and-set under the model's promotion lock: a champion that changed since the
    evaluation is never overwritten (PromotionError says to re-evaluate)."""
    client = tracking.client(settings)
    if registry.alias_version_number(client, spec.model, tracking.CHALLENGER) == decision.candidate:
        client.delete_registered_model_alias(spec.model, tracking.CHALLENGER)
    allowed = decision.promote or (decision.outcome == ASK and approved_by)
    if not allowed or backfill:
        return False
    why = (
        decision.sentence
        if decision.promote
        else f"approved by {approved_by} in the gray zone: {decision.sentence}"
    )
    with registry.promotion_lock(lake, spec.model):
        registry.promote(
            client,
            spec.model,
            decision.candidate,
            decision.champion,
            {
                tracking.PROMOTED_BY_TAG: f"{run['dag_id']}/{run['run_id']}"
                + (f" (approved by {approved_by})" if approved_by else ""),
                tracking.PROMOTED_BECAUSE_TAG: why[:5000],
                tracking.PROMOTED_AT_TAG: dt.datetime.now(dt.timezone.utc).isoformat(
                    timespec="seconds"
                ),
                tracking.GOLDEN_VERSION_TAG: decision.lineage.get("evaluation_set", {}).get(
                    "version", ""
                ),
            },
        )
    return True
