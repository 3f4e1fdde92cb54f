"""The daily DAGs run per local day of the spec's time zone, once the day is over there and
the upstream's delivery delay has passed; the run still names the day (ds=D). Read from
the DAGs Airflow builds from a spec, through Airflow's own timetable interface."""

from __future__ import annotations

import copy
import datetime as dt
import importlib.util

import pendulum
import pytest
from airflow.timetables.base import DataInterval, TimeRestriction

from mlgate.airflow import dagkit
from mlgate.airflow.local import DAGS_FOLDER
from mlgate.config.spec import Spec


def utc(text: str) -> pendulum.DateTime:
    return pendulum.parse(text)


def spec_in(spec, timezone: str, **schedule) -> Spec:
    """A copy of `spec` whose partitions are days of `timezone`, with `schedule` fields."""
    raw = copy.deepcopy(spec.raw)
    raw["model"] = "probe_" + timezone.split("/")[-1].lower()
    raw["keys"]["timezone"] = timezone
    raw["schedule"].update(schedule)
    return Spec(name=raw["model"], path=spec.path, raw=raw)


def built(kind: str, spec: Spec):
    """The DAG the DAG file `dags/mlgate_<kind>.py` builds for `spec`."""
    path = DAGS_FOLDER / f"mlgate_{kind}.py"
    module_spec = importlib.util.spec_from_file_location(f"probe_dag_{kind}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.build(spec)


@pytest.fixture(scope="module")
def chicago(spec):
    return spec_in(spec, "America/Chicago", delivery_delay_hours=6, start_date="2013-03-01")


def run_for(dag, previous_day: str):
    """Airflow's next run after the run for `previous_day` (catch-up, as a backfill asks)."""
    before = dag.timetable.infer_manual_data_interval(
        run_after=pendulum.parse(previous_day, tz=dag.timezone)
    )
    return dag.timetable.next_dagrun_info(
        last_automated_data_interval=before,
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )


@pytest.mark.parametrize("kind", ["ingest", "score", "monitor"])
def test_a_local_day_runs_after_it_ends_there_plus_the_delivery_delay(chicago, kind):
    dag = built(kind, chicago)
    # 2013-03-10: Chicago moves to daylight time, a 23-hour day
    info = run_for(dag, "2013-03-09")
    assert info.data_interval == DataInterval(
        utc("2013-03-10T06:00:00Z"), utc("2013-03-11T05:00:00Z")
    )  # 00:00 CST .. 00:00 CDT
    assert info.logical_date == utc("2013-03-10T06:00:00Z")  # the day's local midnight
    assert info.run_after == utc("2013-03-11T11:00:00Z")  # 6 h after the day ends (06:00 CDT)
    # an ordinary day, and 2013-11-03, back to standard time: 25 hours
    info = run_for(dag, "2013-03-08")
    assert (info.data_interval.start, info.run_after) == (
        utc("2013-03-09T06:00:00Z"),
        utc("2013-03-10T12:00:00Z"),  # 07:00 CDT: the delay is a duration, 6 h after 00:00 CST
    )
    info = run_for(dag, "2013-11-02")
    assert info.data_interval == DataInterval(
        utc("2013-11-03T05:00:00Z"), utc("2013-11-04T06:00:00Z")
    )
    assert info.run_after == utc("2013-11-04T12:00:00Z")


def test_the_first_run_is_the_start_date_and_no_catch_up_runs_the_last_day_due(
    chicago, monkeypatch
):
    dag = built("ingest", chicago)
    assert dag.start_date == utc("2013-03-01T06:00:00Z")  # local midnight
    first = dag.timetable.next_dagrun_info(
        last_automated_data_interval=None,
        restriction=TimeRestriction(earliest=dag.start_date, latest=None, catchup=True),
    )
    assert first.logical_date == utc("2013-03-01T06:00:00Z")
    assert first.run_after == utc("2013-03-02T12:00:00Z")
    no_catch_up = TimeRestriction(earliest=dag.start_date, latest=None, catchup=False)
    for now, due_day in (
        ("2013-03-20T10:59:00Z", "2013-03-18"),  # 05:59 CDT: the 19th is due at 06:00
        ("2013-03-20T11:00:00Z", "2013-03-19"),
    ):
        monkeypatch.setattr("mlgate.airflow.timetable.utcnow", lambda now=now: utc(now))
        info = dag.timetable.next_dagrun_info(
            last_automated_data_interval=None, restriction=no_catch_up
        )
        assert info.logical_date == dagkit.day_start(chicago, due_day)


def test_the_scheduler_reads_the_timetable_back(chicago):
    """The serialized DAG (what the scheduler reads) keeps the timetable: the mlgate
    plugin registers it."""
    from airflow.serialization.serialized_objects import DagSerialization

    dag = built("ingest", chicago)
    back = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    assert back.timetable == dag.timetable
    assert run_for(back, "2013-03-09") == run_for(dag, "2013-03-09")


def test_training_runs_on_the_cron_in_the_spec_time_zone(chicago):
    from airflow.serialization.serialized_objects import DagSerialization

    dag = built("train", chicago)
    scheduled = DagSerialization.deserialize_dag(DagSerialization.serialize_dag(dag))
    info = scheduled.timetable.next_dagrun_info(  # as the scheduler reads "cron or asset"
        last_automated_data_interval=None,
        restriction=TimeRestriction(
            earliest=utc("2013-03-02T00:00:00Z"), latest=None, catchup=True
        ),
    )
    assert chicago.section("schedule")["train_cron"] == "0 6 1 * *"
    assert info.run_after == utc("2013-04-01T11:00:00Z")  # 06:00 CDT


class _Run:
    conf = None


@pytest.mark.parametrize("timezone", ["America/Chicago", "Asia/Tokyo", "UTC"])
def test_a_run_names_the_local_day_of_its_logical_date(spec, timezone):
    """ds is the day of the logical date in the DAG's zone, the spec's: Tokyo's midnight is
    the day before in UTC, Chicago's midnight the same day."""
    zone_spec = spec_in(spec, timezone)
    dag = built("monitor", zone_spec)
    for ds in ("2013-03-10", "2013-11-03", "2013-01-01"):
        logical = dag.timetable.interval(dt.date.fromisoformat(ds)).start  # in UTC
        assert logical == dagkit.day_start(zone_spec, ds)
        assert dagkit.run_ds({"dag": dag, "logical_date": logical, "dag_run": _Run()}) == ds


def test_a_real_run_for_a_day_lands_that_day(spec, airflow_db, isolated_settings):
    """dag.test (as the demo and the DAG tests run each day) of the flights ingest DAG for
    day D, its logical date D 00:00 New York time (05:00 UTC): it lands, gates and commits
    `ds=D` and the outcomes of D-1."""
    from airflow.dag_processing.dagbag import DagBag

    from mlgate.demo import simulator
    from mlgate.lake.store import Lake

    lake = Lake.from_uri(isolated_settings.lake_uri)
    simulator.deliver_features(lake, "2013-01-02")
    simulator.deliver_outcomes(lake, "2013-01-01")
    dag = DagBag(str(DAGS_FOLDER)).dags[dagkit.dag_id(spec, "ingest")]
    run = dag.test(logical_date=dagkit.day_start(spec, "2013-01-02"))
    assert str(run.state) == "success"
    assert run.logical_date == utc("2013-01-02T05:00:00Z")
    assert run.data_interval_end == utc("2013-01-03T05:00:00Z")
    assert lake.list_partitions("validated", spec.model) == ["2013-01-02"]
    assert lake.list_partitions("outcomes", spec.model) == ["2013-01-01"]
    lineage = lake.read_lineage("validated", spec.model, "2013-01-02")
    assert lineage["rows"] == len(simulator.day_frames("2013-01-02")[0])
