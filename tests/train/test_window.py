"""The training window's freshness (issue 15): a training run dated today on a lake of 2013
days stops before anything is trained, says which day is the newest, the run's day, the
allowed age and what to do, and registers nothing; a run dated by its data's days trains."""

import datetime as dt

import pandas as pd
import pytest

from mlgate import tracking
from mlgate.lake.store import Lake
from mlgate.model.features import schema_for
from mlgate.train.candidate import train_candidate
from mlgate.train.window import StaleData, WindowRows, plan_window, scan_window
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


class CountingRows(WindowRows):
    """The window's rows, recording how many rows each read returned."""

    def __init__(self, *args):
        super().__init__(*args)
        self.reads: list[int] = []

    def day(self, ds):
        rows = super().day(ds)
        self.reads.append(len(rows))
        return rows


def test_the_window_is_read_a_day_at_a_time_and_its_sample_is_bounded_uniform_and_repeatable(
    world,
):
    lake, _, spec = world
    days = plan_window(lake, spec, "2013-01-25").train_days
    rows = CountingRows(lake, spec, days)
    whole = pd.concat([frame for _, frame in WindowRows(lake, spec, days)], ignore_index=True)

    everything = scan_window(rows, sample_limit=len(whole))
    assert max(rows.reads) < len(whole) / 5  # never more than a day at once
    pd.testing.assert_frame_equal(everything.sample, whole)  # a small window: all its rows
    assert everything.schema == schema_for(spec, whole)  # the categories of every day
    assert everything.rows == len(whole)
    assert everything.label_mean == pytest.approx(whole["late"].mean())

    sampled = scan_window(rows, sample_limit=2000, seed=7)
    assert len(sampled.sample) == 2000 and sampled.rows == len(whole)
    assert scan_window(rows, sample_limit=2000, seed=7).sample.equals(sampled.sample)
    # uniform: each day's share of the sample is its share of the window, within noise
    share = sampled.sample["ds"].value_counts(normalize=True)
    expected = whole["ds"].value_counts(normalize=True)
    assert (share - expected).abs().max() < 4 * (expected.max() / 2000) ** 0.5
    assert sampled.sample["late"].mean() == pytest.approx(whole["late"].mean(), abs=0.04)
