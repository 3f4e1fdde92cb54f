"""A manual run's `ds` must be a real date: anything else stops the run with the reason."""

import pytest
from airflow.sdk.exceptions import AirflowFailException

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
