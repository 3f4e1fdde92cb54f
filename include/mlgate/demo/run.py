"""`mlgate demo`: the real DAGs, run day by day over a compressed 2013 timeline.

The simulator plays the upstream (features each day, outcomes a day later, one bad
delivery that is re-delivered), and the DAGs run as Airflow would run them: ingest,
score and monitor daily, train on its cron and whenever the monitor emits a retrain
request Asset event. Everything the timeline reports is read back from the lake, the
Airflow metadata DB and the MLflow registry. Each task's log is where the Airflow UI reads
it; the whole output goes to MLGATE_HOME/demo.log. Without an end day, the demo plays six
months and then goes on, day by day, until a candidate is left in the gray zone; it leaves
that candidate waiting in Airflow's Required Actions for `make up`.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time

from mlgate.airflow.local import UI_PASSWORD, UI_USER
from mlgate.airflow.runner import (
    GRAY_ZONE_LEFT,
    SETTLED,
    WATCH_ROLLBACK,
    format_timeline,
    run_days,
    run_spec,
)
from mlgate.config.settings import load_settings
from mlgate.config.spec import load_spec
from mlgate.demo import simulator
from mlgate.lake.names import dates
from mlgate.lake.store import Lake

DEMO_SPEC = "flights"
SIX_MONTHS_END = "2013-06-30"  # without --end: the six months the demo plays at least,
LAST_DAY = "2013-12-31"  # then on until a candidate waits for a person, this day at the latest
INCIDENT_OFFSET_DAYS = 70  # the bad delivery lands on start + 70 days
LOG_NAME = "demo.log"
DEMO_MARKER = ".mlgate-demo"  # in a home the demo made (and may empty)
DEMO_FILES = {DEMO_MARKER, LOG_NAME, "lake", "mlflow.db", "mlartifacts", "airflow"}


class DemoError(RuntimeError):
    """The demo refuses to start (exit code 2): the message says why and what to do."""


def run_demo(start: str, end: str | None = None, fresh: bool = True, echo=print) -> int:
    """Play the timeline from `start` to `end` through the real DAGs, one line a day, then
    print the timeline of events; returns the exit code (DemoError when the home is not
    the demo's to empty). Without `end`: to SIX_MONTHS_END, then on until a candidate is
    left in the gray zone (LAST_DAY at the latest)."""
    settings = load_settings()
    began = time.monotonic()
    prepare_home(settings, fresh)
    first_end = end or max(start, SIX_MONTHS_END)
    echo(
        f"mlgate demo: {start} .. {first_end}"
        + ("" if end else f", then on until a candidate waits for a person (by {LAST_DAY})")
        + f"; state in {settings.home} (output: {settings.home / LOG_NAME}; task logs in the "
        "Airflow UI)"
    )
    spec = load_spec(DEMO_SPEC)
    simulator.simulate(Lake.from_uri(settings.lake_uri), start, first_end, spec=spec)
    incident_day = (
        dt.date.fromisoformat(start) + dt.timedelta(days=INCIDENT_OFFSET_DAYS)
    ).isoformat()
    hooks = {incident_day: _incident}
    progress = (lambda line: echo(line, flush=True)) if echo is print else echo
    try:
        runner = run_spec(settings, spec, start, first_end, progress, hooks, LOG_NAME)
    except RuntimeError as exc:  # a DAG file does not import
        echo(str(exc))
        return 1
    if end is None and open_gray_zone(runner) is None:
        echo(f"{first_end}: no candidate waits for a person yet; the demo goes on until one does")
        play_until_a_person_is_asked(runner, _next_day(first_end), LAST_DAY, progress, hooks)
    waiting = leave_gray_zone_waiting(runner)
    elapsed = time.monotonic() - began
    echo("")
    echo(format_timeline(runner.timeline))
    echo(f"\ndemo finished in {elapsed / 60:.1f} min; champion is v{runner.champion()}.")
    echo(ui_instructions(settings, waiting))
    return 1 if runner.failures else 0


CANDIDATE_EVENTS = (
    "first champion",
    "promoted",
    "candidate refused",
    GRAY_ZONE_LEFT,
    SETTLED,
    WATCH_ROLLBACK,
)


def open_gray_zone(runner) -> dict | None:
    """The timeline row of the last candidate when it was left in the gray zone and neither
    live evidence nor a newer candidate has settled it since; None otherwise."""
    candidates = [r for r in runner.timeline if r["event"].startswith(CANDIDATE_EVENTS)]
    if not candidates or not candidates[-1]["event"].startswith(GRAY_ZONE_LEFT):
        return None
    return candidates[-1]


def play_until_a_person_is_asked(runner, first: str, last: str, echo, hooks: dict) -> None:
    """Deliver and play the days from `first`, one at a time, until a candidate is left in
    the gray zone (open_gray_zone) or `last` is played."""
    for ds in dates(first, last):
        simulator.deliver_features(runner.lake, ds)  # the same partitions as `simulate`,
        simulator.deliver_outcomes(runner.lake, ds)  # without splitting the year again
        run_days(runner, ds, ds, echo, hooks)
        if open_gray_zone(runner) is not None:
            return


def _next_day(ds: str) -> str:
    return (dt.date.fromisoformat(ds) + dt.timedelta(days=1)).isoformat()


def leave_gray_zone_waiting(runner) -> dict | None:
    """When the demo's last candidate was in the gray zone and live evidence has not settled
    it yet, ask for it again in a train run of its own that waits in Airflow's Required
    Actions with its card: `make up` shows it, and an approval there promotes it through
    the gate. Returns the timeline row of the waiting candidate (None when there is none)."""
    last = open_gray_zone(runner)
    if last is None:
        return None
    trigger = last["event"].rsplit("(", 1)[-1].rstrip(")")
    run_id = runner.ask(last["date"], trigger)
    if run_id is None:
        return None
    waiting = {
        "date": last["date"],
        "event": "gray zone: waiting in Required Actions",
        "model_version": last["model_version"],
        "metric": last["metric"],
        "reason": f"approve or reject {last['model_version']} in the Airflow UI (make up); "
        f"train run {run_id}",
    }
    runner.timeline.append(waiting)
    return waiting


def prepare_home(settings, fresh: bool) -> None:
    """Create the home; when `fresh`, empty it first, but only a home the demo made (its
    marker file, or nothing but what a demo writes): anything else is refused, never
    deleted."""
    home = settings.home
    if fresh and home.exists() and any(home.iterdir()):
        if not is_demo_home(home):
            raise DemoError(
                f"{home} is not empty and was not made by `mlgate demo` (no {DEMO_MARKER} "
                "in it); the demo starts fresh only in a folder it made, and deletes nothing "
                "else. Point MLGATE_HOME at a new folder (e.g. MLGATE_HOME=/tmp/mlgate-demo), "
                "or add --keep to run on this state without deleting anything."
            )
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    if fresh:
        (home / DEMO_MARKER).write_text(
            "Made by `mlgate demo`: the next `mlgate demo` empties this folder.\n"
        )


def is_demo_home(home) -> bool:
    """A folder `mlgate demo` made: its marker, or (a demo from before the marker) nothing
    but what a demo writes."""
    return (home / DEMO_MARKER).is_file() or {p.name for p in home.iterdir()} <= DEMO_FILES


def _incident(runner, ds: str) -> None:
    """A broken delivery: the gate quarantines it, upstream re-delivers."""
    _deliver_broken(runner.lake, ds)
    runner.ingest(ds)
    simulator.deliver_features(runner.lake, ds)  # the upstream fixes and re-delivers
    runner.note(
        ds,
        "re-delivered, re-run",
        runner.served(),
        "",
        "upstream fixed the feed; the operator re-ran the day",
    )


def _deliver_broken(lake: Lake, ds: str) -> None:
    """An upstream release lower-cases the carrier codes ('UA' becomes 'ua')."""
    features, _ = simulator.day_frames(ds)
    broken = features.assign(carrier=features["carrier"].str.lower())
    lake.write_landing(
        simulator.FEATURES_FEED, ds, simulator.FEATURES_FILE, simulator.to_csv_bytes(broken)
    )


def ui_instructions(settings, waiting: dict | None = None) -> str:
    """How to open the UIs on the demo's state (and the candidate waiting for a person)."""
    text = (
        "\nOpen the UIs on this state:  make up\n"
        f"  Airflow UI  http://localhost:8080  (login {UI_USER} / {UI_PASSWORD}; "
        "DAGs mlgate_flights_late_*)\n"
        "  MLflow UI   http://localhost:5000  "
        "(experiment flights_late, model flights_late with its aliases)\n"
        f"  lake        {settings.lake_uri}\n"
    )
    if waiting:
        text += (
            f"  waiting     {waiting['model_version']} of {waiting['date']} is in the gray zone: "
            "Airflow's Required Actions shows its promotion card; Approve promotes it\n"
        )
    return text
