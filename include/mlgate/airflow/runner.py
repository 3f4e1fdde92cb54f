"""`mlgate run`: the spec's real DAGs, day by day, over the days whose landing data exists.

As Airflow would run them: `ingest`, `score` and `monitor` daily, `train` on the spec's
`train_cron` and whenever `monitor` emits a retrain request Asset event. The DAGs run with
`dag.test()` in the current MLGATE_HOME; nothing is deleted. Everything the timeline
reports is read back from the lake, the Airflow metadata DB and the MLflow registry.
A gate's refusal (a quarantined batch) and a refused candidate are outcomes, not errors;
a task that fails otherwise is counted, and `mlgate run` exits 1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
import threading
import time
from unittest import mock

from mlgate import tracking
from mlgate.airflow.local import DAGS_FOLDER, apply
from mlgate.ingest.landing import landed
from mlgate.lake.names import REASON_FILE, REPORT_FILE, dates, monitor_name, outcomes_name
from mlgate.lake.store import Lake

TIMELINE_KEYS = ("date", "event", "model_version", "metric", "reason")
GRAY_ZONE_LEFT = "gray zone, unattended: left to live evidence"  # a train event of the timeline
SETTLED = "gray zone settled by live evidence"  # a monitor event: "<SETTLED>: promoted | refused"
WATCH_ROLLBACK = "rolled back by the watch"  # a monitor event
SUPERSEDED = "gray zone superseded by a newer candidate"  # a monitor event


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


def _forward_lines(read_fd: int, raw_fd: int, logger_name: str, level: str) -> None:
    """Copy what a task writes to stdout or stderr: each line to the task's log (as Airflow's
    supervisor does, logger `task.stdout` / `task.stderr`) and, as is, to the run's log."""
    import structlog

    log = structlog.get_logger(logger_name)
    with os.fdopen(read_fd, "rb") as pipe:
        for line in pipe:
            with contextlib.suppress(OSError):
                os.write(raw_fd, line)
            with contextlib.suppress(Exception):  # the task's log may be closed already
                getattr(log, level)(line.rstrip(b"\n").decode("utf-8", errors="replace"))


# What runs in this process around a task but is not its log on a worker: dag.test()'s loop
# and the in-process Execution API server (in Airflow they log elsewhere).
NOT_THE_TASKS_OWN = ("airflow.sdk.definitions.dag", "airflow.api_fastapi")


def _not_the_tasks_own(logger, method_name, event_dict):
    """A structlog processor that keeps NOT_THE_TASKS_OWN out of a task's log (the records
    of Python's logging are filtered by their handler: `_the_tasks_own`)."""
    import structlog

    own = not str(event_dict.get("logger", "")).startswith(NOT_THE_TASKS_OWN)
    if own or "_record" in event_dict:
        return event_dict
    raise structlog.DropEvent


def _the_tasks_own(record: logging.LogRecord) -> bool:
    """A logging filter: not a record of NOT_THE_TASKS_OWN."""
    return not record.name.startswith(NOT_THE_TASKS_OWN)


@contextlib.contextmanager
def task_log(ti):
    """While a task instance runs in this process (`dag.test()`), write its log where the
    Airflow UI reads it: the file task handler's file for its try
    (`dag_id=.../run_id=.../task_id=.../attempt=N.log` under the base log folder), as JSON
    lines, with the task's logging and its stdout and stderr. What it prints still reaches
    the run's log too."""
    import structlog
    from airflow.configuration import conf
    from airflow.logging_config import configure_logging as configure_process_logging
    from airflow.sdk._shared.logging import configure_logging
    from airflow.sdk.log import init_log_file, reset_logging
    from airflow.utils.log.file_task_handler import FileTaskHandler

    handler = FileTaskHandler(conf.get("logging", "base_log_folder"))
    path = init_log_file(handler._render_filename(ti, ti.try_number))
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    hook = sys.excepthook
    with open(path, "ab", buffering=0) as log_file:
        reset_logging()
        configure_logging(
            json_output=True,
            log_level=conf.get("logging", "logging_level", fallback="INFO"),
            output=log_file,
            cache_logger_on_first_use=False,
            extra_processors=[_not_the_tasks_own],
        )
        for log_handler in logging.getLogger().handlers:
            log_handler.addFilter(_the_tasks_own)
        forwarders = []
        for fd, name, level in ((1, "task.stdout", "info"), (2, "task.stderr", "error")):
            read_fd, write_fd = os.pipe()
            os.dup2(write_fd, fd)
            os.close(write_fd)
            thread = threading.Thread(
                target=_forward_lines, args=(read_fd, saved[fd - 1], name, level), daemon=True
            )
            thread.start()
            forwarders.append(thread)
        streams = sys.stdout, sys.stderr  # Python's own, or a test runner's capture
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        try:
            yield path
        finally:
            sys.stdout.close()
            sys.stderr.close()
            sys.stdout, sys.stderr = streams
            os.dup2(saved[0], 1)  # closes the pipes' last write ends: the forwarders finish
            os.dup2(saved[1], 2)
            for thread in forwarders:
                thread.join(timeout=10)  # a child process the task left running holds a pipe
            reset_logging()
            structlog.reset_defaults()
            configure_process_logging()
            sys.excepthook = hook
            os.close(saved[0])
            os.close(saved[1])


