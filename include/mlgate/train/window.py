"""The training window: which validated, labelled days a candidate is trained on, which
recent days are held out for its evaluation (golden days are never trained on), and the
content hashes and row counts of those days for its lineage. A window whose newest day is
older than `training.max_data_age_days` before the run's day is refused (StaleData).

The window's rows are read from the lake one day at a time (`WindowRows`), never held as
one frame: `scan_window` makes one pass for what must be known before training (the
categories, the label's figures, a bounded sample for the drift reference)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlgate.config.spec import Spec
from mlgate.ingest.landing import labelled_frame
from mlgate.lake.store import Lake
from mlgate.model.features import (
    FeatureSchema,
    category_text,
    model_matrix,
    schema_from_categories,
)


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


class WindowRows:
    """The labelled rows of a window's days, read from the lake one day at a time (every
    read checks the partition's hashes). Tests subclass it to alter a day's rows."""

    def __init__(self, lake: Lake, spec: Spec, days: list[str]):
        self.lake, self.spec, self.days = lake, spec, list(days)

    def day(self, ds: str) -> pd.DataFrame:
        """The validated features of day `ds` joined with their labels, with a `ds` column."""
        return labelled_frame(self.lake, self.spec, [ds])

    def __iter__(self) -> Iterator[tuple[str, pd.DataFrame]]:
        for ds in self.days:
            rows = self.day(ds)
            if len(rows):
                yield ds, rows


@dataclass(frozen=True)
class WindowScan:
    """What one pass over a window tells before training: its days with rows and their row
    counts, the feature schema (categories seen), the label's sum and sum of squares, a
    seeded uniform sample of at most `sample_limit` rows (all rows of a smaller window, in
    their order), its first rows as the model's input example, and where each day's model
    matrix was staged for training (`stage_day`)."""

    day_rows: dict[str, int]
    schema: FeatureSchema
    label_sum: float
    label_sum_sq: float
    sample: pd.DataFrame
    sample_limit: int
    example: pd.DataFrame
    staged: dict[str, Path]

    @property
    def rows(self) -> int:
        return sum(self.day_rows.values())

    @property
    def label_mean(self) -> float:
        return self.label_sum / self.rows

    @property
    def label_sd(self) -> float:
        return float(np.sqrt(max(self.label_sum_sq / self.rows - self.label_mean**2, 0.0)))


def scan_window(
    rows: WindowRows,
    drop: list[str] | tuple = (),
    sample_limit: int = 200_000,
    seed: int = 0,
    staging: Path | None = None,
) -> WindowScan:
    """One pass over the window's days (see WindowScan); with a `staging` folder, each day's
    model matrix and labels are also written there for training to read again cheaply. The
    sample keeps the rows with the smallest seeded random keys, so it is uniform over the
    window whatever its days' sizes, and memory holds at most twice the sample and one day."""
    spec = rows.spec
    label = spec.section("label")["name"]
    categorical = [c for c in spec.categorical_features if c not in drop]
    seen: dict[str, set] = {c: set() for c in categorical}
    day_rows: dict[str, int] = {}
    staged: dict[str, Path] = {}
    label_sum = label_sum_sq = 0.0
    kept: list[tuple[pd.DataFrame, np.ndarray]] = []  # sampled rows of each day, their keys
    cutoff = np.inf  # a row whose key is above it can no longer be in the sample
    for i, (ds, frame) in enumerate(rows):
        day_rows[ds] = len(frame)
        day_seen = {c: set(category_text(frame[c]).dropna().unique()) for c in categorical}
        for c in categorical:
            seen[c].update(day_seen[c])
        if staging is not None:
            day_schema = schema_from_categories(spec, day_seen, drop)
            staged[ds] = stage_day(staging, ds, model_matrix(frame, day_schema), frame[label])
        labels = frame[label].to_numpy(dtype="float64")
        label_sum, label_sum_sq = label_sum + labels.sum(), label_sum_sq + (labels**2).sum()
        keys = np.random.default_rng([seed, i]).random(len(frame))
        kept.append((frame[keys <= cutoff], keys[keys <= cutoff]))
        if sum(len(k) for _, k in kept) > 2 * sample_limit:
            kept, cutoff = _smallest_keys(kept, sample_limit)
    if not day_rows:
        raise ValueError(f"{spec.model}: the window {rows.days} has no labelled rows")
    schema = schema_from_categories(spec, seen, drop)
    kept, _ = _smallest_keys(kept, sample_limit)
    sample = pd.concat([f for f, _ in kept], ignore_index=True)
    return WindowScan(
        day_rows,
        schema,
        label_sum,
        label_sum_sq,
        sample,
        sample_limit,
        sample.head(5)[schema.input_columns],
        staged,
    )


def _smallest_keys(kept: list[tuple[pd.DataFrame, np.ndarray]], limit: int):
    """Each day's rows cut to those among the `limit` smallest keys of all days, in their
    order; and the largest key kept (the cut-off for later days)."""
    keys = np.concatenate([k for _, k in kept])
    if len(keys) <= limit:
        return kept, np.inf
    cutoff = np.partition(keys, limit - 1)[limit - 1]
    return [(f[k <= cutoff], k[k <= cutoff]) for f, k in kept], cutoff


STAGED_LABEL = "__label__"


def stage_day(folder: Path, ds: str, matrix: pd.DataFrame, labels: pd.Series) -> Path:
    """Write one day's model matrix (numbers as float32, what XGBoost reads; categories as
    that day's own) and labels as an uncompressed Arrow file; returns its path."""
    import pyarrow as pa
    import pyarrow.feather as feather

    numbers = matrix.select_dtypes("number").columns
    table = matrix.astype({c: "float32" for c in numbers}).assign(
        **{STAGED_LABEL: labels.to_numpy(dtype="float32")}
    )
    path = Path(folder) / f"ds={ds}.arrow"
    feather.write_feather(pa.Table.from_pandas(table, preserve_index=False), path, "uncompressed")
    return path


def staged_days(paths: list[Path], schema: FeatureSchema) -> tuple[pd.DataFrame, np.ndarray]:
    """Staged days' model matrix with the window's categories (schema), and their labels."""
    import pyarrow as pa
    import pyarrow.feather as feather

    frame = pa.concat_tables(
        [feather.read_table(path, memory_map=True) for path in paths], promote_options="permissive"
    ).to_pandas()
    for c in schema.categorical:
        frame[c] = frame[c].astype("category").cat.set_categories(schema.categories[c])
    return frame[schema.names], frame[STAGED_LABEL].to_numpy()
