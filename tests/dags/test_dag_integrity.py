"""DAG integrity: every DAG file imports, every spec gets its five DAGs, and each DAG has
the documentation, tags, retries and shape an operator relies on."""

import datetime as dt
import subprocess
import sys

import pytest
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

from mlgate.airflow.local import DAGS_FOLDER
from mlgate.airflow.timetable import DeliveredDaily
from mlgate.config.spec import load_all_specs

KINDS = ("ingest", "train", "score", "monitor", "rollback")


@pytest.fixture(scope="module")
def bag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(str(DAGS_FOLDER))


def test_no_import_errors(bag):
    assert bag.import_errors == {}


def test_every_spec_has_its_dags(bag):
    expected = {f"mlgate_{spec.model}_{kind}" for spec in load_all_specs() for kind in KINDS}
    assert expected == set(bag.dags)


def test_documentation_tags_and_retries(bag):
    for dag_id, dag in bag.dags.items():
        assert dag.doc_md and dag.doc_md.strip().startswith("###"), dag_id
        assert {"mlgate", dag_id.split("_")[-1]} <= set(dag.tags), dag_id


def test_retries_retry_delays_and_sensors_come_from_the_spec(bag):
    for spec in load_all_specs():
        schedule = spec.section("schedule")
        for kind in KINDS:
            for task in bag.dags[f"mlgate_{spec.model}_{kind}"].tasks:
                where = f"{spec.model} {kind}.{task.task_id}"
                expected = 0 if kind == "rollback" else schedule["retries"]  # never retried
                assert task.retries == expected, f"{where} retries {task.retries}"
                assert task.retry_delay == dt.timedelta(minutes=schedule["retry_delay_minutes"])
                if task.task_id.startswith("wait_for_"):  # the sensors
                    assert task.poke_interval == 60 * schedule["sensor_poke_minutes"], where
                    assert task.timeout == 60 * schedule["sensor_timeout_minutes"], where
                    assert task.mode == "reschedule", where
    sensors = [t for d in bag.dags.values() for t in d.tasks if t.task_id.startswith("wait_for_")]
    assert len(sensors) == 2 * len(load_all_specs())  # ingest's and score's


def test_no_cycles_and_a_single_chain(bag):
    for dag_id, dag in bag.dags.items():
        seen, stack = set(), []

        def visit(task):
            assert task.task_id not in stack, f"cycle in {dag_id} through {task.task_id}"
            if task.task_id in seen:
                return
            stack.append(task.task_id)
            for child in task.downstream_list:
                visit(child)
            stack.pop()
            seen.add(task.task_id)

        for root in dag.roots:
            visit(root)
        assert seen == set(dag.task_ids)


def test_schedules(bag):
    for spec in load_all_specs():
        zone = spec.section("keys")["timezone"]
        delay = spec.section("schedule")["delivery_delay_hours"]
        for kind in ("ingest", "score", "monitor"):  # daily and so backfillable
            dag = bag.dags[f"mlgate_{spec.model}_{kind}"]
            assert isinstance(dag.timetable, DeliveredDaily)  # a run per local day, once due
            assert (dag.timetable.timezone, dag.timetable.delay_hours) == (zone, delay)
            assert dag.timezone.name == zone  # the start date is the first local midnight
        train = bag.dags[f"mlgate_{spec.model}_train"]
        assert isinstance(train.timetable, AssetOrTimeSchedule)
        assert f"mlgate://{spec.model}/retrain_request" in str(train.timetable.asset_condition)
        cron = train.timetable.timetable
        assert isinstance(cron, CronTriggerTimetable)
        assert cron.expression == spec.section("schedule")["train_cron"]
        assert getattr(cron.timezone, "name", cron.timezone) == zone
        assert (
            type(bag.dags[f"mlgate_{spec.model}_rollback"].timetable).__name__ == "NullTimetable"
        )  # manual only


HEAVY = (
    "pandas",
    "numpy",
    "pyarrow",
    "xgboost",
    "mlflow",
    "great_expectations",
    "sklearn",
    "scipy",
    "matplotlib",
    "boto3",
)


@pytest.mark.parametrize("path", sorted(DAGS_FOLDER.glob("*.py")), ids=lambda p: p.name)
def test_dag_files_are_wiring_only(path):
    """Parsing a DAG file (what the DAG processor does every few seconds) loads none of the
    heavy libraries: they are imported inside tasks. Checked in a fresh interpreter, so
    imports hidden in helpers count too."""
    probe = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = set(done.stdout.split())
    assert "airflow" in loaded  # the probe did parse the DAG file
    assert sorted(loaded & set(HEAVY)) == [], f"{path.name} loads heavy libraries at parse time"


def test_a_broken_spec_fails_alone(tmp_path, monkeypatch):
    """A second spec with an error in the same folder: the healthy model keeps its five DAGs,
    and the broken spec's error is the one import error Airflow shows."""
    from airflow.dag_processing.dagbag import DagBag

    from mlgate.config.settings import DEFAULT_SPECS_DIR

    (tmp_path / "flights.yaml").write_text((DEFAULT_SPECS_DIR / "flights.yaml").read_text())
    broken = (DEFAULT_SPECS_DIR / "flights.yaml").read_text()
    broken = broken.replace("model: flights_late", "model: other").replace(
        "window_days: 56", "window_dayz: 56"
    )
    (tmp_path / "other.yaml").write_text(broken)
    monkeypatch.setenv("MLGATE_SPECS_DIR", str(tmp_path))
    bag = DagBag(str(DAGS_FOLDER))
    assert set(bag.dags) == {f"mlgate_flights_late_{kind}" for kind in KINDS}
    assert list(bag.import_errors) == [str(DAGS_FOLDER / "mlgate_specs.py")]
    error = bag.import_errors[str(DAGS_FOLDER / "mlgate_specs.py")]
    assert "other.yaml" in error and "window_dayz" in error and "window_days" in error


def test_a_candidate_not_promoted_loses_the_challenger_alias(bag):
    """After a refusal (route skips `promote`) or a rejection (`approve` skips it), the train
    DAG still runs `release_challenger`, which removes the alias the score DAG shadow-scores."""
    for spec in load_all_specs():
        dag = bag.dags[f"mlgate_{spec.model}_train"]
        release = dag.get_task("release_challenger")
        assert release.trigger_rule == "none_failed_min_one_success"
        assert release.upstream_task_ids == {"evaluate", "promote"}
