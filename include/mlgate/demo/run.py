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
    """Play the timeline from `start` to `end` through the real DAGs, one line a day, then
    print the timeline of events; returns the exit code."""
    settings = load_settings()
    began = time.monotonic()
    log_path = _prepare_home(settings, fresh)
    echo(f"mlgate demo: {start} .. {end}, state in {settings.home} (task logs: {log_path})")
    os.environ.setdefault(
        "MLFLOW_LOGGING_LEVEL", "WARNING"
    )  # progress lines only; details go to the log
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with output_to(log_path):
        apply(settings)
    spec = load_spec(DEMO_SPEC)
    dags = _load_dags(spec, log_path, echo)
    if dags is None:
        return 1
    demo = _Demo(settings, spec, dags, log_path)
    incident_day = (
        dt.date.fromisoformat(start) + dt.timedelta(days=INCIDENT_OFFSET_DAYS)
    ).isoformat()
    for ds in simulator.dates(start, end):
        line = demo.play_day(ds, start, incident_day)
        echo(line, flush=True) if echo is print else echo(line)
    elapsed = time.monotonic() - began
    echo("")
    echo(format_timeline(demo.timeline))
    echo(f"\ndemo finished in {elapsed / 60:.1f} min; champion is v{demo.champion()}.")
    echo(ui_instructions(settings))
    return 0


def _prepare_home(settings, fresh: bool):
    """Empty the mlgate home when `fresh`, create it; returns the task log's path."""
    if fresh and settings.home.exists():
        shutil.rmtree(settings.home)
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings.home / "demo.log"


def _load_dags(spec, log_path, echo) -> dict | None:
    """The spec's four DAGs from the DAGs folder (None, after saying why, when a DAG file
    does not import). Airflow is imported here, once `apply` has configured it."""
    from airflow.dag_processing.dagbag import DagBag

    from mlgate.airflow import dagkit

    with output_to(log_path):
        bag = DagBag(str(DAGS_FOLDER))
    if bag.import_errors:
        echo(f"DAG import errors: {bag.import_errors}")
        return None
    return {
        kind: bag.get_dag(dagkit.dag_id(spec, kind))
        for kind in ("ingest", "train", "score", "monitor")
    }