def _run_with_log(run_task):
    """dag.test()'s `_run_task`, with the task instance's log written for the UI."""

    def run(*, ti, task, run_triggerer: bool = False):
        with task_log(ti):
            return run_task(ti=ti, task=task, run_triggerer=run_triggerer)

    return run


def run_id_for(ds: str, now) -> str:
    """The id of a run `mlgate run` makes for day `ds`: the day first, so that an operator
    finds a day's runs in the Airflow UI's list, then when it ran (a day's re-run differs)."""
    return f"{RUN_USER}__{ds}__{now.isoformat(timespec='microseconds')}"


def _create_run(get_or_create, ds: str):
    """dag.test()'s `get_or_create_dagrun`, named after the day `ds` (run_id_for), started
    now (not at its logical date, the data's day) and by `mlgate`. A run with a logical
    date replaces the day's run, as dag.test() does (Airflow keeps one run per logical
    date); a run without one (a day's re-run: the day is in its conf) is a run of its own,
    next to the others."""

    def create(*, dag, run_id, logical_date, data_interval, run_after, conf, session, **kwargs):
        from airflow.sdk import DagRunState, timezone
        from airflow.utils.types import DagRunType

        now = timezone.utcnow()
        run_id = run_id_for(ds, now)
        if logical_date is not None:
            kwargs.update(start_date=now, triggering_user_name=RUN_USER)
            return get_or_create(
                dag=dag,
                run_id=run_id,
                logical_date=logical_date,
                data_interval=data_interval,
                run_after=run_after,
                conf=conf,
                session=session,
                **kwargs,
            )
        return dag.create_dagrun(
            run_id=run_id,
            logical_date=None,
            data_interval=None,
            run_after=run_after,
            conf=conf,
            run_type=DagRunType.MANUAL,
            state=DagRunState.RUNNING,
            triggered_by=kwargs["triggered_by"],
            triggering_user_name=RUN_USER,
            start_date=now,
            session=session,
        )

    return create


RUN_USER = "mlgate"  # who triggered the runs `mlgate run` and `mlgate demo` make


@contextlib.contextmanager
def as_the_ui_sees_it(ds: str):
    """Runs made by `dag.test()` for day `ds` as a user of the Airflow UI expects them: named
    after the day, every task's log in the file the UI reads, the run's start and end when
    it ran (its logical date and data interval stay the data's day), a re-run without a
    logical date its own run (it clears no other run's tasks)."""
    import airflow.models.dagrun as dagrun_module
    import airflow.sdk.definitions.dag as dag_module
    from airflow.serialization.definitions.dag import SerializedDAG

    clear = SerializedDAG.clear_dags.__func__

    def clear_the_day(cls, dags, *, start_date=None, end_date=None, **kwargs):
        if start_date is None:  # no logical date: a new run, nothing of another run to clear
            return 0
        return clear(cls, dags, start_date=start_date, end_date=end_date, **kwargs)

    with (
        mock.patch.object(dag_module, "_run_task", _run_with_log(dag_module._run_task)),
        mock.patch.object(
            dagrun_module,
            "get_or_create_dagrun",
            _create_run(dagrun_module.get_or_create_dagrun, ds),
        ),
        mock.patch.object(SerializedDAG, "clear_dags", classmethod(clear_the_day)),
    ):
        yield


class _Parked(Exception):
    """A run's task waits for a person (Airflow's AWAITING_INPUT): dag.test() stops here."""


