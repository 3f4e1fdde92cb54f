"""Hindsight: every decision of the promotion gate judged by the days that came after it.

A decision on day D chose between two registered versions: a promotion or a refusal between
the candidate and the champion it was judged against, a rollback between the champion it
moved away from and the version it restored. Once the spec's `monitoring.hindsight.days`
days from D on have their labels, both versions score those days (neither was trained on
them) and the paired per-row difference (candidate minus champion: log loss for a binary
model, RMSE by the delta method for a regression), with the spec's confidence, says which
was better. A decision is right unless the version it left serving is measurably worse than
the one it passed over; wrong when it is; pending while the days' labels have not all come
in or are too few.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

import numpy as np

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.ingest.landing import labelled_frame
from mlgate.lake.store import Lake
from mlgate.model.serving import load_model, predict_served
from mlgate.promote import stats

RIGHT, WRONG, PENDING = "right", "wrong", "pending"


@dataclass
class Judged:
    """One decision and its verdict in hindsight. `candidate` is the version the decision
    could have made champion (for a rollback: the version it restored), `champion` the one
    serving before it; `promoted` says which the decision chose."""

    ds: str
    decision: str  # promote | refuse | ask | rollback
    candidate: str
    champion: str
    promoted: bool
    sentence: str
    verdict: str = PENDING
    why: str = ""
    days: list[str] = field(default_factory=list)
    rows: int = 0
    change: dict | None = None  # candidate minus champion: {metric, diff, low, high, level}
    recorded: bool = False  # the verdict was read from the registry's tags (`record`)

    def to_dict(self) -> dict:
        return stats.finite_or_none(asdict(self))


def recorded_decisions(settings: Settings, spec: Spec) -> list[Judged]:
    """The gate's decisions in the registry, by day: every candidate judged against a
    champion (a first model has none to compare) and every rollback with its day."""
    from mlflow.exceptions import MlflowException

    client = tracking.client(settings)
    try:
        versions = client.search_model_versions(f"name = '{spec.model}'")
    except MlflowException:
        return []
    out = []
    for mv in versions:
        tags = mv.tags or {}
        promoted = bool(tags.get(tracking.PROMOTED_AT_TAG))
        if tags.get(tracking.DECISION_TAG) and tags.get(tracking.DS_TAG):
            against = judged_against(settings, mv)
            if against.get("champion"):
                out.append(
                    _as_recorded(
                        Judged(
                            ds=tags[tracking.DS_TAG],
                            decision=tags[tracking.DECISION_TAG],
                            candidate=str(mv.version),
                            champion=str(against["champion"]),
                            promoted=promoted,
                            sentence=against.get("sentence", ""),
                        ),
                        tags,
                    )
                )
        if tags.get(tracking.ROLLED_BACK_TAG) and tags.get(tracking.ROLLED_BACK_DS_TAG):
            restored = [
                str(o.version)
                for o in versions
                if (o.tags or {}).get(tracking.RESTORED_TAG) == tags[tracking.ROLLED_BACK_TAG]
                and o.version != mv.version
            ]
            if restored:
                out.append(
                    _as_recorded(
                        Judged(
                            ds=tags[tracking.ROLLED_BACK_DS_TAG],
                            decision="rollback",
                            candidate=restored[-1],
                            champion=str(mv.version),
                            promoted=True,
                            sentence=f"Roll back v{mv.version} to v{restored[-1]}: "
                            + tags[tracking.ROLLED_BACK_TAG],
                        ),
                        tags,
                    )
                )
    return sorted(out, key=lambda j: (j.ds, int(j.candidate)))


def verdict_tags(decision: Judged) -> tuple[str, str, str]:
    """Where a verdict is kept: (version, verdict tag, why tag); a rollback's on the version
    it moved away from."""
    if decision.decision == "rollback":
        return (
            decision.champion,
            tracking.ROLLBACK_HINDSIGHT_TAG,
            tracking.ROLLBACK_HINDSIGHT_WHY_TAG,
        )
    return decision.candidate, tracking.HINDSIGHT_TAG, tracking.HINDSIGHT_WHY_TAG


def _as_recorded(decision: Judged, tags: dict) -> Judged:
    """`decision` with the verdict its version's tags already hold, if any."""
    _, verdict_tag, why_tag = verdict_tags(decision)
    if tags.get(verdict_tag) in (RIGHT, WRONG):
        decision.verdict, decision.why = tags[verdict_tag], tags.get(why_tag, "")
        decision.recorded = True
    return decision


