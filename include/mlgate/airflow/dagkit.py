"""The few pieces every mlgate DAG shares: names, Assets, default arguments, and the
run's identity (dag id, run id, try number, logical day) for lineage."""

from __future__ import annotations

import datetime as dt
import functools
import logging

from airflow.sdk import Asset

from mlgate.config.spec import Spec

log = logging.getLogger(__name__)


def timezone(spec: Spec) -> str:
    """The spec's time zone (`keys.timezone`): its partition days are days of this zone."""
    return str(spec.section("keys")["timezone"])


def default_args(spec: Spec, **overrides) -> dict:
    """Owner, retries and the delay between tries of every task: `schedule.retries` and
    `schedule.retry_delay_minutes` of the spec, with `overrides` on top."""
    schedule = spec.section("schedule")
    return {
        "owner": "mlgate",
        "retries": int(schedule["retries"]),
        "retry_delay": dt.timedelta(minutes=float(schedule["retry_delay_minutes"])),
        **overrides,
    }


def start_date(spec: Spec):
    """The spec's first day, at local midnight in the spec's time zone (the timezone-aware
    datetime Airflow wants; the DAG's time zone follows it)."""
    import pendulum

    return pendulum.datetime(
        spec.start_date.year, spec.start_date.month, spec.start_date.day, tz=timezone(spec)
    )


def day_start(spec: Spec, ds: str):
    """The logical date of the daily run for day `ds`: its local midnight (pass it to
    `dag.test(logical_date=...)`)."""
    import pendulum

    day = dt.date.fromisoformat(ds)
    return pendulum.datetime(day.year, day.month, day.day, tz=timezone(spec))


def daily_schedule(spec: Spec):
    """The daily DAGs' timetable: one run per local day D of the spec's time zone, logical
    date D 00:00 local, due at D+1 00:00 local plus `schedule.delivery_delay_hours`."""
    from mlgate.airflow.timetable import DeliveredDaily

    return DeliveredDaily(timezone(spec), float(spec.section("schedule")["delivery_delay_hours"]))


def sensor_arguments(spec: Spec) -> dict:
    """A sensor waiting for a partition: checks every `schedule.sensor_poke_minutes`, gives
    up after `schedule.sensor_timeout_minutes`, frees its worker slot between checks."""
    schedule = spec.section("schedule")
    return {
        "poke_interval": 60 * float(schedule["sensor_poke_minutes"]),
        "timeout": 60 * float(schedule["sensor_timeout_minutes"]),
        "mode": "reschedule",
    }


def dag_arguments(spec: Spec, kind: str, doc_md: str, **arguments) -> dict:
    """The `@dag` arguments every mlgate DAG shares (id, doc, start date, no catch-up, tags,
    retries), with the DAG's own `arguments` (schedule, description, params, ...) on top."""
    return {
        "dag_id": dag_id(spec, kind),
        "doc_md": doc_md,
        "start_date": start_date(spec),
        "catchup": False,
        "tags": tags(spec, kind),
        "default_args": default_args(spec),
        **arguments,
    }


def for_every_spec(build) -> None:
    """Call a DAG file's `build(spec)` once per spec in the specs folder that loads. A broken
    spec is left out (the other models keep their DAGs) and its error is the import error of
    dags/mlgate_specs.py (`raise_spec_errors`)."""
    from mlgate.config.spec import load_specs_apart

    specs, errors = load_specs_apart()
    for path, error in errors.items():
        log.warning("spec %s left out of the DAGs: %s", path, error)
    for spec in specs:
        build(spec)


def raise_spec_errors() -> None:
    """Fail the import of the calling DAG file with every broken spec's error, so Airflow's
    import errors name the spec file and what is wrong with it."""
    from mlgate.config.spec import SpecError, load_specs_apart

    _, errors = load_specs_apart()
    if errors:
        raise SpecError(
            f"{len(errors)} spec(s) left out of the mlgate DAGs (the other models run): "
            + "; ".join(f"{path}: {error}" for path, error in errors.items())
        )


def dag_id(spec: Spec, kind: str) -> str:
    return f"mlgate_{spec.model}_{kind}"


def tags(spec: Spec, kind: str) -> list[str]:
    return ["mlgate", spec.model, kind]


def validated_asset(spec: Spec) -> Asset:
    return Asset(name=f"{spec.model}.validated", uri=f"mlgate://{spec.model}/validated")