def _awaiting_input(dag_id: str) -> set[tuple[str, str]]:
    """The (run id, task id) of the DAG's tasks that wait for a person's answer."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState

    with create_session() as session:
        rows = (
            session.query(TaskInstance.run_id, TaskInstance.task_id)
            .filter(
                TaskInstance.dag_id == dag_id,
                TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
            )
            .all()
        )
        return {(run_id, task_id) for run_id, task_id in rows}


def _hand_over_to_the_scheduler(dag_id: str) -> None:
    """Unpause the DAG (the scheduler runs no task of a paused DAG's runs, an answered
    approval included) and drop its queued Asset triggers (the runner already acted on each
    retrain request, as the scheduler would have)."""
    from airflow.models.asset import AssetDagRunQueue
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id == dag_id).update({"is_paused": False})
        session.query(AssetDagRunQueue).filter(AssetDagRunQueue.target_dag_id == dag_id).delete()


def cron_due(cron: str, day: dt.date) -> bool:
    """Whether the cron fires on `day`."""
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


def prepare(settings, spec, log_path) -> None:
    """The local Airflow on the home (its metadata DB migrated once), quiet MLflow logs, and
    the spec's folder as the DAGs' specs folder when the spec lives elsewhere."""
    if spec.path.resolve().parent != settings.specs_dir:
        os.environ["MLGATE_SPECS_DIR"] = str(spec.path.resolve().parent)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    settings.home.mkdir(parents=True, exist_ok=True)
    with output_to(log_path):
        apply(settings)


def load_dags(spec, log_path) -> dict:
    """The spec's four DAGs from the DAGs folder; RuntimeError when a DAG file does not
    import. Airflow is imported here, once `apply` has configured it."""
    from airflow.dag_processing.dagbag import DagBag

    from mlgate.airflow import dagkit

    with output_to(log_path):
        bag = DagBag(str(DAGS_FOLDER))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    found = {kind: bag.get_dag(dagkit.dag_id(spec, kind)) for kind in KINDS}
    missing = [dagkit.dag_id(spec, k) for k, d in found.items() if d is None]
    if missing:
        raise RuntimeError(f"no DAG {', '.join(missing)} in {DAGS_FOLDER}")
    return found


KINDS = ("ingest", "train", "score", "monitor")


def format_timeline(rows: list[dict]) -> str:
    """The timeline as a plain table: date, event, model version, key metric, reason."""
    header = ["date", "event", "model", "key metric", "reason"]
    table = [[str(r[k]) for k in TIMELINE_KEYS] for r in rows]
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


def timeline_json_lines(rows: list[dict]) -> str:
    """The timeline as one JSON object per line, with the keys TIMELINE_KEYS."""
    return "\n".join(json.dumps({k: row[k] for k in TIMELINE_KEYS}) for row in rows)


LIVE_METRICS = (("auc", "AUC", 3), ("rmse", "RMSE", 2))  # key, name, digits in progress


def _live_figure(live: dict) -> tuple[str, str, int] | None:
    """Which live figure a monitor report carries: AUC, or RMSE for a regression (None
    before labels have matured)."""
    return next((m for m in LIVE_METRICS if m[0] in live), None)


def _live_metric(live: dict) -> str:
    """The live quality a retrain request is noted with."""
    figure = _live_figure(live)
    if figure is None:
        return "live quality not judged yet"
    return f"live {figure[1]} {live[figure[0]]:.4f}"


def live_progress(live: dict) -> str:
    """A day's live quality in the progress line (nothing before labels have matured)."""
    figure = _live_figure(live)
    if figure is None:
        return ""
    key, name, digits = figure
    return (
        f" | live {name} {live[key]:.{digits}f} on {live['labelled_rows']} labelled "
        f"({live['coverage']:.0%})"
    )


