"""The promotion gate: is the candidate safe to serve, and is it better than the champion
by more than noise?

1. The evaluation set (golden days plus the recent labelled days) is read day by day with
   its version, keeping only what the judgment needs (keys, labels, days, slice columns);
   no row of it may be in either model's training window.
2. Both models are loaded and score the set day by day in a fresh process, as the score
   DAG loads them; the candidate's sanity checks must pass (mlgate.promote.sanity).
3. Both models are compared on the same rows and the spec's rules decide
   (mlgate.promote.decide): promote, refuse, or ask a person (the gray zone).

The decision, its card (HTML and JSON, mlgate.promote.card) and the metrics are logged to
the candidate's MLflow run and tagged on its model version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from pathlib import Path

import pandas as pd

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.store import Lake
from mlgate.promote import decide as binary_rules
from mlgate.promote import golden, registry, regression, sanity
from mlgate.promote.decide import REFUSE, Decision, decide


def evaluate_candidate(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    candidate_version: str,
    window: dict,
    run: dict | None = None,
    log: bool = True,
) -> Decision:
    """Judge a registered candidate against the current champion on the same rows and
    return the decision; with `log`, the decision, its card and the metrics go to the
    candidate's MLflow run and model version."""
    from mlgate.promote import card

    cfg = spec.section("evaluation")
    level, rounds = float(cfg["confidence"]), int(cfg["bootstrap_rounds"])
    max_rows = int(cfg["bootstrap_max_rows"])
    client = tracking.client(settings)
    label = spec.section("label")["name"]
    candidate_mv = client.get_model_version(spec.model, str(candidate_version))
    champion_mv = _champion_to_judge_against(client, spec, candidate_version)
    versions = {"candidate": str(candidate_version)}
    if champion_mv is not None:
        versions["champion"] = str(champion_mv.version)
    evaluation_set, champion_window, probes = _read_and_score(
        lake, settings, spec, window, champion_mv, versions
    )
    frame = evaluation_set.frame
    training = client.get_run(candidate_mv.run_id).data.metrics
    checks = sanity.sanity_checks(spec, probes["candidate"], frame, training)
    labels = frame[label].to_numpy(dtype=float if spec.is_regression else int)
    scores = {name: p["scores"] for name, p in probes.items() if "scores" in p}
    if "candidate" not in scores:
        decision = Decision(
            REFUSE,
            champion_mv is None,
            str(candidate_version),
            versions.get("champion"),
            [f"sanity check loads failed: {probes['candidate']['error']}"],
            {"candidate": {"rows": int(len(frame))}},
        )
    else:
        fresher = None
        if champion_window:
            fresher = window["train_days"][-1] > champion_window["train_days"][-1]
        decision = _decide_on_scores(
            spec, frame, labels, scores, checks, versions, fresher, level, (rounds, max_rows)
        )
    decision.checks = checks
    decision.metrics.update(
        level=f"{level:.0%}",
        latency_ms=probes["candidate"].get("latency_ms"),
        model_mb=round(probes["candidate"].get("size_bytes", 0) / 1e6, 3),
    )
    decision.lineage = _lineage(
        spec, evaluation_set, window, versions, candidate_mv, champion_mv, champion_window, run
    )
    if log:
        card.log_card(settings, spec, decision, labels, scores)
    return decision


def _read_and_score(lake, settings, spec, window, champion_mv, versions):
    """The evaluation set (read a day at a time), the champion's window, and both models'
    scores and probes from a fresh process that reads the days' staged rows."""
    with tempfile.TemporaryDirectory(prefix="mlgate-evaluation-") as tmp:
        days = sanity.BatchFiles(Path(tmp))
        evaluation_set, champion_window = _evaluation_set(
            lake, settings, spec, window, champion_mv, days
        )
        probes = _score_in_fresh_process(
            lake, settings, spec, window, evaluation_set, versions, days.paths
        )
    return evaluation_set, champion_window, probes


def _champion_to_judge_against(client, spec: Spec, candidate_version: str):
    """The champion's model version (None before the first promotion); raise when the
    candidate is the champion already."""
    champion_mv = registry.alias_version(client, spec.model, tracking.CHAMPION)
    if champion_mv is not None and str(champion_mv.version) == str(candidate_version):
        raise golden.EvaluationError(
            f"v{candidate_version} is already the champion of {spec.model}; nothing to judge."
        )
    return champion_mv


