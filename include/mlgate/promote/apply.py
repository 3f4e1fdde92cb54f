"""After the gate: where the train DAG goes (promote, ask a person, or stop), and moving
the aliases when the decision (or a person, in the gray zone) says so."""

from __future__ import annotations

import datetime as dt

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.store import Lake
from mlgate.promote import registry
from mlgate.promote.card import decision_description
from mlgate.promote.decide import ASK, PROMOTE, Decision


def is_backfill(run_type: str) -> bool:
    """Whether an Airflow run type (`DagRunType.BACKFILL_JOB`, "backfill", ...) is a backfill."""
    return "BACKFILL" in str(run_type).upper()


def route(
    spec: Spec, decision: dict, run_type: str, gray_zone: str = "ask"
) -> tuple[str | None, str]:
    """Where the train DAG goes after the gate: ("promote" | "approve" | None, why).
    Backfill runs never promote; a gray zone asks a person unless the spec or the run says
    otherwise (`gray_zone="evidence"`, for unattended runs: live labels settle it;
    `"refuse"`: refused)."""
    if is_backfill(run_type):
        return None, f"backfill runs never promote; the decision was: {decision['sentence']}"
    if decision["outcome"] == PROMOTE:
        return "promote", decision["sentence"]
    if (
        decision["outcome"] == ASK
        and spec.section("evaluation")["approval"]["ask"]
        and gray_zone == "ask"
    ):
        return "approve", f"gray zone: asking a person in Required Actions. {decision['sentence']}"
    if left_to_evidence(spec, decision, run_type, gray_zone, None):
        return None, (
            f"gray zone: v{decision['candidate']} stays the challenger, scored in shadow, "
            f"until live labels settle it (evaluation.evidence). {decision['sentence']}"
        )
    return None, f"champion unchanged: {decision['sentence']}"


def left_to_evidence(
    spec: Spec, decision: dict, run_type: str, gray_zone: str, answer: dict | None
) -> bool:
    """Whether a gray-zone candidate waits for live evidence (evaluation.evidence.settle):
    an unattended run (`gray_zone="evidence"`), or nobody answered in Required Actions
    before the timeout. A person's answer, and a backfill, are never left to it."""
    if (
        decision["outcome"] != ASK
        or is_backfill(run_type)
        or not spec.section("evaluation")["evidence"]["settle"]
    ):
        return False
    if gray_zone == "evidence":
        return True
    asked = spec.section("evaluation")["approval"]["ask"] and gray_zone == "ask"
    return asked and answer is not None and not (answer.get("responded_by_user") or {})


def apply_decision(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    decision: Decision,
    run: dict,
    approved_by: str | None = None,
    because: str | None = None,
) -> bool:
    """Move the aliases if the decision (or a person, or live evidence, for a gray zone)
    says so; returns whether the champion changed. Backfill runs never promote
    (`run['run_type']`); a gray zone already settled (refused) stays so. The move is a
    compare-and-set under the model's promotion lock: a champion that changed since the
    evaluation is never overwritten (PromotionError says to re-evaluate). `because` replaces
    the recorded reason. The candidate's run and model version then say so in their
    description. A candidate that is not left waiting in the gray zone stops being the
    challenger."""
    client = tracking.client(settings)
    settled = client.get_model_version(spec.model, decision.candidate).tags.get(
        tracking.NOT_PROMOTED_TAG
    )
    allowed = (decision.promote or (decision.outcome == ASK and approved_by)) and not settled
    if (allowed or decision.outcome != ASK) and registry.alias_version_number(
        client, spec.model, tracking.CHALLENGER
    ) == decision.candidate:
        client.delete_registered_model_alias(spec.model, tracking.CHALLENGER)
    if settled and approved_by:
        print(f"v{decision.candidate} was settled before {approved_by} answered: {settled}")
    if not allowed or is_backfill(run.get("run_type", "")):
        return False
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    tags = promotion_tags(decision, run, at, approved_by, because)
    with registry.promotion_lock(lake, spec.model):
        note = registry.promote(client, spec.model, decision.candidate, decision.champion, tags)
    if note:  # an interrupted promotion or rollback was finished (or undone) first
        print(f"{spec.model}: {note}")
    approval = f", approved by {approved_by} in the gray zone" if approved_by else ""
    applied = f"Promoted: v{decision.candidate} became the champion at {at}{approval}" + (
        f": {because}" if because else "."
    )
    tracking.describe(
        settings,
        spec.model,
        decision.candidate,
        decision_description(settings, decision, run, applied),
    )
    return True