def judged_against(settings: Settings, mv) -> dict:
    """{champion, sentence} of the gate's decision on version `mv`: from its tags, or
    from its promotion card for a version judged before the tags were kept ({} without)."""
    tags = mv.tags or {}
    if tracking.JUDGED_AGAINST_TAG in tags:
        return {
            "champion": tags[tracking.JUDGED_AGAINST_TAG],
            "sentence": tags.get(tracking.DECISION_SENTENCE_TAG, ""),
        }
    return card_of(settings, mv.run_id) or {}


def card_of(settings: Settings, run_id: str) -> dict | None:
    """The promotion card a run logged (None when it has none)."""
    import mlflow

    tracking.connect(settings.tracking_uri)
    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/promotion_card.json")
    except Exception:  # noqa: BLE001 - a run without a card (never judged) is skipped
        return None


def hindsight_days(spec: Spec, ds: str) -> list[str]:
    """The days that judge a decision made on `ds`: `hindsight.days` days from `ds` on."""
    start = dt.date.fromisoformat(ds)
    count = int(spec.section("monitoring")["hindsight"]["days"])
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(count)]


def judge(lake: Lake, settings: Settings, spec: Spec, decision: Judged) -> Judged:
    """`decision` with its verdict: both versions scored on the labelled days after it."""
    days = hindsight_days(spec, decision.ds)
    newest_labels = max(lake.list_partitions("outcomes", spec.model), default="")
    if newest_labels < days[-1]:
        decision.why = f"labels come in up to {days[-1]} (the newest are of {newest_labels})"
        return decision
    frame = labelled_frame(lake, spec, days)
    decision.days, decision.rows = sorted(frame["ds"].unique()) if len(frame) else [], len(frame)
    least = int(spec.section("monitoring")["hindsight"]["min_rows"])
    if decision.rows < least:
        decision.why = f"only {decision.rows} labelled rows in {days[0]}..{days[-1]} ({least})"
        return decision
    scores = {
        role: np.asarray(
            predict_served(load_model(settings.tracking_uri, spec.model, version), frame),
            dtype=float,
        )
        for role, version in (("candidate", decision.candidate), ("champion", decision.champion))
    }
    decision.change = paired_change(spec, frame, scores["candidate"], scores["champion"])
    decision.verdict, decision.why = verdict_of(decision)
    return decision


def paired_change(
    spec: Spec, frame, candidate: np.ndarray, champion: np.ndarray, by_day: bool = False
) -> dict:
    """Candidate minus champion on the same rows of `frame` (with their day, `ds`), with
    the spec's confidence: the mean log-loss change for a binary model, the RMSE change for
    a regression (its per-row delta-method terms). The interval is per row (the CLT): what
    happened on these rows, hindsight's question. `by_day` clusters it by day
    (stats.clustered_mean), for a forecast from a few days to the weeks after them (live
    evidence): rows of one day share its weather and are not independent, and a per-row
    interval over two or three days is far too sure of itself."""
    labels = frame[spec.section("label")["name"]].to_numpy(dtype=float)
    level = float(spec.section("evaluation")["confidence"])
    if spec.is_regression:
        centre, terms = stats.rmse_change_terms(labels, candidate, champion)
        metric = "rmse"
    else:
        terms = stats.row_logloss(labels, candidate) - stats.row_logloss(labels, champion)
        metric, centre = "logloss", None
    diff = (
        stats.clustered_mean(terms, frame["ds"].to_numpy(), level)
        if by_day
        else {**stats.clt_mean(terms, level), "clusters": int(frame["ds"].nunique())}
    )
    shift = 0.0 if centre is None else centre - diff["mean"]
    return {
        "metric": metric,
        "diff": diff["mean"] + shift,
        "low": diff["low"] + shift,
        "high": diff["high"] + shift,
        "level": level,
        "days": diff["clusters"],
    }


