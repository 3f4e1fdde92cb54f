"""The MLflow model registry: aliases `champion`, `challenger`, `previous_champion`.

Promotions are kept as a history (a tag on the registered model), so a rollback moves
exactly one step back, and twice in a row moves two steps back.

A promotion or rollback is several registry writes (the aliases, the history, the version
tags). Under the promotion lock its intent is recorded first (a tag on the registered model,
`tracking.PROMOTION_INTENT_TAG`), then the writes are made, and the intent is removed last.
A process killed in between leaves the intent behind: the next promotion, a retry or a
rollback finishes it (or undoes it, when its target version is gone) and says so.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from contextlib import contextmanager

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlgate.tracking import (
    CHAMPION,
    CHAMPION_HISTORY_TAG,
    PREVIOUS,
    PROMOTED_BECAUSE_TAG,
    PROMOTED_BY_TAG,
    PROMOTION_INTENT_TAG,
    RESTORED_TAG,
    ROLLED_BACK_DS_TAG,
    ROLLED_BACK_TAG,
)

log = logging.getLogger(__name__)


class PromotionError(RuntimeError):
    """A promotion or rollback could not be done; the message says why."""


@contextmanager
def promotion_lock(lake, model: str, wait_seconds: float = 120, stale_seconds: float = 900):
    """Hold the model's promotion lock (a control object in the lake, created atomically)
    while aliases move, so two promotions or rollbacks never interleave. A lock older
    than `stale_seconds`, or held by a process of this host that no longer exists (killed
    mid-promotion, and the retry runs here), is broken."""
    key = f"locks/{model}/promotion"
    token = json.dumps(
        {"owner": f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}", "at": time.time()}
    ).encode()
    deadline = time.monotonic() + wait_seconds
    while not lake.create_exclusive(key, token):
        held = lake.read_control(key)
        holder = json.loads(held) if held else None
        if holder and (time.time() - holder["at"] > stale_seconds or _holder_gone(holder)):
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


def _holder_gone(holder: dict) -> bool:
    """The lock's holder ran on this host and its process is gone. A holder elsewhere, or a
    process id taken again since, counts as alive: the lock then waits to go stale."""
    parts = str(holder.get("owner", "")).split(":")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = parts[1]
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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


def promotion_intent(client: MlflowClient, model: str) -> dict | None:
    """The promotion or rollback under way (or interrupted), as recorded before its first
    alias moved; None when there is none."""
    raw = client.get_registered_model(model).tags.get(PROMOTION_INTENT_TAG)
    return json.loads(raw) if raw else None


def champion_outside_gate(client: MlflowClient, model: str) -> str | None:
    """Why `@champion` is not where the gate's promotions and rollbacks left it (someone
    moved it by hand, in the MLflow UI or the API), or None when it is; an interrupted
    promotion still recorded as an intent is the gate's own and not reported."""
    champion = alias_version_number(client, model, CHAMPION)
    if champion is None or promotion_intent(client, model) is not None:
        return None
    history = champion_history(client, model)
    if history and history[-1] == champion:
        return None
    if history:
        gate = f"the gate's last promotion or rollback left v{history[-1]}"
    else:
        gate = "the gate never promoted any version"
    return (
        f"@champion of {model} points to v{champion}, but {gate}: it was moved outside the "
        f"gate, and v{champion} is served without having passed it"
    )


def _set_champion(client: MlflowClient, model: str, history: list[str]) -> None:
    """The aliases and the history as `history` says (each write idempotent)."""
    for alias, position in ((CHAMPION, -1), (PREVIOUS, -2)):
        if len(history) >= -position:
            client.set_registered_model_alias(model, alias, history[position])
        else:
            try:
                client.delete_registered_model_alias(model, alias)
            except MlflowException:
                pass
    client.set_registered_model_tag(model, CHAMPION_HISTORY_TAG, json.dumps(history))


def _carry_out(client: MlflowClient, model: str, intent: dict, history: list[str]) -> None:
    """The writes of a recorded intent, in order: the aliases, the history, the version
    tags, and last the intent itself is removed. Safe to repeat from the start."""
    _set_champion(client, model, history)
    if history == intent["after"]:
        for version, tags in intent["version_tags"].items():
            for key, value in tags.items():
                client.set_model_version_tag(model, version, key, value)
    client.delete_registered_model_tag(model, PROMOTION_INTENT_TAG)