class Runner:
    """One run's state: the DAGs, the lake, the registry, the timeline and the failures."""

    def __init__(self, settings, spec, dags: dict, log_path):
        from mlgate.airflow import dagkit

        self.spec, self.dags, self.log_path = spec, dags, log_path
        self.lake = Lake.from_uri(settings.lake_uri)
        self.client = tracking.client(settings)
        self.timeline: list[dict] = []
        self.failures: list[str] = []
        self.played: set[tuple[str, str]] = set()  # (DAG kind, day) run by this Runner
        self.request_uri = dagkit.retrain_request_asset(spec).uri
        events = _retrain_events_after(self.request_uri, 0)
        self.last_event = events[-1][0] if events else 0

    def run(self, kind: str, ds: str, **conf) -> str:
        """Run one DAG for day `ds` (its logical date: local midnight in the spec's time
        zone), its output to the log; returns its state. A DAG that already ran for the day
        in this Runner runs again as a run of its own (`rerun`)."""
        from mlgate.airflow import dagkit

        if (kind, ds) in self.played:
            return self.rerun(kind, ds, **conf)
        self.played.add((kind, ds))

        with output_to(self.log_path), as_the_ui_sees_it(ds):
            dag_run = self.dags[kind].test(
                logical_date=dagkit.day_start(self.spec, ds), run_conf=conf or None
            )
        return str(dag_run.state)

    def ask(self, ds: str, trigger: str) -> str | None:
        """Train for day `ds` again in a run of its own that asks a person in the gray zone
        (`gray_zone="ask"`), and leave it there: its `approve` task waits in Airflow's
        Required Actions with the promotion card, and the train DAG is unpaused so that an
        answer given there (in `make up`) lets the scheduler finish the run (promote, or
        release the challenger). Returns the waiting run's id, or None when the run ended
        without asking (the candidate is no longer in the gray zone)."""
        from mlgate.airflow import dagkit

        dag_id = dagkit.dag_id(self.spec, "train")
        waiting_before = _awaiting_input(dag_id)
        real_sleep = time.sleep

        def sleep(seconds):  # dag.test() waits for the answer in this loop: stop waiting
            if _awaiting_input(dag_id) - waiting_before:
                raise _Parked
            real_sleep(seconds)

        try:
            with mock.patch.object(time, "sleep", sleep):
                self.rerun("train", ds, trigger=trigger, gray_zone="ask")
        except _Parked:
            pass
        waiting = _awaiting_input(dag_id) - waiting_before
        if not waiting:
            return None
        _hand_over_to_the_scheduler(dag_id)
        return sorted(waiting)[0][0]

    def rerun(self, kind: str, ds: str, **conf) -> str:
        """Run one DAG again for day `ds` as a run of its own (no logical date; the day is
        its conf's `ds`), as an operator re-runs a day from the Airflow UI: the day's earlier
        run stays as it ended. Returns its state."""
        with output_to(self.log_path), as_the_ui_sees_it(ds):
            dag_run = self.dags[kind].test(logical_date=None, run_conf={"ds": ds, **conf})
        return str(dag_run.state)

    def champion(self):
        """The champion's version number (None before the first promotion)."""
        from mlgate.promote import registry

        return registry.alias_version_number(self.client, self.spec.model, tracking.CHAMPION)

    def served(self) -> str:
        """The champion as the timeline shows it ("v3", or "-" before the first)."""
        return f"v{self.champion()}" if self.champion() else "-"

    def note(self, ds: str, event: str, version, metric: str, reason: str) -> None:
        """Add an event to the timeline."""
        self.timeline.append(
            {
                "date": ds,
                "event": event,
                "model_version": version,
                "metric": metric,
                "reason": reason,
            }
        )

    def failed(self, ds: str, what: str) -> None:
        """A task failed for another reason than a gate's verdict: noted and counted."""
        self.failures.append(f"{ds} {what}")
        self.note(ds, f"{what} failed", self.served(), "", f"see {self.log_path}")

    def play_day(self, ds: str, before_ingest=None) -> str:
        """Run the day's DAGs; returns the day's progress line. `before_ingest(runner, ds)`
        is called first (the demo's incident)."""
        if before_ingest is not None:
            before_ingest(self, ds)
        line = f"{ds} ingest {self.ingest(ds)}"
        if cron_due(self.spec.section("schedule")["train_cron"], dt.date.fromisoformat(ds)):
            self.train(ds, "schedule", "")
        if self.champion() and self.lake.exists("validated", self.spec.model, ds):
            line += self.score_and_monitor(ds)
        return line

    def ingest(self, ds: str) -> str:
        """Run ingest; a quarantined batch (features or the day before's outcomes) is noted
        with its reason, any other failure counted."""
        state = self.run("ingest", ds)
        if state == "success":
            return state
        model = self.spec.model
        label_day = (
            dt.date.fromisoformat(ds)
            - dt.timedelta(days=int(self.spec.outcomes_feed["delay_days"]))
        ).isoformat()
        if not self.lake.exists("validated", model, ds) and self.lake.exists(
            "quarantine", model, ds
        ):
            self.note_quarantine(ds, model, ds, "batch quarantined")
        elif self.lake.exists("quarantine", outcomes_name(model), label_day):
            self.note_quarantine(ds, outcomes_name(model), label_day, "outcomes quarantined")
        else:
            self.failed(ds, "ingest")
        return state

    def note_quarantine(self, ds: str, name: str, day: str, event: str) -> None:
        """Note a quarantined partition with the gate's first reason."""
        reason = json.loads(self.lake.read_bytes("quarantine", name, day, REASON_FILE))
        failures = reason["failures"]
        self.note(
            ds,
            event,
            self.served(),
            "",
            failures[0]["reason"]
            + (f" (+{len(failures) - 1} more failed check(s))" if len(failures) > 1 else ""),
        )

    def score_and_monitor(self, ds: str) -> str:
        """Score and monitor the day, train on each retraining request; returns the
        progress line's part for them."""
        state = self.run("score", ds)
        if state != "success":
            self.failed(ds, "score")
        line = f" | score {state} v{self.champion()}"
        if self.run("monitor", ds) != "success":
            self.failed(ds, "monitor")
            return line + " | monitor failed"
        report = json.loads(
            self.lake.read_bytes("reports", monitor_name(self.spec.model), ds, REPORT_FILE)
        )
        live = report.get("live", {})
        self.note_live_decisions(ds, report.get("decisions") or {})
        line += live_progress(live)
        line += f" | drifted importance {report.get('drift', {}).get('drifted_importance', 0):.0%}"
        for event_id, extra in _retrain_events_after(self.request_uri, self.last_event):
            self.last_event = event_id
            self.note(
                ds,
                "retrain requested (monitor)",
                f"v{self.champion()}",
                _live_metric(live),
                "; ".join(extra.get("reasons", [])),
            )
            self.train(ds, "retrain_request", "")
        return line

    def note_live_decisions(self, ds: str, decisions: dict) -> None:
        """Note what the monitor decided on live labels: a gray zone superseded or settled,
        a champion rolled back by the watch."""
        for gone in decisions.get("superseded") or []:
            self.note(ds, SUPERSEDED, f"v{gone['version']}", "", gone["why"])
        settled, watch = decisions.get("settled") or {}, decisions.get("watch") or {}
        if settled.get("outcome") in ("promoted", "refused"):
            event = f"{SETTLED}: {settled['outcome']}"
            self.note(ds, event, f"v{settled['version']}", "", settled["why"])
        if watch.get("outcome") == "rolled back":
            self.note(ds, WATCH_ROLLBACK, f"v{watch['champion']}", "", watch["why"])

    def train(self, ds: str, trigger: str, reason: str) -> None:
        """Run the train DAG (unattended: a gray zone is left to live evidence) and note
        what became of its candidate."""
        before = self.champion()
        state = self.run("train", ds, trigger=trigger, gray_zone="evidence")
        versions = [
            mv
            for mv in self.client.search_model_versions(f"name='{self.spec.model}'")
            if mv.tags.get(tracking.DS_TAG) == ds
        ]
        if not versions:
            if state != "success":
                self.failures.append(f"{ds} train")
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
        name, tag = (
            ("RMSE", tracking.EVAL_RMSE_TAG)
            if self.spec.is_regression
            else (
                "AUC",
                tracking.EVAL_AUC_TAG,
            )
        )
        value = mv.tags.get(tag, "")
        self.note(
            ds,
            f"{self.outcome(mv, before)} ({trigger})",
            f"v{mv.version}",
            f"eval {name} {float(value):.4f}" if value else "",
            f"{reason}; " * bool(reason) + mv.tags.get(tracking.REASONS_TAG, ""),
        )

    def outcome(self, mv, before: str | None) -> str:
        """What became of candidate `mv` (the champion was `before`): first champion,
        promoted, or refused. A re-run reuses the version it trained the first time and
        tells the same story."""
        from mlgate.promote import registry

        decision = mv.tags.get(tracking.DECISION_TAG)
        reused_champion = str(mv.version) == str(before) and decision == "promote"
        if self.champion() == before and not reused_champion:
            return GRAY_ZONE_LEFT if decision == "ask" else "candidate refused"
        history = registry.champion_history(self.client, self.spec.model)
        return "first champion" if history and history[0] == str(mv.version) else "promoted"


def run_days(runner: Runner, start: str, end: str, echo, hooks: dict | None = None) -> list[str]:
    """Play every day in [start, end] whose features have landed; returns the days played."""
    played = []
    for ds in dates(start, end):
        if not landed(runner.lake, runner.spec, ds):
            continue
        echo(runner.play_day(ds, (hooks or {}).get(ds)))
        played.append(ds)
    return played


def run_spec(settings, spec, start: str, end: str, echo=print, hooks=None, log_name="run.log"):
    """`mlgate run`: prepare the home, load the spec's DAGs and play [start, end]; prints a
    progress line per day (through `echo`). Returns the Runner (its timeline and failures).
    RuntimeError when the DAGs cannot be loaded."""
    log_path = settings.home / log_name
    prepare(settings, spec, log_path)
    runner = Runner(settings, spec, load_dags(spec, log_path), log_path)
    run_days(runner, start, end, echo, hooks)
    return runner
