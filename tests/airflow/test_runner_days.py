"""`mlgate run`'s bookkeeping on small cases, without running Airflow: what counts as an
outcome (a quarantine) and what as a failed task (exit 1), and which days are played."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlgate.airflow import runner
from mlgate.lake.names import REASON_FILE


@pytest.fixture
def fake(lake, spec, tmp_path):
    """A Runner whose DAG runs all end in `state`, on a lake of its own."""
    one = object.__new__(runner.Runner)
    one.spec, one.lake, one.log_path = spec, lake, tmp_path / "run.log"
    one.timeline, one.failures, one.ran = [], [], []
    one.state = "failed"
    one.run = lambda kind, ds, **conf: one.ran.append((kind, ds)) or one.state
    one.champion = lambda: None
    return one


def _quarantine(lake, name, ds, reason="column 'x': 3 value(s) not allowed"):
    failure = {"check": "allowed_values", "reason": reason}
    body = json.dumps({"failures": [failure]}).encode()
    lake.commit_partition("quarantine", name, ds, {REASON_FILE: body}, {})


def test_a_quarantined_batch_is_an_outcome_with_its_reason(fake, spec):
    _quarantine(fake.lake, spec.model, "2013-03-05")
    assert fake.ingest("2013-03-05") == "failed"
    assert fake.failures == []
    assert fake.timeline == [
        {
            "date": "2013-03-05",
            "event": "batch quarantined",
            "model_version": "-",
            "metric": "",
            "reason": "column 'x': 3 value(s) not allowed",
        }
    ]


def test_quarantined_outcomes_of_the_day_before_are_an_outcome(fake, spec):
    fake.lake.commit_frame(
        "validated",
        spec.model,
        "2013-03-05",
        "features.parquet",
        pd.DataFrame(),
        {},
    )
    _quarantine(fake.lake, f"{spec.model}-outcomes", "2013-03-04", "label outage")
    fake.ingest("2013-03-05")
    assert fake.failures == [] and fake.timeline[0]["event"] == "outcomes quarantined"


def test_any_other_failure_is_counted(fake):
    fake.ingest("2013-03-05")
    assert fake.failures == ["2013-03-05 ingest"]
    assert fake.timeline[0]["event"] == "ingest failed"


def test_only_landed_days_are_played(fake, spec):
    from mlgate.demo import simulator

    simulator.deliver_features(fake.lake, "2013-03-02")
    fake.state = "success"
    played = runner.run_days(fake, "2013-03-01", "2013-03-03", echo=lambda line: None)
    assert played == ["2013-03-02"] and fake.ran == [("ingest", "2013-03-02")]


def test_the_progress_line_speaks_the_task_s_live_metric():
    """A binary model's day shows its live AUC, a regression's its live RMSE; before labels
    have matured, nothing (never `nan`)."""
    binary = {"auc": 0.71234, "labelled_rows": 812, "coverage": 0.97}
    regression = {"rmse": 41.876, "mae": 20.1, "labelled_rows": 790, "coverage": 0.88}
    assert runner.live_progress(binary) == " | live AUC 0.712 on 812 labelled (97%)"
    assert runner.live_progress(regression) == " | live RMSE 41.88 on 790 labelled (88%)"
    assert runner.live_progress({}) == ""
