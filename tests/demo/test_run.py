import datetime as dt

from mlgate.demo.run import _cron_due, format_timeline


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
            "version": "v1",
            "metric": "eval AUC 0.6732",
            "reason": "AUC ok",
        },
        {
            "date": "2013-03-12",
            "event": "batch quarantined",
            "version": "v3",
            "metric": "",
            "reason": "column 'carrier': ...",
        },
    ]
    lines = format_timeline(rows).splitlines()
    assert lines[0].split() == ["date", "event", "model", "key", "metric", "reason"]
    assert len(lines) == 4 and lines[2].startswith("2013-02-01  first champion (schedule)  v1")
    assert lines[3].index("v3") == lines[2].index("v1")