def _evaluation_set(
    lake: Lake, settings: Settings, spec: Spec, window: dict, champion_mv, each_day
) -> tuple[golden.EvaluationSet, dict | None]:
    """The evaluation set (its judged columns; `each_day` gets each day's whole frame as it
    is read), checked to be non-empty and outside both models' training windows; returns
    it with the champion's training window (None without a champion)."""
    evaluation_set = golden.build_evaluation_set(
        lake, spec, window["golden_days"], window["recent_days"], each_day
    )
    if evaluation_set.frame.empty:
        raise golden.EvaluationError(
            f"{spec.model}: no golden or recent labelled days to evaluate on; "
            "ingest more days first."
        )
    golden.check_disjoint(lake, spec, evaluation_set, window["train_days"], "candidate")
    champion_window = (
        tracking.training_window(settings, champion_mv.run_id) if champion_mv else None
    )
    if champion_window:
        golden.check_disjoint(lake, spec, evaluation_set, champion_window["train_days"], "champion")
    return evaluation_set, champion_window


def _score_in_fresh_process(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    window: dict,
    evaluation_set: golden.EvaluationSet,
    versions: dict[str, str],
    day_files: list[Path],
) -> dict:
    """Both models' probes on the evaluation set (its days' files, scored one day at a
    time), in a fresh process; raise if the set changed meanwhile or the champion does not
    load."""
    probes = sanity.score_files_in_fresh_process(settings.tracking_uri, spec, versions, day_files)
    golden.verify_unchanged(
        lake, spec, evaluation_set, window["golden_days"], window["recent_days"]
    )
    if "champion" in versions and not probes["champion"].get("loaded"):
        raise golden.EvaluationError(
            f"the champion v{versions['champion']} does not load in a fresh process "
            f"({probes['champion']['error']}); roll it back before judging candidates."
        )
    return probes


def _decide_on_scores(
    spec: Spec,
    frame: pd.DataFrame,
    labels,
    scores: dict,
    checks: list[dict],
    versions: dict[str, str],
    fresher: bool | None,
    level: float,
    resampling: tuple[int, int],
) -> Decision:
    """Compare the models on the same rows, per slice too, and apply the spec's rules;
    `resampling` is (bootstrap rounds, the most rows the bootstrap is run on)."""
    label = spec.section("label")["name"]
    champion_scores = scores.get("champion")
    if spec.is_regression:
        comparison = regression.compare(labels, scores["candidate"], champion_scores, level)
        slices = regression.slice_table(frame, spec, label, scores["candidate"], champion_scores)
    else:
        comparison = binary_rules.compare(
            labels, scores["candidate"], champion_scores, level, *resampling
        )
        slices = binary_rules.slice_table(frame, spec, label, scores["candidate"], champion_scores)
    decision = decide(
        spec,
        comparison,
        checks,
        slices,
        versions["candidate"],
        versions.get("champion"),
        fresher,
    )
    decision.slices = slices
    return decision


def _lineage(
    spec: Spec,
    evaluation_set: golden.EvaluationSet,
    window: dict,
    versions: dict[str, str],
    candidate_mv,
    champion_mv,
    champion_window: dict | None,
    run: dict | None,
) -> dict:
    """Where the decision came from: the evaluation set's version and rows, both models'
    versions, runs and training windows, the Airflow run, the time."""
    frame, label = evaluation_set.frame, spec.section("label")["name"]
    return {
        "evaluation_set": {
            "version": evaluation_set.version,
            "manifest": evaluation_set.manifest,
            "rows": int(len(frame)),
            "golden_days": window["golden_days"],
            "recent_days": window["recent_days"],
        },
        "candidate": {
            "version": versions["candidate"],
            "run_id": candidate_mv.run_id,
            "window": [window["train_days"][0], window["train_days"][-1]],
            "window_days": len(window["train_days"]),
        },
        "champion": None
        if champion_mv is None
        else {
            "version": versions["champion"],
            "run_id": champion_mv.run_id,
            "window": [champion_window["train_days"][0], champion_window["train_days"][-1]]
            if champion_window
            else None,
        },
        "airflow": run or {},
        "evaluated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "rows_sha256": hashlib.sha256(
            pd.util.hash_pandas_object(frame[[spec.id_column, label]], index=False).values.tobytes()
        ).hexdigest(),
    }
