"""Live evidence decides: a gray zone nobody answered, and the watch after a promotion.

Both compare two versions on the same live rows, once their labels have come in: the
served champion's predictions against the shadow predictions of the other (the gray-zone
challenger, or the previous champion while a new one is watched), paired per row
(candidate minus champion: log loss for a binary model, RMSE for a regression, with
`evaluation.confidence` and an interval clustered by day, so that two or three days of
one weather cannot pass for proof; hindsight.paired_change) against the promotion's margin
(`promotion.max_logloss_increase`; a regression's `promotion.rmse_margin` times the
champion's live RMSE).

- **Gray zone** (`evaluation.evidence.settle`): with `evidence.min_rows` rows, a challenger
  not worse beyond the margin is promoted through the promotion lock and compare-and-set;
  one measurably worse beyond it is refused; still undecided `evidence.max_days` after its
  day, refused. The live figures are the reason.
- **Watch** (`evidence.watch_days` after a promotion): a new champion measurably worse than
  the previous one beyond the margin is rolled back, with an alert.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.names import shadow_name, watch_name
from mlgate.lake.store import Lake
from mlgate.monitor import alerts, hindsight
from mlgate.monitor.day import joined_labels, window_days
from mlgate.promote import registry, stats
from mlgate.promote.apply import apply_decision, release
from mlgate.promote.decide import ASK, Decision
from mlgate.promote.rollback import roll_back
from mlgate.score.batch import watch_start


def paired_live(
    lake: Lake, spec: Spec, feed: str, version: str, champion: str, first: str, ds: str
) -> tuple[pd.DataFrame, dict | None]:
    """`version`'s predictions in `feed` against the champion's served ones on the same
    labelled rows of `first`..`ds`; returns (rows, change or None when fewer than two)."""
    days = window_days(ds, (dt.date.fromisoformat(ds) - dt.date.fromisoformat(first)).days + 1)
    other, _ = joined_labels(lake, spec, feed, days, version)
    served, _ = joined_labels(lake, spec, spec.model, days, champion)
    if other.empty or served.empty:
        return pd.DataFrame(), None
    both = served.merge(other[[spec.id_column, "score"]], on=spec.id_column, suffixes=("", "_o"))
    if len(both) < 2:
        return both, None
    change = hindsight.paired_change(
        spec,
        both,
        both["score_o"].to_numpy(dtype=float),
        both["score"].to_numpy(dtype=float),
        by_day=True,
    )
    return both, change


def margin(spec: Spec, rows: pd.DataFrame) -> float:
    """How much worse than the champion live is still acceptable: the promotion's log-loss
    allowance, or its RMSE margin times the champion's live RMSE for a regression."""
    rules = spec.section("evaluation")["promotion"]
    if not spec.is_regression:
        return float(rules["max_logloss_increase"])
    served = stats.rmse(rows[spec.section("label")["name"]], rows["score"])
    return float(rules["rmse_margin"]) * served


def _figure(change: dict, rows: int, version: str, champion: str, allowed: float) -> str:
    return (
        f"live {change['metric']} change of v{version} against v{champion} "
        f"{change['diff']:+.4f} ({change['low']:+.4f} to {change['high']:+.4f}, "
        f"{change['level']:.0%}) on {rows} labelled rows, margin {allowed:.4f}"
    )


def _unsettled(mv) -> bool:
    """A version left in the gray zone that neither a person nor evidence has settled."""
    tags = mv.tags or {}
    return (
        tags.get(tracking.DECISION_TAG) == ASK
        and not tags.get(tracking.PROMOTED_AT_TAG)
        and not tags.get(tracking.NOT_PROMOTED_TAG)
    )


def judged_decision(settings: Settings, spec: Spec, mv) -> Decision:
    """The gate's decision on version `mv`, from the promotion card its run logged."""
    card = hindsight.card_of(settings, mv.run_id)
    if not card:
        raise RuntimeError(
            f"{spec.model} v{mv.version} waits in the gray zone but its run {mv.run_id} has "
            "no promotion_card.json (was the artifact store cleared?): approve or reject it in "
            "Airflow's Required Actions, or train and judge a new candidate"
        )
    return Decision.from_dict(card)


