"""The training window: which validated, labelled days a candidate is trained on, which
recent days are held out for its evaluation (golden days are never trained on), and the
content hashes and row counts of those days for its lineage. A window whose newest day is
older than `training.max_data_age_days` before the run's day is refused (StaleData)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mlgate.config.spec import Spec
from mlgate.lake.store import Lake


class NotEnoughData(RuntimeError):
    """The window has fewer labelled days than the spec needs."""


class StaleData(RuntimeError):
    """The newest labelled day is older than the spec allows before the run's day (a run
    whose logical date is today while the lake holds old data)."""


@dataclass(frozen=True)
class Window:
    ds: str
    train_days: list[str]
    recent_days: list[str]
    golden_days: list[str]


def labelled_days(lake: Lake, spec: Spec, before: str) -> list[str]:
    """Days before `before` with validated features and labels."""
    labelled = set(lake.list_partitions("outcomes", spec.model))
    return [
        d for d in lake.list_partitions("validated", spec.model) if d < before and d in labelled
    ]


def plan_window(lake: Lake, spec: Spec, ds: str) -> Window:
    """The candidate's window for logical date `ds`: the most recent labelled days are
    kept for evaluation, golden days are never trained on, and the training days are the
    `window_days` before the evaluation days."""
    cfg_t, cfg_e = spec.section("training"), spec.section("evaluation")
    golden = set(spec.golden_days)
    days = [d for d in labelled_days(lake, spec, ds) if d not in golden]
    if days:
        check_fresh(spec, ds, days[-1])
    recent = days[-int(cfg_e["recent_days"]) :]
    first_recent = dt.date.fromisoformat(recent[0]) if recent else dt.date.fromisoformat(ds)
    start = (first_recent - dt.timedelta(days=int(cfg_t["window_days"]))).isoformat()
    train = [d for d in days if start <= d < first_recent.isoformat()]
    if len(train) < int(cfg_t["min_days"]):
        raise NotEnoughData(
            f"{spec.model} on {ds}: only {len(train)} labelled, validated days in the training "
            f"window (from {start}); the spec needs training.min_days = {cfg_t['min_days']}. "
            "Ingest more days (or backfill them) before training."
        )
    available_golden = [d for d in spec.golden_days if lake.exists("golden", spec.model, d)]
    return Window(ds, train, recent, available_golden)


def check_fresh(spec: Spec, ds: str, newest: str) -> None:
    """Raise StaleData when the newest labelled day `newest` is more than
    `training.max_data_age_days` before the run's day `ds`."""
    allowed = int(spec.section("training")["max_data_age_days"])
    age = (dt.date.fromisoformat(ds) - dt.date.fromisoformat(newest)).days
    if age <= allowed:
        return
    after = (dt.date.fromisoformat(newest) + dt.timedelta(days=1)).isoformat()
    raise StaleData(
        f"{spec.model} on {ds}: the newest validated, labelled day is {newest}, {age} days "
        f"before the run's day; the spec allows training.max_data_age_days = {allowed}. "
        "Nothing was trained or registered. Land and ingest newer data, or run the train DAG "
        f'for the data\'s dates (for example with the run conf {{"ds": "{after}"}}).'
    )


def window_lineage(lake: Lake, spec: Spec, days: list[str]) -> list[dict]:
    """Per day: content hashes and row counts of the validated features and labels."""
    out = []
    for d in days:
        feat = lake.read_lineage("validated", spec.model, d)
        lab = lake.read_lineage("outcomes", spec.model, d)
        out.append(
            {
                "ds": d,
                "features_sha256": feat["files"],
                "features_rows": feat["rows"],
                "labels_sha256": lab["files"],
                "labels_rows": lab["rows"],
            }
        )
    return out
