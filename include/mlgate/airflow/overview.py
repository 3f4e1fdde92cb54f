"""What the mlgate page of the Airflow UI shows, per model, gathered from the MLflow
registry and the lake (plain functions; the plugin only renders and serves them):

- the champion: its version, who promoted it, when, why;
- its history: every promotion (who, when, why, the gate's decision) and every rollback
  (from which version to which, why), newest first;
- the promotion gate's last verdicts on candidates (promote, refuse, ask; not promoted why);
- the data gate's last verdicts per day (passed, or quarantined with the reasons);
- the monitor's last verdict and its trend (drift share by importance, live quality and
  label coverage per day);
- the approvals waiting in Airflow's Required Actions (given by the caller, which reads
  Airflow's metadata DB).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.ingest import docs
from mlgate.lake.names import (
    REASON_FILE,
    REPORT_FILE,
    gate_report_name,
    monitor_name,
    partition_date,
    quarantine_name,
)
from mlgate.lake.store import Lake, LakeError
from mlgate.promote import registry

log = logging.getLogger(__name__)
GATE_FEEDS = ("features", "outcomes")  # the gate's verdicts: reports/<model>-gate-<feed>/


def _time(millis: int | None) -> str | None:
    """A registry time in the form of the promotion tags (`2013-01-26T09:00:00+00:00`)."""
    if not millis:
        return None
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat(timespec="seconds")


def _versions(client, model: str) -> list:
    from mlflow.exceptions import MlflowException

    try:
        found = client.search_model_versions(f"name = '{model}'")
    except MlflowException:
        return []
    return sorted(found, key=lambda mv: int(mv.version))


def registry_story(settings: Settings, model: str, limit: int = 20) -> dict:
    """The champion, the champion history and the promotion gate's last verdicts of
    `model`, from the MLflow registry:

    - `champion`: {version, run_id, promoted_by, promoted_because, promoted_at, decision}
      or None;
    - `previous_champion`: its version or None;
    - `history`: events, newest first: {kind: "promoted", version, at, by, why, decision}
      and {kind: "rolled back", version (the one moved away from), to, at, why}; a rollback's
      time is the registry's last update of the version it moved away from;
    - `candidates`: the last `limit` candidates (newest first): {version, run_id, created,
      decision, reasons, not_promoted, promoted};
    - `lineage`: the champion history's versions, oldest first (what rollback walks back).
    """
    from mlflow.exceptions import MlflowException

    client = tracking.client(settings)
    try:
        registered = client.get_registered_model(model)
    except MlflowException:
        return {
            "champion": None,
            "previous_champion": None,
            "history": [],
            "candidates": [],
            "lineage": [],
        }
    lineage = json.loads(registered.tags.get(tracking.CHAMPION_HISTORY_TAG, "[]"))
    versions = _versions(client, model)
    history = [event for mv in versions for event in _events(mv, versions)]
    history.sort(key=lambda event: event["at"] or "", reverse=True)
    champion = registry.alias_version(client, model, tracking.CHAMPION)  # a search's versions
    previous = registry.alias_version(client, model, tracking.PREVIOUS)  # carry no aliases
    return {
        "champion": champion and _champion(champion),
        "previous_champion": previous and str(previous.version),
        "history": history,
        "candidates": [_candidate(mv) for mv in versions][::-1][:limit],
        "lineage": [str(v) for v in lineage],
    }


def _events(mv, versions: list) -> list[dict]:
    """What the registry says happened to version `mv`: promoted (by whom, when, why), and
    rolled back (to the version restored for the same reason, when, why)."""
    tags, events = mv.tags or {}, []
    if tags.get(tracking.PROMOTED_AT_TAG):
        events.append(
            {
                "kind": "promoted",
                "version": str(mv.version),
                "at": tags[tracking.PROMOTED_AT_TAG],
                "by": tags.get(tracking.PROMOTED_BY_TAG, ""),
                "why": tags.get(tracking.PROMOTED_BECAUSE_TAG, ""),
                "decision": tags.get(tracking.DECISION_TAG, ""),
            }
        )
    if tags.get(tracking.ROLLED_BACK_TAG):
        restored = [
            str(other.version)
            for other in versions
            if (other.tags or {}).get(tracking.RESTORED_TAG) == tags[tracking.ROLLED_BACK_TAG]
            and other.version != mv.version
        ]
        events.append(
            {
                "kind": "rolled back",
                "version": str(mv.version),
                "to": restored[-1] if restored else None,
                "at": _time(mv.last_updated_timestamp),
                "why": tags[tracking.ROLLED_BACK_TAG],
            }
        )
    return events


def _candidate(mv) -> dict:
    """A registered version as a candidate the promotion gate judged (or not yet)."""
    tags = mv.tags or {}
    return {
        "version": str(mv.version),
        "run_id": mv.run_id,
        "created": _time(mv.creation_timestamp),
        "decision": tags.get(tracking.DECISION_TAG, "not judged"),
        "reasons": tags.get(tracking.REASONS_TAG, ""),
        "not_promoted": tags.get(tracking.NOT_PROMOTED_TAG),
        "promoted": bool(tags.get(tracking.PROMOTED_AT_TAG)),
        "window": tags.get(tracking.WINDOW_TAG),
    }


def _champion(mv) -> dict:
    tags = mv.tags or {}
    return {
        "version": str(mv.version),
        "run_id": mv.run_id,
        "promoted_by": tags.get(tracking.PROMOTED_BY_TAG),
        "promoted_because": tags.get(tracking.PROMOTED_BECAUSE_TAG),
        "promoted_at": tags.get(tracking.PROMOTED_AT_TAG),
        "decision": tags.get(tracking.DECISION_TAG),
        "window": tags.get(tracking.WINDOW_TAG),
    }


def _json(lake: Lake, zone: str, name: str, ds: str, filename: str) -> dict | None:
    try:
        return json.loads(lake.read_bytes(zone, name, ds, filename))
    except (LakeError, ValueError) as exc:  # a damaged report is shown as missing, and logged
        log.warning("mlgate page: %s/%s/ds=%s/%s not read: %s", zone, name, ds, filename, exc)
        return None


def gate_verdicts(lake: Lake, spec: Spec, limit: int = 10) -> list[dict]:
    """The data gate's last `limit` verdicts of `spec`'s model, newest day first, over both
    feeds: {ds, feed, passed, rows, reasons, quarantined, page}: `reasons` are the failed
    checks (for a day quarantined and then re-delivered, why it was quarantined), `page` the
    lake path of the day's Data Docs page (in quarantine for a rejected day, else in the docs or the
    reports zone) or None."""
    out = []
    for feed in GATE_FEEDS:
        reports = gate_report_name(spec.model, feed)
        jailed = quarantine_name(spec.model, feed)
        judged = set(lake.list_partitions("reports", reports))
        rejected = set(lake.list_partitions("quarantine", jailed))
        for ds in sorted(judged | rejected)[-limit:]:
            result = _json(lake, "reports", reports, ds, "result.json") if ds in judged else None
            reason = _json(lake, "quarantine", jailed, ds, REASON_FILE) if ds in rejected else None
            verdict = result or reason or {}
            failures = (reason or verdict).get("failures", [])  # a re-delivered day: why it failed
            out.append(
                {
                    "ds": ds,
                    "feed": feed,
                    "passed": bool(verdict.get("success")) if verdict else None,
                    "rows": verdict.get("rows"),
                    "reasons": [f.get("reason", str(f)) for f in failures],
                    "quarantined": reason is not None,
                    "page": data_docs_page(lake, spec, feed, ds),
                }
            )
    out.sort(key=lambda v: (v["ds"], v["feed"]), reverse=True)
    return out[:limit]


def data_docs_page(lake: Lake, spec: Spec, feed: str, ds: str) -> str | None:
    """The lake path of the Data Docs page of the gate's run on `feed` for day `ds`: a
    rejected day's page kept in quarantine first, else the page of the day's last run beside
    the gate's verdict in reports; None when there is none."""
    for page in (
        docs.quarantine_page(spec.model, feed, ds),
        docs.report_page(spec.model, feed, ds),
    ):
        zone, name, day, filename = page.split("/")
        try:
            if lake.exists(zone, name, partition_date(day), filename):
                return page
        except LakeError:  # a store error while drawing a link: no link
            return None
    return None