def release_superseded(settings: Settings, spec: Spec) -> list[dict]:
    """Gray zones that lost the `challenger` alias to a newer candidate before evidence
    settled them are not promoted ("superseded by vN"), so that no decision stays open;
    returns [{version, why}] of those released."""
    client = tracking.client(settings)
    challenger = registry.alias_version_number(client, spec.model, tracking.CHALLENGER)
    versions = client.search_model_versions(f"name = '{spec.model}'")
    newest = max((int(mv.version) for mv in versions), default=0)
    done = []
    for mv in versions:
        if _unsettled(mv) and str(mv.version) != challenger and int(mv.version) < newest:
            newer = challenger or str(newest)
            why = f"superseded by v{newer}, a newer candidate, before live evidence settled it"
            release(settings, spec, judged_decision(settings, spec, mv).to_dict(), why)
            done.append({"version": str(mv.version), "why": why})
    return done


def settle_gray_zone(lake: Lake, settings: Settings, spec: Spec, ds: str, run: dict) -> dict | None:
    """Settle the challenger a gray zone left waiting, when live evidence is enough:
    {version, outcome: promoted | refused | waiting, why}; None when none waits."""
    cfg = spec.section("evaluation")["evidence"]
    client = tracking.client(settings)
    challenger = registry.alias_version(client, spec.model, tracking.CHALLENGER)
    if not cfg["settle"] or challenger is None or not _unsettled(challenger):
        return None
    version = str(challenger.version)
    decided_on = (challenger.tags or {}).get(tracking.DS_TAG, ds)
    decision = judged_decision(settings, spec, challenger)
    champion = registry.alias_version_number(client, spec.model, tracking.CHAMPION)
    if champion != decision.champion:
        why = (
            f"the champion moved from v{decision.champion} to v{champion} since v{version} "
            "was judged; train and judge again"
        )
        release(settings, spec, decision.to_dict(), why)
        return {"version": version, "outcome": "refused", "why": why}
    rows, change = paired_live(
        lake, spec, shadow_name(spec.model), version, champion, decided_on, ds
    )
    late = (dt.date.fromisoformat(ds) - dt.date.fromisoformat(decided_on)).days >= int(
        cfg["max_days"]
    )
    if change is None or len(rows) < int(cfg["min_rows"]):
        if not late:
            return {
                "version": version,
                "outcome": "waiting",
                "why": f"{len(rows)} of {cfg['min_rows']} labelled live rows so far",
            }
        why = (
            f"live evidence: only {len(rows)} labelled rows within {cfg['max_days']} days "
            f"(evidence.min_rows {cfg['min_rows']})"
        )
        release(settings, spec, decision.to_dict(), why)
        return {"version": version, "outcome": "refused", "why": why}
    allowed = margin(spec, rows)
    figure = _figure(change, len(rows), version, champion, allowed)
    if change["high"] <= allowed:
        why = f"live evidence settled the gray zone: {figure}: not worse beyond the margin"
        apply_decision(
            lake, settings, spec, decision, run, approved_by="live evidence", because=why
        )
        return {"version": version, "outcome": "promoted", "why": why, "change": change}
    if change["low"] > allowed or late:
        verdict = "worse beyond the margin" if change["low"] > allowed else "not shown better"
        why = f"live evidence settled the gray zone: {figure}: {verdict}"
        release(settings, spec, decision.to_dict(), why)
        return {"version": version, "outcome": "refused", "why": why, "change": change}
    return {"version": version, "outcome": "waiting", "why": figure, "change": change}