def _record_and_carry_out(client: MlflowClient, model: str, intent: dict) -> None:
    intent = {
        **intent,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "owner": f"{socket.gethostname()}:{os.getpid()}",
    }
    client.set_registered_model_tag(model, PROMOTION_INTENT_TAG, json.dumps(intent))
    _carry_out(client, model, intent, intent["after"])


def _exists(client: MlflowClient, model: str, version: str | None) -> bool:
    try:
        return version is None or client.get_model_version(model, version) is not None
    except MlflowException:
        return False


def finish_interrupted(client: MlflowClient, model: str) -> str | None:
    """Finish the promotion or rollback a crash interrupted (its intent is still recorded),
    or undo it when its target version is gone; returns what was done, for the log."""
    intent = promotion_intent(client, model)
    if intent is None:
        return None
    what = (
        f"the interrupted {intent['action']} of {model} from v{intent['from']} to "
        f"v{intent['to']} ({intent['by']}, started {intent['at']} by {intent['owner']})"
    )
    if _exists(client, model, intent["to"]):
        _carry_out(client, model, intent, intent["after"])
        note = f"finished {what}"
    elif all(_exists(client, model, v) for v in intent["before"][-2:]):
        _carry_out(client, model, intent, intent["before"])
        note = f"undid {what}: v{intent['to']} no longer exists; v{intent['from']} is champion"
    else:
        raise PromotionError(
            f"cannot finish nor undo {what}: v{intent['to']} and v{intent['from']} no longer "
            f"exist. Set the aliases by hand, then delete the tag {PROMOTION_INTENT_TAG}."
        )
    log.warning("%s", note)
    return note


def promote(
    client: MlflowClient, model: str, version: str, expected_champion: str | None, tags: dict
) -> str | None:
    """Make `version` the champion, if the champion is still `expected_champion`
    (compare-and-set: a champion that moved since the evaluation is never overwritten).
    An interrupted promotion or rollback is finished first; a retry of a promotion that is
    already done changes nothing. Returns what was finished, if anything."""
    note = finish_interrupted(client, model)
    version, expected = str(version), None if expected_champion is None else str(expected_champion)
    current_version = alias_version_number(client, model, CHAMPION)
    history = champion_history(client, model)
    if current_version == version and history[-2:] == [v for v in (expected, version) if v]:
        return note or f"v{version} was already promoted over v{expected}; nothing to do"
    if current_version != expected:
        raise PromotionError(
            f"{model}: the champion moved from v{expected} to "
            f"v{current_version} while v{version} was being evaluated; not promoting. "
            "Re-run the evaluation against the new champion."
            + (f" (Before checking, this {note}.)" if note else "")
        )
    intent = {
        "action": "promote",
        "from": expected,
        "to": version,
        "before": history,
        "after": [v for v in history if v != version] + [version],
        "version_tags": {version: {k: str(v) for k, v in tags.items()}},
        "by": str(tags.get(PROMOTED_BY_TAG, "")),
        "why": str(tags.get(PROMOTED_BECAUSE_TAG, "")),
    }
    _record_and_carry_out(client, model, intent)
    return note


def rollback(
    client: MlflowClient,
    model: str,
    reason: str,
    check=None,
    by: str = "rollback",
    ds: str | None = None,
) -> dict:
    """Move `champion` one step back in the promotion history (an interrupted promotion or
    rollback is finished first); returns {'from', 'to'} and, when it finished one,
    'finished'. A retry (same `by` and `reason`) of an interrupted rollback finishes it and
    goes no further back. `check(version)` may raise to refuse a target (for example: it
    no longer loads). `ds`, the data day it happens on, is kept for hindsight."""
    retried = promotion_intent(client, model) or {}
    note = finish_interrupted(client, model)
    if retried.get("action") == "rollback" and (retried["by"], retried["why"]) == (by, reason):
        if note.startswith("finished"):
            return {"from": retried["from"], "to": retried["to"], "finished": note}
    history = champion_history(client, model)
    if len(history) < 2:
        raise PromotionError(
            f"{model}: no previous champion to roll back to (history: {history or 'empty'})."
        )
    current, target = history[-1], history[-2]
    if check is not None:
        check(target)
    intent = {
        "action": "rollback",
        "from": current,
        "to": target,
        "before": history,
        "after": history[:-1],
        "version_tags": {
            current: {ROLLED_BACK_TAG: reason, **({ROLLED_BACK_DS_TAG: ds} if ds else {})},
            target: {RESTORED_TAG: reason},
        },
        "by": by,
        "why": reason,
    }
    _record_and_carry_out(client, model, intent)
    return {"from": current, "to": target, **({"finished": note} if note else {})}
