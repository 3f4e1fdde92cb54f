"""The MLflow model registry: aliases `champion`, `challenger`, `previous_champion`.

Promotions are kept as a history (a tag on the registered model), so a rollback moves
exactly one step back, and twice in a row moves two steps back.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from contextlib import contextmanager

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlgate.tracking import CHAMPION, CHAMPION_HISTORY_TAG, PREVIOUS, RESTORED_TAG, ROLLED_BACK_TAG


class PromotionError(RuntimeError):
    """A promotion or rollback could not be done; the message says why."""


@contextmanager
def promotion_lock(lake, model: str, wait_seconds: float = 120, stale_seconds: float = 900):
    """Hold the model's promotion lock (a control object in the lake, created atomically)
    while aliases move, so two promotions or rollbacks never interleave. A lock older
    than `stale_seconds` (its holder died) is broken."""
    key = f"locks/{model}/promotion"
    token = json.dumps(
        {"owner": f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}", "at": time.time()}
    ).encode()
    deadline = time.monotonic() + wait_seconds
    while not lake.create_exclusive(key, token):
        held = lake.read_control(key)
        holder = json.loads(held) if held else None
        if holder and time.time() - holder["at"] > stale_seconds:
            lake.delete_control(key)
            continue
        if time.monotonic() > deadline:
            raise PromotionError(
                f"{model}: another promotion or rollback holds the lock "
                f"({holder}); try again later."
            )
        time.sleep(0.1)
    try:
        yield
    finally:
        if lake.read_control(key) == token:
            lake.delete_control(key)


def alias_version(client: MlflowClient, model: str, alias: str):
    """The model version behind `alias`, or None."""
    try:
        return client.get_model_version_by_alias(model, alias)
    except MlflowException:
        return None


def alias_version_number(client: MlflowClient, model: str, alias: str) -> str | None:
    """The version number behind `alias` as a string (the registry's own spelling), or None."""
    mv = alias_version(client, model, alias)
    return str(mv.version) if mv else None


def champion_history(client: MlflowClient, model: str) -> list[str]:
    tags = client.get_registered_model(model).tags
    return json.loads(tags.get(CHAMPION_HISTORY_TAG, "[]"))


def _set_champion(client: MlflowClient, model: str, history: list[str]) -> None:
    client.set_registered_model_alias(model, CHAMPION, history[-1])
    if len(history) > 1:
        client.set_registered_model_alias(model, PREVIOUS, history[-2])
    else:
        try:
            client.delete_registered_model_alias(model, PREVIOUS)
        except MlflowException:
            pass
    client.set_registered_model_tag(model, CHAMPION_HISTORY_TAG, json.dumps(history))


def promote(
    client: MlflowClient, model: str, version: str, expected_champion: str | None, tags: dict
) -> None:
    """Make `version` the champion, if the champion is still `expected_champion`
    (compare-and-set: a champion that moved since the evaluation is never overwritten)."""
    current_version = alias_version_number(client, model, CHAMPION)
    expected_champion = None if expected_champion is None else str(expected_champion)
    if current_version != expected_champion:
        raise PromotionError(
            f"{model}: the champion moved from v{expected_champion} to "
            f"v{current_version} while v{version} was being evaluated; not promoting. "
            "Re-run the evaluation against the new champion."
        )
    history = [v for v in champion_history(client, model) if v != str(version)] + [str(version)]
    for key, value in tags.items():
        client.set_model_version_tag(model, str(version), key, str(value))
    _set_champion(client, model, history)


def rollback(client: MlflowClient, model: str, reason: str, check=None) -> tuple[str, str]:
    """Move `champion` one step back in the promotion history; returns (from, to).
    `check(version)` may raise to refuse a target (for example: it no longer loads)."""
    history = champion_history(client, model)
    if len(history) < 2:
        raise PromotionError(
            f"{model}: no previous champion to roll back to (history: {history or 'empty'})."
        )
    current, target = history[-1], history[-2]
    if check is not None:
        check(target)
    _set_champion(client, model, history[:-1])
    client.set_model_version_tag(model, current, ROLLED_BACK_TAG, reason)
    client.set_model_version_tag(model, target, RESTORED_TAG, reason)
    return current, target
