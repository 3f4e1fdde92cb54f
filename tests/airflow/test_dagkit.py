"""A manual run's `ds` must be a real date: anything else stops the run with the reason."""

import pytest
from airflow.sdk.exceptions import AirflowFailException

from mlgate.airflow import dagkit
from mlgate.airflow.dagkit import checked_date


def test_a_run_date_is_a_real_day():
    assert checked_date("2013-03-05") == "2013-03-05"
    for bad in ("2013-02-30", "2013-3-5", "../../etc", "2013-03-05/../../x", "yesterday"):
        with pytest.raises(AirflowFailException, match="is not a date; write it as YYYY-MM-DD"):
            checked_date(bad)


class _Run:
    def __init__(self, run_type, conf=None):
        self.run_type, self.conf = run_type, conf


def test_the_trigger_is_the_run_type_unless_the_conf_names_one():
    from airflow.utils.types import DagRunType

    from mlgate.airflow.dagkit import trigger_of

    assert trigger_of({"dag_run": _Run(DagRunType.SCHEDULED)}) == "scheduled"
    assert trigger_of({"dag_run": _Run(DagRunType.ASSET_TRIGGERED)}) == "asset_triggered"
    assert trigger_of({"dag_run": _Run(DagRunType.MANUAL, {"trigger": "drift"})}) == "drift"


def test_only_an_approve_answer_names_an_approver():
    from mlgate.airflow.dagkit import approver

    answer = {"chosen_options": ["Approve"], "responded_by_user": {"id": "7", "name": "ada"}}
    assert approver(answer) == "ada"
    assert approver({**answer, "responded_by_user": {"id": "7"}}) == "7"
    assert approver({**answer, "chosen_options": ["Reject"]}) is None
    assert approver(None) is None  # the approve task was skipped: no gray zone


def test_a_task_that_finds_damaged_data_fails_without_retrying():
    from mlgate.lake.store import IntegrityError

    @dagkit.fail_on_damage
    def read_day(ds, **context):
        raise IntegrityError(f"partition validated/m/ds={ds}: the file changed")

    with pytest.raises(AirflowFailException, match="damaged data: partition validated/m/ds=D"):
        read_day("D")
    assert read_day.__name__ == "read_day"  # the task id stays the function's name


def test_every_task_that_reads_the_lake_fails_on_damage_at_once():
    from airflow.dag_processing.dagbag import DagBag

    from mlgate.airflow.local import DAGS_FOLDER

    bag = DagBag(str(DAGS_FOLDER))
    plain = [
        f"{dag_id}.{t.task_id}"
        for dag_id, dag in bag.dags.items()
        if not dag_id.endswith("_rollback")  # never retried anyway
        for t in dag.tasks
        if t.task_type == "_PythonDecoratedOperator"
        and t.task_id != "release_challenger"  # moves an alias, reads no data
        and not hasattr(t.python_callable, "__wrapped__")
    ]
    assert plain == []
