"""A manual run's `ds` must be a real date: anything else stops the run with the reason."""

import pytest
from airflow.sdk.exceptions import AirflowFailException

from mlgate.airflow.dagkit import checked_date


def test_a_run_date_is_a_real_day():
    assert checked_date("2013-03-05") == "2013-03-05"
    for bad in ("2013-02-30", "2013-3-5", "../../etc", "2013-03-05/../../x", "yesterday"):
        with pytest.raises(AirflowFailException, match="is not a date; write it as YYYY-MM-DD"):
            checked_date(bad)