def monitor_story(lake: Lake, spec: Spec, days: int = 60) -> dict:
    """The monitor's last verdict and its trend over the last `days` reports:
    `last`: {ds, champion, retrain, reasons, quiet_reasons, alert, drifted, page} or None;
    `trend`: per day {ds, champion, drift, drifted_importance, live_auc, coverage, retrain}."""
    from mlgate.lake.names import DRIFT_REPORT_FILE

    name = monitor_name(spec.model)
    trend, last = [], None
    for ds in lake.list_partitions("reports", name)[-days:]:
        report = _json(lake, "reports", name, ds, REPORT_FILE)
        if report is None:
            continue
        drift = report.get("drift") or {}
        live = report.get("live") or {}
        trend.append(
            {
                "ds": ds,
                "champion": report.get("champion"),
                "drift": drift.get("drift"),
                "drifted_importance": drift.get("drifted_importance"),
                "live_auc": live.get("auc"),
                "coverage": live.get("coverage"),
                "retrain": bool(report.get("retrain")),
            }
        )
        last = {
            "ds": ds,
            "champion": report.get("champion"),
            "retrain": bool(report.get("retrain")),
            "reasons": list(report.get("reasons") or []),
            "quiet_reasons": list(report.get("quiet_reasons") or []),
            "alert": report.get("alert"),
            "drifted": list(drift.get("drifted") or []),
            "paused": bool(report.get("paused")),
            "page": f"reports/{name}/ds={ds}/{DRIFT_REPORT_FILE}"
            if lake.exists("reports", name, ds, DRIFT_REPORT_FILE)
            else None,
        }
    return {"last": last, "trend": trend}


def model_overview(
    lake: Lake, settings: Settings, spec: Spec, pending: list[dict] | None = None
) -> dict:
    """Everything the mlgate page shows about `spec`'s model (see the module's doc):
    {model, registry (registry_story), gates (gate_verdicts), monitor (monitor_story),
    pending (the approvals waiting for this model's train DAG)}."""
    train = f"mlgate_{spec.model}_train"
    return {
        "model": spec.model,
        "registry": registry_story(settings, spec.model),
        "gates": gate_verdicts(lake, spec),
        "monitor": monitor_story(lake, spec),
        "pending": [p for p in pending or [] if p.get("dag_id") == train],
    }
