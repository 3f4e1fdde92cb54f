"""`mlgate demo`: the real DAGs, run day by day over a compressed 2013 timeline.

The simulator plays the upstream (features each day, outcomes a day later, one bad
delivery that is re-delivered), and the DAGs run as Airflow would run them: ingest,
score and monitor daily, train on its cron and whenever the monitor emits a retrain
request Asset event. Everything the timeline reports is read back from the lake, the
Airflow metadata DB and the MLflow registry. Task logs go to MLGATE_HOME/demo.log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import sys
import time

from mlgate import tracking
from mlgate.airflow.local import DAGS_FOLDER, UI_PASSWORD, UI_USER, apply
from mlgate.config.settings import load_settings
from mlgate.config.spec import load_spec
from mlgate.demo import simulator
from mlgate.lake.store import Lake

DEMO_SPEC = "flights"
INCIDENT_OFFSET_DAYS = 70  # the bad delivery lands on start + 70 days


@contextlib.contextmanager
def output_to(path):
    """Send this process's stdout and stderr (file descriptors) to a log file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _cron_due(cron: str, day: dt.date) -> bool:
    from croniter import croniter

    start = dt.datetime.combine(day, dt.time())
    nxt = croniter(cron, start - dt.timedelta(seconds=1)).get_next(dt.datetime)
    return nxt.date() == day


def _retrain_events_after(asset_uri: str, last_id: int) -> list:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == asset_uri, AssetEvent.id > last_id)
            .order_by(AssetEvent.id)
            .all()
        )
        return [(e.id, dict(e.extra or {})) for e in rows]