def watch_champion(lake: Lake, settings: Settings, spec: Spec, ds: str, run: dict) -> dict | None:
    """Compare a champion under watch with the previous one on the live rows since its
    promotion; roll it back (and alert) when it is measurably worse beyond the margin.
    Returns {champion, previous, outcome: rolled back | kept (not worse beyond the margin) |
    watching (not known yet) | waiting (too few rows), why}; None when no champion is
    under watch."""
    cfg = spec.section("evaluation")["evidence"]
    client = tracking.client(settings)
    champion = registry.alias_version(client, spec.model, tracking.CHAMPION)
    previous = registry.alias_version_number(client, spec.model, tracking.PREVIOUS)
    start = watch_start(champion) if champion is not None else None
    if not int(cfg["watch_days"]) or previous is None or not start or start > ds:
        return None
    maturity = int(spec.section("monitoring")["label_maturity_days"])
    if (dt.date.fromisoformat(ds) - dt.date.fromisoformat(start)).days > int(
        cfg["watch_days"]
    ) + maturity:
        return None  # its watch is over: the labels of its last shadow day have matured
    version = str(champion.version)
    rows, change = paired_live(lake, spec, watch_name(spec.model), previous, version, start, ds)
    if change is None or len(rows) < int(cfg["min_rows"]):
        return {
            "champion": version,
            "previous": previous,
            "outcome": "waiting",
            "why": f"{len(rows)} of {cfg['min_rows']} labelled live rows so far",
        }
    allowed = margin(spec, rows)
    # the change is previous minus champion: the champion is worse when it is below -margin
    figure = _figure(change, len(rows), previous, version, allowed)
    if change["high"] < -allowed:
        why = f"the watch after its promotion: {figure}: v{version} is worse beyond the margin"
        moved = roll_back(lake, settings, spec, why, by=f"{run['dag_id']}/{run['run_id']}", ds=ds)
        alerts.send(
            {
                "kind": "watch_rollback",
                "title": f"{spec.model} {ds}: v{version} rolled back to v{moved['to']} "
                "by the watch",
                "model": spec.model,
                "ds": ds,
                "champion": moved["to"],
                "reasons": [why],
                "quiet_reasons": [],
                "report": None,
                "mlflow_run_id": None,
                "runbook": {
                    k: alerts.RUNBOOKS["watch_rollback"][k] for k in ("means", "look_at", "do")
                },
            }
        )
        return {"champion": version, "previous": previous, "outcome": "rolled back", "why": why}
    outcome = "kept" if change["low"] >= -allowed else "watching"  # not worse, or not yet known
    return {"champion": version, "previous": previous, "outcome": outcome, "why": figure}


def live_decisions(lake: Lake, settings: Settings, spec: Spec, ds: str, run: dict) -> dict:
    """The monitor's decisions on live labels for day `ds`: release gray zones a newer
    candidate superseded, settle the waiting one, watch a new champion, judge (and record)
    the gate's decisions whose days have come in. Returns {superseded, settled, watch,
    hindsight: {summary, newly_judged}} for the monitor's report."""
    settling = spec.section("evaluation")["evidence"]["settle"]
    superseded = release_superseded(settings, spec) if settling else []
    settled = settle_gray_zone(lake, settings, spec, ds, run)
    watched = watch_champion(lake, settings, spec, ds, run)
    judged = hindsight.judge_all(lake, settings, spec, again=False)
    hindsight.record(settings, spec, judged)
    return {
        "superseded": superseded,
        "settled": settled,
        "watch": watched,
        "hindsight": {
            "summary": hindsight.share_right(judged),
            "newly_judged": [
                j.to_dict() for j in judged if not j.recorded and j.verdict != hindsight.PENDING
            ],
        },
    }


def summary_lines(live: dict) -> list[str]:
    """What live evidence decided, in sentences: for the task log and the report page."""
    lines = [
        f"Gray zone of v{s['version']}: not promoted, {s['why']}"
        for s in live.get("superseded", [])
    ]
    if live.get("settled"):
        s = live["settled"]
        lines.append(f"Gray zone of v{s['version']}: {s['outcome']}. {s['why']}")
    if live.get("watch"):
        w = live["watch"]
        lines.append(
            f"Watch of v{w['champion']} against v{w['previous']}: {w['outcome']}. {w['why']}"
        )
    for j in live["hindsight"]["newly_judged"]:
        lines.append(
            f"In hindsight, the {j['decision']} of v{j['candidate']} on {j['ds']} "
            f"was {j['verdict']}: {j['why']}"
        )
    s = live["hindsight"]["summary"]
    lines.append(
        f"{s['right']} of {s['judged']} decisions of the gate right in hindsight "
        f"({s['pending']} pending)"
        if s["judged"]
        else f"no decision judged in hindsight yet ({s['pending']} pending)"
    )
    return lines
