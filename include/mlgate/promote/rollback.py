"""Rollback: one step back in the champion history, only to a model that still works."""

from __future__ import annotations

import numpy as np

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.names import FEATURES_FILE
from mlgate.lake.store import Lake
from mlgate.promote import registry, sanity


def check_target(lake: Lake, settings: Settings, spec: Spec, version: str) -> None:
    """The version loads in a fresh process as the score DAG loads it, answers the latest
    validated rows with probabilities, and reads the spec's current features."""
    days = lake.list_partitions("validated", spec.model)
    if not days:
        raise registry.PromotionError(
            f"no validated rows of {spec.model} to check v{version} against; not rolling back"
        )
    rows = lake.read_frame("validated", spec.model, days[-1], FEATURES_FILE).head(200)
    probe = sanity.score_in_fresh_process(
        settings.tracking_uri, spec, {"target": str(version)}, rows
    )["target"]
    if not probe.get("loaded"):
        raise registry.PromotionError(
            f"v{version} no longer loads ({probe['error']}); not rolling back"
        )
    scores = probe["scores"]
    if len(scores) != len(rows) or not (np.isfinite(scores) & (scores >= 0) & (scores <= 1)).all():
        raise registry.PromotionError(
            f"v{version} does not answer the rows of {days[-1]} with "
            "probabilities; not rolling back"
        )
    reads, wanted = sorted(probe["features"]["schema"]), sorted(spec.feature_names)
    if reads != wanted:
        raise registry.PromotionError(
            f"v{version} reads features {reads}, the spec now has {wanted}; "
            "it no longer fits the current feature schema, not rolling back"
        )


def roll_back(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    reason: str,
    by: str = "mlgate rollback",
    ds: str | None = None,
) -> dict:
    """Move `champion` back one step (under the promotion lock); returns {'from', 'to'}, and
    'finished' when an interrupted promotion or rollback was finished (or undone) first.
    `by` (who, or which Airflow run) tells a retry of an interrupted rollback from a new one.
    The rollback's day `ds`, for hindsight, is by default the newest validated day."""
    client = tracking.client(settings)
    days = [ds] if ds else lake.list_partitions("validated", spec.model)
    with registry.promotion_lock(lake, spec.model):
        moved = registry.rollback(
            client,
            spec.model,
            reason,
            check=lambda v: check_target(lake, settings, spec, v),
            by=by,
            ds=days[-1] if days else None,
        )
    on = f" on {days[-1]}" if days else ""
    tracking.add_to_description(
        settings,
        spec.model,
        moved["from"],
        f"**Rolled back{on}**: v{moved['to']} is the champion again, by {by}: {reason}",
    )
    tracking.add_to_description(
        settings,
        spec.model,
        moved["to"],
        f"**Champion again{on}** (rollback from v{moved['from']}, by {by}): {reason}",
    )
    return moved