def run_demo(start: str, end: str, fresh: bool = True, echo=print) -> int:
    settings = load_settings()
    began = time.monotonic()
    if fresh and settings.home.exists():
        shutil.rmtree(settings.home)
    settings.home.mkdir(parents=True, exist_ok=True)
    log_path = settings.home / "demo.log"
    echo(f"mlgate demo: {start} .. {end}, state in {settings.home} (task logs: {log_path})")
    os.environ.setdefault(
        "MLFLOW_LOGGING_LEVEL", "WARNING"
    )  # progress lines only; details go to the log
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with output_to(log_path):
        apply(settings)

    from airflow.dag_processing.dagbag import DagBag

    from mlgate.airflow import dagkit
    from mlgate.promote import registry

    spec = load_spec(DEMO_SPEC)
    with output_to(log_path):
        bag = DagBag(str(DAGS_FOLDER))
    if bag.import_errors:
        echo(f"DAG import errors: {bag.import_errors}")
        return 1
    dags = {
        kind: bag.get_dag(dagkit.dag_id(spec, kind))
        for kind in ("ingest", "train", "score", "monitor")
    }
    lake = Lake.from_uri(settings.lake_uri)
    client = tracking.client(settings)
    timeline: list[dict] = []
    last_event = 0
    incident_day = (
        dt.date.fromisoformat(start) + dt.timedelta(days=INCIDENT_OFFSET_DAYS)
    ).isoformat()
    request_uri = dagkit.retrain_request_asset(spec).uri

    def run(kind: str, ds: str, **conf):
        with output_to(log_path):
            dag_run = dags[kind].test(
                logical_date=dt.datetime.fromisoformat(ds).replace(tzinfo=dt.timezone.utc),
                run_conf=conf or None,
            )
        return str(dag_run.state)

    def champion():
        return registry.alias_version_number(client, spec.model, tracking.CHAMPION)

    def train(ds: str, trigger: str, reason: str):
        before = champion()
        state = run("train", ds, trigger=trigger, gray_zone="refuse")  # unattended: nobody answers
        versions = [
            mv
            for mv in client.search_model_versions(f"name='{spec.model}'")
            if mv.tags.get(tracking.DS_TAG) == ds
        ]
        if not versions:
            timeline.append(
                {
                    "date": ds,
                    "event": f"train ({trigger}) skipped",
                    "version": before or "-",
                    "metric": "",
                    "reason": "not enough labelled days"
                    if state == "success"
                    else f"run {state}, see {log_path}",
                }
            )
            return
        mv = max(versions, key=lambda v: int(v.version))
        auc = mv.tags.get(tracking.EVAL_AUC_TAG, "")
        promoted = champion() != before
        refused = (
            "gray zone, unattended: refused"
            if mv.tags.get(tracking.DECISION_TAG) == "ask"
            else "candidate refused"
        )
        event = ("first champion" if before is None else "promoted") if promoted else refused
        timeline.append(
            {
                "date": ds,
                "event": f"{event} ({trigger})",
                "version": f"v{mv.version}",
                "metric": f"eval AUC {float(auc):.4f}" if auc else "",
                "reason": f"{reason}; " * bool(reason) + mv.tags.get(tracking.REASONS_TAG, ""),
            }
        )

    for ds in simulator.dates(start, end):
        day = dt.date.fromisoformat(ds)
        simulator.deliver_features(lake, ds)
        previous = (day - dt.timedelta(days=1)).isoformat()
        if previous >= start:
            simulator.deliver_outcomes(lake, previous)
        if ds == incident_day:
            _deliver_broken(lake, ds)
            run("ingest", ds)
            reason = json.loads(lake.read_bytes("quarantine", spec.model, ds, "_reason.json"))
            timeline.append(
                {
                    "date": ds,
                    "event": "batch quarantined",
                    "version": f"v{champion()}" if champion() else "-",
                    "metric": "",
                    "reason": reason["failures"][0]["reason"]
                    + (
                        f" (+{len(reason['failures']) - 1} more failed check(s))"
                        if len(reason["failures"]) > 1
                        else ""
                    ),
                }
            )
            simulator.deliver_features(lake, ds)  # the upstream fixes and re-delivers
            timeline.append(
                {
                    "date": ds,
                    "event": "re-delivered, re-run",
                    "version": f"v{champion()}" if champion() else "-",
                    "metric": "",
                    "reason": "upstream fixed the feed; the operator re-ran the day",
                }
            )
        state = run("ingest", ds)
        line = f"{ds} ingest {state}"
        if _cron_due(spec.section("schedule")["train_cron"], day):
            train(ds, "schedule", "")
        if champion() and lake.exists("validated", spec.model, ds):
            line += f" | score {run('score', ds)} v{champion()}"
            run("monitor", ds)
            report = json.loads(
                lake.read_bytes("reports", f"{spec.model}-monitor", ds, "report.json")
            )
            live = report.get("live", {})
            if "auc" in live:
                line += f" | live AUC {live['auc']:.3f} on {live['labelled_rows']} labelled ({live['coverage']:.0%})"
            line += f" | drift {report.get('drift', {}).get('drifted_share', 0):.0%}"
            for _, extra in _retrain_events_after(request_uri, last_event):
                timeline.append(
                    {
                        "date": ds,
                        "event": "retrain requested (monitor)",
                        "version": f"v{champion()}",
                        "metric": f"live AUC {live.get('auc', float('nan')):.4f}",
                        "reason": "; ".join(extra.get("reasons", [])),
                    }
                )
                train(ds, "retrain_request", "")
            events = _retrain_events_after(request_uri, 0)
            last_event = events[-1][0] if events else 0
        echo(line, flush=True) if echo is print else echo(line)
    elapsed = time.monotonic() - began
    echo("")
    echo(format_timeline(timeline))
    echo(f"\ndemo finished in {elapsed / 60:.1f} min; champion is v{champion()}.")
    echo(ui_instructions(settings))
    return 0


def _deliver_broken(lake: Lake, ds: str) -> None:
    """An upstream release lower-cases the carrier codes ('UA' becomes 'ua')."""
    features, _ = simulator.day_frames(ds)
    broken = features.assign(carrier=features["carrier"].str.lower())
    lake.write_landing(
        simulator.FEATURES_FEED, ds, simulator.FEATURES_FILE, simulator.to_csv_bytes(broken)
    )


def format_timeline(rows: list[dict]) -> str:
    """The timeline as a plain table: date, event, model version, key metric, reason."""
    header = ["date", "event", "model", "key metric", "reason"]
    table = [[r["date"], r["event"], str(r["version"]), r["metric"], r["reason"]] for r in rows]
    widths = [
        max(len(h), *(len(row[i]) for row in table)) if table else len(h)
        for i, h in enumerate(header[:-1])
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header[:-1], widths)) + "  reason"]
    lines.append("  ".join("-" * w for w in widths) + "  ------")
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row[:-1], widths)) + "  " + row[-1] for row in table
    ]
    return "\n".join(lines)


def ui_instructions(settings) -> str:
    return (
        "\nOpen the UIs on this state:  make up\n"
        f"  Airflow UI  http://localhost:8080  (login {UI_USER} / {UI_PASSWORD}; DAGs mlgate_flights_late_*)\n"
        "  MLflow UI   http://localhost:5000  (experiment flights_late, model flights_late with its aliases)\n"
        f"  lake        {settings.lake_uri}\n"
    )