def measurably_better(change: dict) -> str | None:
    """Which of the two a change (candidate minus champion, lower is better) says was
    measurably better: "candidate", "champion", or None when its interval holds 0."""
    return "candidate" if change["high"] < 0 else "champion" if change["low"] > 0 else None


def verdict_of(decision: Judged) -> tuple[str, str]:
    """Right unless the version the decision kept serving was measurably worse than the one
    it passed over (lower is better for both metrics); the reason in words."""
    c = decision.change
    figure = (
        f"{c['metric']} change of v{decision.candidate} against v{decision.champion} "
        f"{c['diff']:+.4f} ({c['low']:+.4f} to {c['high']:+.4f}) on {decision.rows} rows "
        f"of {decision.days[0]}..{decision.days[-1]}"
    )
    better = measurably_better(c)
    kept = "candidate" if decision.promoted else "champion"
    if better is None:
        return RIGHT, f"{figure}: no measurable difference"
    if better == kept:
        return RIGHT, f"{figure}: v{getattr(decision, kept)} was better"
    return WRONG, f"{figure}: v{getattr(decision, better)}, passed over, was better"


def judge_all(lake: Lake, settings: Settings, spec: Spec, again: bool = True) -> list[Judged]:
    """Every recorded decision with its verdict, by day; `again=False` keeps the verdicts
    already recorded in the registry (a verdict is final: its days are fixed) and judges
    only the others."""
    return [
        d if d.recorded and not again else judge(lake, settings, spec, d)
        for d in recorded_decisions(settings, spec)
    ]


def share_right(judged: list[Judged]) -> dict:
    """How many judged decisions proved right: {right, wrong, pending, judged, share}."""
    right = sum(j.verdict == RIGHT for j in judged)
    wrong = sum(j.verdict == WRONG for j in judged)
    return {
        "right": right,
        "wrong": wrong,
        "pending": sum(j.verdict == PENDING for j in judged),
        "judged": right + wrong,
        "share": (right / (right + wrong)) if right + wrong else None,
    }


def record(settings: Settings, spec: Spec, judged: list[Judged]) -> int:
    """Tag each judged version with its verdict and why (the decision's candidate; for a
    rollback, the version it moved away from); returns how many tags changed."""
    client, changed = tracking.client(settings), 0
    for j in judged:
        if j.verdict == PENDING or j.recorded:
            continue
        version, tag, why_tag = verdict_tags(j)
        tags = client.get_model_version(spec.model, version).tags or {}
        if tags.get(tag) == j.verdict and tags.get(why_tag) == j.why[:5000]:
            continue
        client.set_model_version_tag(spec.model, version, tag, j.verdict)
        client.set_model_version_tag(spec.model, version, why_tag, j.why[:5000])
        what = "the rollback away from it" if j.decision == "rollback" else "its decision"
        tracking.add_to_description(
            settings,
            spec.model,
            version,
            f"**In hindsight, {what} ({j.ds}) was {j.verdict}**: {j.why}",
        )
        changed += 1
    return changed


def table(judged: list[Judged]) -> str:
    """The decisions as a text table, with the share of right ones."""
    rows = [("day", "decision", "candidate", "champion", "chose", "change (95%)", "hindsight")]
    for j in judged:
        c = j.change
        rows.append(
            (
                j.ds,
                j.decision,
                f"v{j.candidate}",
                f"v{j.champion}",
                f"v{j.candidate if j.promoted else j.champion}",
                f"{c['metric']} {c['diff']:+.4f} ({c['low']:+.4f}..{c['high']:+.4f})" if c else "-",
                j.verdict,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    s = share_right(judged)
    share = f"{s['right']}/{s['judged']} right" if s["judged"] else "none judged yet"
    return "\n".join(lines + [f"{share}, {s['pending']} pending"])