class _Demo:
    """One demo's state: the DAGs, the lake, the registry and the timeline of events."""

    def __init__(self, settings, spec, dags: dict, log_path):
        from mlgate.airflow import dagkit

        self.spec, self.dags, self.log_path = spec, dags, log_path
        self.lake = Lake.from_uri(settings.lake_uri)
        self.client = tracking.client(settings)
        self.timeline: list[dict] = []
        self.last_event = 0
        self.request_uri = dagkit.retrain_request_asset(spec).uri

    def run(self, kind: str, ds: str, **conf) -> str:
        """Run one DAG for day `ds` (its logical date: local midnight in the spec's time
        zone), its output to the log; returns its state."""
        from mlgate.airflow import dagkit

        with output_to(self.log_path):
            dag_run = self.dags[kind].test(
                logical_date=dagkit.day_start(self.spec, ds),
                run_conf=conf or None,
            )
        return str(dag_run.state)

    def champion(self):
        """The champion's version number (None before the first promotion)."""
        from mlgate.promote import registry

        return registry.alias_version_number(self.client, self.spec.model, tracking.CHAMPION)

    def note(self, ds: str, event: str, version, metric: str, reason: str) -> None:
        """Add an event to the timeline."""
        self.timeline.append(
            {"date": ds, "event": event, "version": version, "metric": metric, "reason": reason}
        )

    def play_day(self, ds: str, start: str, incident_day: str) -> str:
        """Deliver the day (and the day before's outcomes), run its DAGs; returns the day's
        progress line."""
        spec, lake = self.spec, self.lake
        day = dt.date.fromisoformat(ds)
        simulator.deliver_features(lake, ds)
        previous = (day - dt.timedelta(days=1)).isoformat()
        if previous >= start:
            simulator.deliver_outcomes(lake, previous)
        if ds == incident_day:
            self.incident(ds)
        state = self.run("ingest", ds)
        line = f"{ds} ingest {state}"
        if _cron_due(spec.section("schedule")["train_cron"], day):
            self.train(ds, "schedule", "")
        if self.champion() and lake.exists("validated", spec.model, ds):
            line += self.score_and_monitor(ds)
        return line

    def incident(self, ds: str) -> None:
        """A broken delivery: the gate quarantines it, upstream re-delivers."""
        _deliver_broken(self.lake, ds)
        self.run("ingest", ds)
        reason = json.loads(self.lake.read_bytes("quarantine", self.spec.model, ds, "_reason.json"))
        failures = reason["failures"]
        self.note(
            ds,
            "batch quarantined",
            f"v{self.champion()}" if self.champion() else "-",
            "",
            failures[0]["reason"]
            + (f" (+{len(failures) - 1} more failed check(s))" if len(failures) > 1 else ""),
        )
        simulator.deliver_features(self.lake, ds)  # the upstream fixes and re-delivers
        self.note(
            ds,
            "re-delivered, re-run",
            f"v{self.champion()}" if self.champion() else "-",
            "",
            "upstream fixed the feed; the operator re-ran the day",
        )

    def score_and_monitor(self, ds: str) -> str:
        """Score and monitor the day, train on each retraining request; returns the
        progress line's part for them."""
        spec = self.spec
        line = f" | score {self.run('score', ds)} v{self.champion()}"
        self.run("monitor", ds)
        report = json.loads(
            self.lake.read_bytes("reports", f"{spec.model}-monitor", ds, "report.json")
        )
        live = report.get("live", {})
        if "auc" in live:
            line += (
                f" | live AUC {live['auc']:.3f} on {live['labelled_rows']} labelled "
                f"({live['coverage']:.0%})"
            )
        line += f" | drift {report.get('drift', {}).get('drifted_share', 0):.0%}"
        for _, extra in _retrain_events_after(self.request_uri, self.last_event):
            self.note(
                ds,
                "retrain requested (monitor)",
                f"v{self.champion()}",
                f"live AUC {live.get('auc', float('nan')):.4f}",
                "; ".join(extra.get("reasons", [])),
            )
            self.train(ds, "retrain_request", "")
        events = _retrain_events_after(self.request_uri, 0)
        self.last_event = events[-1][0] if events else 0
        return line

    def train(self, ds: str, trigger: str, reason: str) -> None:
        """Run the train DAG and note what became of its candidate."""
        spec, client = self.spec, self.client
        before = self.champion()
        # unattended: nobody answers
        state = self.run("train", ds, trigger=trigger, gray_zone="refuse")
        versions = [
            mv
            for mv in client.search_model_versions(f"name='{spec.model}'")
            if mv.tags.get(tracking.DS_TAG) == ds
        ]
        if not versions:
            self.note(
                ds,
                f"train ({trigger}) skipped",
                before or "-",
                "",
                "not enough labelled days"
                if state == "success"
                else f"run {state}, see {self.log_path}",
            )
            return
        mv = max(versions, key=lambda v: int(v.version))
        auc = mv.tags.get(tracking.EVAL_AUC_TAG, "")
        promoted = self.champion() != before
        refused = (
            "gray zone, unattended: refused"
            if mv.tags.get(tracking.DECISION_TAG) == "ask"
            else "candidate refused"
        )
        event = ("first champion" if before is None else "promoted") if promoted else refused
        self.note(
            ds,
            f"{event} ({trigger})",
            f"v{mv.version}",
            f"eval AUC {float(auc):.4f}" if auc else "",
            f"{reason}; " * bool(reason) + mv.tags.get(tracking.REASONS_TAG, ""),
        )


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
        f"  Airflow UI  http://localhost:8080  (login {UI_USER} / {UI_PASSWORD}; "
        "DAGs mlgate_flights_late_*)\n"
        "  MLflow UI   http://localhost:5000  "
        "(experiment flights_late, model flights_late with its aliases)\n"
        f"  lake        {settings.lake_uri}\n"
    )
