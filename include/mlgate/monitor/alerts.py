"""Alerts from the monitor, each with a short runbook: what it means, what to look at,
what to do. The monitor DAG sends them from an Airflow callback
(`mlgate.airflow.dagkit.monitor_alert`); a deployment points them at its own channel with
`MLGATE_ALERT_CALLBACK=package.module:function` (the function receives the alert as a dict),
or at a webhook (Slack, Teams, a pager) with `MLGATE_ALERT_WEBHOOK=https://...`. Every alert is
also written to the task log.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import urllib.request

log = logging.getLogger(__name__)

RUNBOOKS = {
    "watch_rollback": {
        "title": "a new champion was rolled back by the watch",
        "means": "Live labels showed the newly promoted champion measurably worse than the "
        "champion it replaced, beyond the promotion's margin, on the same rows: the watch "
        "after its promotion moved @champion back. The evaluation at promotion time did not "
        "predict the next days.",
        "look_at": "The figures above; the rolled-back version's promotion card and its "
        "mlgate.rolled_back tag; what changed between its evaluation days and the days after.",
        "do": "Nothing is needed to keep serving: the previous champion serves again. Find why "
        "the evaluation misjudged (evaluation days unlike the live ones, a slice); "
        "`mlgate decisions` shows how often the gate has been right.",
    },
    "champion_outside_gate": {
        "title": "the champion was moved outside the gate",
        "means": "The @champion alias points to a version that no promotion or rollback of "
        "mlgate put there: someone set it by hand in the MLflow UI or API. That version is "
        "served without the data, evaluation and sanity gates.",
        "look_at": "Who moved the alias (the MLflow server's log), the version it points to, "
        "and the gate's champion history (the registered model's mlgate.champion_history tag).",
        "do": "Point @champion back to the version the gate left (named above), or train and "
        "promote the wanted model through the train DAG. In production only mlgate's service "
        "account may set aliases: check the MLflow permissions of whoever did it.",
    },
    "retrain_requested": {
        "title": "retraining requested",
        "means": "The champion's evidence against itself persisted: drift weighted by feature "
        "importance, drifted predictions, or live quality credibly below its evaluation.",
        "look_at": "The drift report (the plots of the drifted features), the live quality per "
        "slice, and whether the quarantine zone holds recent batches.",
        "do": "Nothing, if the train DAG's candidate passes the promotion gate. If the drift is a "
        "broken feed rather than a changed world, pause retraining (the Airflow Variable) and fix "
        "the feed.",
    },
    "retrain_paused": {
        "title": "retraining wanted, but paused",
        "means": "The monitor would have asked for retraining, but the pause switch is on.",
        "look_at": "Why retraining was paused (who set the Variable, and when), and the report's "
        "evidence.",
        "do": "Set the Variable back to false when the reason is gone; trigger the train DAG by "
        "hand if needed.",
    },
    "data_integrity": {
        "title": "data integrity problem in the monitored window",
        "means": "Some features are far more often missing than in training, or too few rows "
        "passed the gate: those features were left out of drift, which is not judged on broken "
        "data.",
        "look_at": "The report's data checks, the gate's quarantine reasons and the upstream feed "
        "for those days.",
        "do": "Fix or re-deliver the feed (quarantined days can be re-run); do not retrain on it.",
    },
}


def build_alert(report: dict) -> dict | None:
    """The alert a monitor report calls for, with its runbook (None when there is none)."""
    kind = report.get("alert")
    if not kind:
        return None
    book = RUNBOOKS[kind]
    if kind == "champion_outside_gate":
        reasons = [report["champion_outside_gate"]]
    elif kind == "data_integrity":
        reasons = report.get("integrity", {}).get("problems", [])
    else:
        reasons = report.get("reasons") or report.get("evidence", [])
    return {
        "kind": kind,
        "title": f"{report['model']} {report['ds']}: {book['title']}",
        "model": report["model"],
        "ds": report["ds"],
        "champion": report.get("champion"),
        "reasons": reasons,
        "quiet_reasons": report.get("quiet_reasons", []),
        "report": report.get("location"),
        "mlflow_run_id": report.get("mlflow_run_id"),
        "runbook": {k: book[k] for k in ("means", "look_at", "do")},
    }


def alert_text(alert: dict) -> str:
    lines = [
        alert["title"],
        *[f"- {r}" for r in alert["reasons"] + alert["quiet_reasons"]],
        f"What it means: {alert['runbook']['means']}",
        f"What to look at: {alert['runbook']['look_at']}",
        f"What to do: {alert['runbook']['do']}",
        f"Report: {alert['report']}",
    ]
    return "\n".join(lines)


def send(alert: dict) -> list[str]:
    """Deliver an alert to the log and to the channels the environment names; returns
    the channels used."""
    log.warning("mlgate alert: %s", alert_text(alert))
    used = ["log"]
    target = os.environ.get("MLGATE_ALERT_CALLBACK")
    if target:
        module, _, function = target.partition(":")
        getattr(importlib.import_module(module), function)(alert)
        used.append(target)
    webhook = os.environ.get("MLGATE_ALERT_WEBHOOK")
    if webhook:
        request = urllib.request.Request(
            webhook,
            data=json.dumps({"text": alert_text(alert), "alert": alert}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).close()
        used.append("webhook")
    return used
