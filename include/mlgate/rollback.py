"""Rollback: one step back in the champion history, only to a model that still works."""

from __future__ import annotations

from mlgate import registry
from mlgate.evaluate import load_model
from mlgate.ingest import FEATURES_FILE
from mlgate.lake import Lake
from mlgate.settings import Settings
from mlgate.spec import Spec


def check_loads(lake: Lake, settings: Settings, spec: Spec, version: str) -> None:
    """The version loads and scores the latest validated rows with probabilities."""
    model = load_model(settings.tracking_uri, spec.model, str(version))
    days = lake.list_partitions("validated", spec.model)
    if not days:
        return
    rows = lake.read_frame("validated", spec.model, days[-1], FEATURES_FILE).head(50)
    scores = model.predict(rows)
    if len(scores) != len(rows) or not ((scores >= 0) & (scores <= 1)).all():
        raise registry.PromotionError(f"v{version} does not answer the current rows with probabilities; not rolling back")


def roll_back(lake: Lake, settings: Settings, spec: Spec, reason: str) -> dict:
    """Move `champion` back one step; returns {'from', 'to'}."""
    client = registry.client_for(settings)
    current, target = registry.rollback(client, spec.model, reason, check=lambda v: check_loads(lake, settings, spec, v))
    return {"from": current, "to": target}
