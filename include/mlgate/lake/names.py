"""The lake's shared names: the file each zone holds, the feeds a model writes besides
its own name, and the partition dates of a range. Every stage reads and writes partitions
through these, never by spelling a file name itself."""

from __future__ import annotations

import datetime as dt
import re

FEATURES_FILE = "features.parquet"  # validated/<model>: what passed the gate
LABELS_FILE = "labels.parquet"  # outcomes/<model>: labels derived by the spec's rule
GOLDEN_FILE = "golden.parquet"  # golden/<model>: frozen golden days, features with labels
REASON_FILE = "_reason.json"  # quarantine/<name>: why the gate rejected the batch
PREDICTIONS_FILE = "predictions.parquet"  # predictions/<model> and predictions/<model>-shadow
REPORT_FILE = "report.json"  # reports/<model>-monitor: the monitor's daily report
DRIFT_REPORT_FILE = "drift_report.html"  # reports/<model>-monitor: the same, for a person
GATE_RESULT_FILE = "result.json"  # reports/<model>-gate-<feed>: the gate's verdict
DATA_DOCS_PAGE = "validation.html"  # the GX Data Docs page: reports/<model>-gate-<feed>, quarantine
DATA_DOCS_INDEX = "index.html"  # reports/<model>-gate-<feed>/index.html: every day's page
DATA_DOCS_INDEX_ROWS = "index.json"  # beside it: the index's rows, one per day
DATA_DOCS_STATIC = "_static"  # reports/_static/: the pages' styles, fonts and images
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def valid_date(text: str) -> bool:
    """Whether `text` is a real calendar date written YYYY-MM-DD (2013-02-30 is not)."""
    if not _DATE_RE.fullmatch(str(text)):
        return False
    try:
        dt.date.fromisoformat(str(text))
    except ValueError:
        return False
    return True


def partition_date(folder: str) -> str | None:
    """The date of a partition folder `ds=YYYY-MM-DD`, or None when `folder` is not one
    (`ds=2013-02-30`, `ds=garbage`, a staging folder). The one parser of partition names."""
    if not folder.startswith("ds="):
        return None
    day = folder[3:]
    return day if valid_date(day) else None


def dates(start: str | dt.date, end: str | dt.date) -> list[str]:
    """Every date from start to end inclusive, as YYYY-MM-DD."""
    first = dt.date.fromisoformat(str(start))
    last = dt.date.fromisoformat(str(end))
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def outcomes_name(model: str) -> str:
    """Lake name of the model's outcomes quarantine (features use the model name)."""
    return f"{model}-outcomes"


def shadow_name(model: str) -> str:
    """The feed of the challenger's shadow predictions (kept apart from the served ones)."""
    return f"{model}-shadow"


def watch_name(model: str) -> str:
    """The feed of the previous champion's shadow predictions while a new champion is
    watched after its promotion."""
    return f"{model}-watch"


def monitor_name(model: str) -> str:
    """The reports feed (and MLflow experiment) of the model's monitor."""
    return f"{model}-monitor"


def gate_report_name(model: str, feed: str) -> str:
    """The reports feed of the model's gate on `feed` (features, outcomes): the day's
    verdict and Data Docs page, and the feed's index of every day."""
    return f"{model}-gate-{feed}"


def quarantine_name(model: str, feed: str) -> str:
    """Lake name of the quarantine of the model's `feed` (features use the model name)."""
    return model if feed == "features" else outcomes_name(model)
