"""The lake's shared names: the file each zone holds, the feeds a model writes besides
its own name, and the partition dates of a range. Every stage reads and writes partitions
through these, never by spelling a file name itself."""

from __future__ import annotations

import datetime as dt

FEATURES_FILE = "features.parquet"  # validated/<model>: what passed the gate
LABELS_FILE = "labels.parquet"  # outcomes/<model>: labels derived by the spec's rule
GOLDEN_FILE = "golden.parquet"  # golden/<model>: frozen golden days, features with labels
REASON_FILE = "_reason.json"  # quarantine/<name>: why the gate rejected the batch
PREDICTIONS_FILE = "predictions.parquet"  # predictions/<model> and predictions/<model>-shadow
REPORT_FILE = "report.json"  # reports/<model>-monitor: the monitor's daily report
DRIFT_REPORT_FILE = "drift_report.html"  # reports/<model>-monitor: the same, for a person


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


def monitor_name(model: str) -> str:
    """The reports feed (and MLflow experiment) of the model's monitor."""
    return f"{model}-monitor"
