"""The training window's freshness (issue 15): a training run dated today on a lake of 2013
days stops before anything is trained, says which day is the newest, the run's day, the
allowed age and what to do, and registers nothing; a run dated by its data's days trains."""

import datetime as dt

import pytest

from mlgate import tracking
from mlgate.lake.store import Lake
from mlgate.train.candidate import train_candidate
from mlgate.train.window import StaleData, plan_window
from tests.helpers import ingest_real_days, run_info

LAST_DAY = "2013-01-24"  # real days 01-01..01-24, validated and labelled


@pytest.fixture(scope="module")
def world(module_settings, spec):
    lake = Lake.from_uri(module_settings.lake_uri)
    ingest_real_days(lake, spec, "2013-01-01", LAST_DAY)
    return lake, module_settings, spec


def test_a_run_dated_today_on_old_data_stops_and_registers_nothing(world):
    lake, settings, spec = world
    today = dt.date.today().isoformat()
    age = (dt.date.today() - dt.date.fromisoformat(LAST_DAY)).days
    with pytest.raises(StaleData) as caught:
        train_candidate(lake, settings, spec, today, run_info("scheduled-today"), "schedule")
    assert str(caught.value) == (
        f"flights_late on {today}: the newest validated, labelled day is {LAST_DAY}, {age} days "
        "before the run's day; the spec allows training.max_data_age_days = 14. Nothing was "
        "trained or registered. Land and ingest newer data, or run the train DAG for the "
        'data\'s dates (for example with the run conf {"ds": "2013-01-25"}).'
    )
    client = tracking.client(settings)
    assert client.search_model_versions(f"name='{spec.model}'") == []
    experiment = client.get_experiment_by_name(spec.model)
    assert experiment is None or client.search_runs([experiment.experiment_id]) == []


def test_the_allowed_age_is_counted_in_days_from_the_newest_labelled_day(world):
    lake, _, spec = world
    assert plan_window(lake, spec, "2013-01-25").recent_days[-1] == LAST_DAY  # the data's day
    assert plan_window(lake, spec, "2013-02-07").recent_days[-1] == LAST_DAY  # 14 days: allowed
    with pytest.raises(StaleData, match="is 2013-01-24, 15 days before the run's day"):
        plan_window(lake, spec, "2013-02-08")