def promotion_tags(
    decision: Decision, run: dict, at: str, approved_by: str | None, because: str | None
) -> dict:
    """The tags a promotion leaves on its version: by whom (the Airflow run, and who
    approved a gray zone), why (`because`, or the decision or its approval), when (the time
    and the data day), and the evaluation set's version."""
    why = because or (
        decision.sentence
        if decision.promote
        else f"approved by {approved_by} in the gray zone: {decision.sentence}"
    )
    return {
        tracking.PROMOTED_BY_TAG: f"{run['dag_id']}/{run['run_id']}"
        + (f" (approved by {approved_by})" if approved_by else ""),
        tracking.PROMOTED_BECAUSE_TAG: why[:5000],
        tracking.PROMOTED_AT_TAG: at,
        **({tracking.PROMOTED_DS_TAG: run["ds"]} if run.get("ds") else {}),
        tracking.GOLDEN_VERSION_TAG: decision.lineage.get("evaluation_set", {}).get("version", ""),
    }


def not_promoted_because(
    spec: Spec, decision: dict, run_type: str, gray_zone: str, answer: dict | None
) -> str | None:
    """Why the train run ends without promoting its candidate (refused, a backfill, or
    rejected or unanswered in the gray zone); None when it was promoted. `answer` is what
    the `approve` task returned (Airflow's Required Actions)."""
    step, why = route(spec, decision, run_type, gray_zone)
    if step != "approve":
        return why if step is None else None
    answer = answer or {}
    if answer.get("chosen_options") == ["Approve"]:
        return None
    user = answer.get("responded_by_user") or {}
    who = user.get("name") or user.get("id")
    return (
        f"rejected by {who} in the gray zone: {decision['sentence']}"
        if who
        else f"nobody approved it in the gray zone before the timeout: {decision['sentence']}"
    )


def release_challenger(
    settings: Settings, spec: Spec, decision: dict, run_type: str, gray_zone: str, answer
) -> str | None:
    """A candidate that was not promoted stops being the `challenger` (so the score DAG no
    longer scores it in shadow); its version keeps why (tracking.NOT_PROMOTED_TAG), beside
    the decision tags and the card, and in the description of its run and version. Returns
    what was done, for the log."""
    if left_to_evidence(spec, decision, run_type, gray_zone, answer):
        return (
            f"v{decision['candidate']} stays the challenger, scored in shadow: the monitor "
            "settles it on live labels (evaluation.evidence)"
        )
    why = not_promoted_because(spec, decision, run_type, gray_zone, answer)
    if why is None:
        return None
    return release(settings, spec, decision, why)


def release(settings: Settings, spec: Spec, decision: dict, why: str) -> str | None:
    """The candidate of `decision` is not promoted, because `why`: tagged and described so,
    and no longer the challenger (nor scored in shadow); None when it is the champion."""
    candidate, client = str(decision["candidate"]), tracking.client(settings)
    if registry.alias_version_number(client, spec.model, tracking.CHAMPION) == candidate:
        return None
    client.set_model_version_tag(spec.model, candidate, tracking.NOT_PROMOTED_TAG, why[:5000])
    judged = Decision.from_dict(decision)
    tracking.describe(
        settings,
        spec.model,
        candidate,
        decision_description(
            settings, judged, judged.lineage.get("airflow"), f"Not promoted: {why}"
        ),
    )
    if registry.alias_version_number(client, spec.model, tracking.CHALLENGER) != candidate:
        return f"v{candidate} not promoted ({why}); another version is the challenger now"
    client.delete_registered_model_alias(spec.model, tracking.CHALLENGER)
    return f"v{candidate} is no longer the challenger nor scored in shadow: {why}"
