import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from mlgate.airflow.runner import cron_due as _cron_due
from mlgate.airflow.runner import format_timeline, timeline_json_lines
from tests.helpers import home_env


def test_the_monthly_train_cron_is_due_on_the_first_only():
    due = [
        d
        for d in (dt.date(2013, 1, 1) + dt.timedelta(days=i) for i in range(90))
        if _cron_due("0 6 1 * *", d)
    ]
    assert due == [dt.date(2013, 1, 1), dt.date(2013, 2, 1), dt.date(2013, 3, 1)]


def test_the_timeline_table_has_one_row_per_event_and_aligned_columns():
    rows = [
        {
            "date": "2013-02-01",
            "event": "first champion (schedule)",
            "model_version": "v1",
            "metric": "eval AUC 0.6732",
            "reason": "AUC ok",
        },
        {
            "date": "2013-03-12",
            "event": "batch quarantined",
            "model_version": "v3",
            "metric": "",
            "reason": "column 'carrier': ...",
        },
    ]
    lines = format_timeline(rows).splitlines()
    assert lines[0].split() == ["date", "event", "model", "key", "metric", "reason"]
    assert len(lines) == 4 and lines[2].startswith("2013-02-01  first champion (schedule)  v1")
    assert lines[3].index("v3") == lines[2].index("v1")


def test_the_json_timeline_is_one_object_per_line_with_the_contract_keys():
    rows = [
        {"date": "2013-02-01", "event": "e", "model_version": "v1", "metric": "", "reason": "r"},
        {"date": "2013-02-02", "event": "f", "model_version": "-", "metric": "m", "reason": ""},
    ]
    lines = timeline_json_lines(rows).splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert list(json.loads(lines[0])) == ["date", "event", "model_version", "metric", "reason"]


def test_mlgate_demo_never_deletes_a_home_it_did_not_make(tmp_path):
    """A user's file in MLGATE_HOME survives `mlgate demo` (exit 2, and the message says
    what to do); nothing is written there."""
    home = tmp_path / "mine"
    home.mkdir()
    (home / "thesis.tex").write_text("three years of work")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlgate.cli",
            "demo",
            "--start",
            "2013-01-01",
            "--end",
            "2013-01-02",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **home_env(home)},
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "was not made by `mlgate demo`" in result.stderr and "--keep" in result.stderr
    assert (home / "thesis.tex").read_text() == "three years of work"
    assert sorted(p.name for p in home.iterdir()) == ["thesis.tex"]


def test_the_demo_empties_only_a_home_it_made(tmp_path):
    from mlgate.config.settings import load_settings
    from mlgate.demo.run import DEMO_MARKER, DemoError, prepare_home

    settings = load_settings(home_env(tmp_path / "demo"))
    prepare_home(settings, fresh=True)  # a new folder: made and marked
    assert (settings.home / DEMO_MARKER).is_file()
    (settings.home / "lake").mkdir()
    (settings.home / "notes.txt").write_text("mine")
    prepare_home(settings, fresh=True)  # marked: emptied, marked again
    assert sorted(p.name for p in settings.home.iterdir()) == [DEMO_MARKER]
    (settings.home / DEMO_MARKER).unlink()
    (settings.home / "notes.txt").write_text("mine")
    with pytest.raises(DemoError):
        prepare_home(settings, fresh=True)
    prepare_home(settings, fresh=False)  # --keep: nothing deleted
    assert (settings.home / "notes.txt").read_text() == "mine"


def test_a_home_from_a_demo_before_the_marker_is_still_the_demos(tmp_path):
    from mlgate.demo.run import is_demo_home

    for name in ("lake", "airflow", "mlartifacts"):
        (tmp_path / name).mkdir()
    (tmp_path / "mlflow.db").write_bytes(b"")
    (tmp_path / "demo.log").write_text("")
    assert is_demo_home(tmp_path)
    (tmp_path / "other").mkdir()
    assert not is_demo_home(tmp_path)