def champion_asset(spec: Spec) -> Asset:
    return Asset(name=f"{spec.model}.champion", uri=f"mlgate://{spec.model}/champion")


def retrain_request_asset(spec: Spec) -> Asset:
    return Asset(name=f"{spec.model}.retrain_request", uri=f"mlgate://{spec.model}/retrain_request")


def pause_variable(spec: Spec) -> str:
    """The Airflow Variable that pauses automatic retraining of a model ("true" pauses)."""
    return f"mlgate_{spec.model}_retraining_paused"


def retraining_paused(spec: Spec) -> bool:
    from airflow.sdk import Variable

    return str(Variable.get(pause_variable(spec), default="false")).strip().lower() in (
        "true",
        "1",
        "yes",
        "on",
    )


def run_ds(context) -> str:
    """The day a run is about: `ds` from the run's conf (it must be a real date,
    YYYY-MM-DD), the logical date's day in the DAG's time zone (the spec's), the triggering
    asset event's `ds`, or the day the run was created, in that order."""
    import pendulum

    conf = context["dag_run"].conf or {}
    if conf.get("ds"):
        return checked_date(conf["ds"])
    if context.get("logical_date") is not None:  # its local day, in the DAG's time zone
        zone = getattr(context.get("dag"), "timezone", None) or "UTC"
        return pendulum.instance(context["logical_date"]).in_timezone(zone).strftime("%Y-%m-%d")
    for events in (context.get("triggering_asset_events") or {}).values():
        for event in events:
            if (event.extra or {}).get("ds"):
                return str(event.extra["ds"])
    return context["dag_run"].run_after.strftime("%Y-%m-%d")


def checked_date(value) -> str:
    """`value` as a YYYY-MM-DD date, or an error a run stops on (no retry) saying so."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        day = None
    if day is None or day.isoformat() != str(value):
        raise AirflowFailException(
            f"run conf ds={value!r} is not a date; write it as YYYY-MM-DD (for example 2013-03-05)"
        )
    return day.isoformat()


def run_info(context) -> dict:
    """Lineage of the running task: dag id, run id, try number, run type and day."""
    ti = context["ti"]
    return {
        "dag_id": ti.dag_id,
        "run_id": ti.run_id,
        "try_number": ti.try_number,
        "run_type": str(context["dag_run"].run_type),
        "ds": run_ds(context),
    }


def trigger_of(context) -> str:
    """What started a train run: the conf's `trigger`, or the run type (scheduled, manual,
    asset_triggered, backfill)."""
    conf = context["dag_run"].conf or {}
    return conf.get("trigger") or str(context["dag_run"].run_type).split(".")[-1].lower()


def approver(answer: dict | None) -> str | None:
    """Who approved a gray-zone candidate in Required Actions (the `approve` task's XCom),
    or None when nobody chose "Approve"."""
    answer = answer or {}
    if answer.get("chosen_options") != ["Approve"]:
        return None
    user = answer.get("responded_by_user") or {}
    return user.get("name") or user.get("id") or "an approver"


def lake_and_settings():
    """The lake and settings of this deployment (from the environment)."""
    from mlgate.config.settings import load_settings
    from mlgate.lake.store import Lake

    settings = load_settings()
    return Lake.from_uri(settings.lake_uri), settings


def monitor_alert(spec):
    """An Airflow task callback that sends the alert the day's monitor report calls for."""

    def callback(context) -> None:
        import json

        from mlgate.lake.names import REPORT_FILE, monitor_name
        from mlgate.monitor.alerts import build_alert, send

        lake, _ = lake_and_settings()
        report = json.loads(
            lake.read_bytes("reports", monitor_name(spec.model), run_ds(context), REPORT_FILE)
        )
        alert = build_alert(report)
        if alert is not None:
            send(alert)

    return callback


def fail_on_damage(task_function):
    """A task that finds committed data damaged (lake.store.IntegrityError: a partition whose
    content no longer matches its lineage, an unreadable file or lineage) fails at once, with
    the partition and the repair in its message: a retry would read the same bytes."""

    @functools.wraps(task_function)
    def checked(*args, **kwargs):
        from airflow.sdk.exceptions import AirflowFailException

        from mlgate.lake.store import IntegrityError

        try:
            return task_function(*args, **kwargs)
        except IntegrityError as exc:
            raise AirflowFailException(f"damaged data: {exc}") from None

    return checked
