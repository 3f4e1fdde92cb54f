"""Monitoring: check the window's data first, join the labels that have matured to the
served predictions, measure live quality (with intervals, per slice) and drift against the
champion's training data, and decide whether to ask for retraining. The window's features
are read and counted over the reference's bins day by day (exact: counts add up); only the
predictions and labels (a few columns) are joined for the whole window.

A request needs evidence that persists (k of the last n monitor runs of this champion),
must fall outside the cool-down after the last training, and is held back while the pause
switch is on. Every run writes its report (JSON and HTML) to `reports/<model>-monitor/`.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.ingest.labels import labelled_rows
from mlgate.lake.names import (
    DRIFT_REPORT_FILE,
    FEATURES_FILE,
    LABELS_FILE,
    PREDICTIONS_FILE,
    REPORT_FILE,
    monitor_name,
    shadow_name,
)
from mlgate.lake.store import Lake
from mlgate.model import profile
from mlgate.model.features import FeatureSchema
from mlgate.monitor import drift
from mlgate.promote import registry, stats


def window_days(ds: str, days: int) -> list[str]:
    end = dt.date.fromisoformat(ds)
    return [(end - dt.timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]


def _days_before(ds: str, days: int) -> str:
    return (dt.date.fromisoformat(ds) - dt.timedelta(days=days)).isoformat()


def window_inventory(lake: Lake, spec: Spec, days: list[str]) -> dict:
    """Which days of the window passed the gate, which were quarantined, which never came,
    and the folders of the model's zones that are not partitions (skipped everywhere)."""
    out = {"validated": [], "quarantined": [], "absent": []}
    for d in days:
        zone = (
            "validated"
            if lake.exists("validated", spec.model, d)
            else ("quarantined" if lake.exists("quarantine", spec.model, d) else "absent")
        )
        out[zone].append(d)
    out["odd_folders"] = [
        where for zone in ("validated", "outcomes") for where in lake.odd_folders(zone, spec.model)
    ]
    return out


def predictions_of(lake: Lake, name: str, days: list[str], version: str | None) -> pd.DataFrame:
    """The predictions feed `name` (the served one or the shadow one) on `days`, only the
    rows made by `version` when given."""
    scored = [d for d in days if lake.exists("predictions", name, d)]
    if not scored:
        return pd.DataFrame()
    preds = lake.read_frames("predictions", name, scored, PREDICTIONS_FILE)
    return preds[preds["model_version"] == version].reset_index(drop=True) if version else preds


def joined_labels(
    lake: Lake, spec: Spec, name: str, days: list[str], version: str | None
) -> tuple[pd.DataFrame, int]:
    """Predictions of `name` by `version` on `days`, joined by key to the outcomes that
    have arrived; returns (joined rows, predicted rows)."""
    preds = predictions_of(lake, name, days, version)
    if preds.empty:
        return preds, 0
    predicted = sorted(preds["ds"].unique())
    labelled = [d for d in predicted if lake.exists("outcomes", spec.model, d)]
    if not labelled:
        return pd.DataFrame(), int(len(preds))
    label = spec.section("label")["name"]
    labels = lake.read_frames("outcomes", spec.model, labelled, LABELS_FILE)[
        [spec.id_column, label]
    ]
    # predictions carry the id as text (score.batch): an integer id in the outcomes joins too
    labels = labels.assign(**{spec.id_column: labels[spec.id_column].astype(str)})
    joined = labelled_rows(preds.merge(labels, on=spec.id_column, how="inner"), spec)
    return joined, int(len(preds))


def rate_interval(positives: int, rows: int, level: float) -> tuple[float, float]:
    """Wilson interval of an observed rate."""
    if rows == 0:
        return float("nan"), float("nan")
    z, p = stats.z_value(level), positives / rows
    centre, half = (
        (p + z * z / (2 * rows)),
        z * np.sqrt(p * (1 - p) / rows + z * z / (4 * rows * rows)),
    )
    return (centre - half) / (1 + z * z / rows), (centre + half) / (1 + z * z / rows)


def quality_with_intervals(labels: pd.Series, scores: pd.Series, level: float) -> dict:
    """AUC (DeLong interval), log loss, observed rate (Wilson interval), mean prediction."""
    out = stats.quality(labels.to_numpy(), scores.to_numpy())
    if labels.nunique() == 2:
        auc = stats.delong(labels.to_numpy(), scores.to_numpy(), level=level)
        out.update(auc_low=auc["auc_low"], auc_high=auc["auc_high"])
    low, high = rate_interval(int(labels.sum()), len(labels), level)
    out.update(rate_low=low, rate_high=high)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def quality_of(spec: Spec, labels: pd.Series, scores: pd.Series, level: float) -> dict:
    """Live quality in the task's terms: AUC, log loss and rate (binary), or RMSE and MAE
    with their intervals, mean label, mean prediction and bias (regression). A figure that
    cannot be computed is left out, never NaN."""
    if not spec.is_regression:
        return quality_with_intervals(labels, scores, level)
    out = stats.regression_quality(labels.to_numpy(), scores.to_numpy(), level)
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def live_quality(lake: Lake, spec: Spec, ds: str, days: list[str], version: str) -> dict:
    """Quality of the champion's served predictions on the window's mature days (older
    than the label maturity window), with the label coverage, overall and per slice."""
    cfg, level = (
        spec.section("monitoring")["live_quality"],
        float(spec.section("evaluation")["confidence"]),
    )
    maturity = int(spec.section("monitoring")["label_maturity_days"])
    mature = [d for d in days if d <= _days_before(ds, maturity)]
    joined, predicted = joined_labels(lake, spec, spec.model, mature, version)
    out = {
        "mature_days": mature,
        "label_maturity_days": maturity,
        "predicted_rows": predicted,
        "labelled_rows": int(len(joined)),
        "coverage": round(len(joined) / predicted, 4) if predicted else 0.0,
    }
    if joined.empty:
        return out
    label = spec.section("label")["name"]
    out.update(quality_of(spec, joined[label], joined["score"], level))
    slices = {}
    for column in spec.slices:
        if column not in joined.columns:
            continue
        for value, rows in joined.groupby(column):
            if len(rows) >= int(cfg["min_slice_rows"]):
                slices[f"{column}={value}"] = quality_of(spec, rows[label], rows["score"], level)
    out["slices"] = slices
    return out


def shadow_quality(
    lake: Lake, spec: Spec, ds: str, days: list[str], champion_version: str
) -> dict | None:
    """The challenger's shadow predictions against the champion's, on the same labelled
    rows: both AUCs and the paired difference (DeLong)."""
    maturity = int(spec.section("monitoring")["label_maturity_days"])
    mature = [d for d in days if d <= _days_before(ds, maturity)]
    shadow, _ = joined_labels(lake, spec, shadow_name(spec.model), mature, None)
    if shadow.empty:
        return None
    served, _ = joined_labels(lake, spec, spec.model, mature, champion_version)
    label = spec.section("label")["name"]
    both = served.merge(
        shadow[[spec.id_column, "score", "model_version"]],
        on=spec.id_column,
        suffixes=("", "_shadow"),
    )
    if spec.is_regression:
        return _shadow_regression(both, label, champion_version) if len(both) >= 2 else None
    if both.empty or both[label].nunique() < 2:
        return None
    cmp = stats.delong(
        both[label].to_numpy(), both["score_shadow"].to_numpy(), both["score"].to_numpy()
    )
    return {
        "challenger": str(both["model_version_shadow"].iloc[-1]),
        "champion": champion_version,
        "rows": int(len(both)),
        "challenger_auc": round(cmp["auc"], 4),
        "champion_auc": round(cmp["other_auc"], 4),
        "auc_change": round(cmp["diff"], 4),
        "auc_change_low": round(cmp["diff_low"], 4),
        "auc_change_high": round(cmp["diff_high"], 4),
    }


def _shadow_regression(both: pd.DataFrame, label: str, champion_version: str) -> dict:
    """A regression challenger against the champion on the same labelled rows: both RMSEs
    and the paired RMSE and MAE changes (delta method, CLT)."""
    y = both[label].to_numpy(dtype=float)
    shadow, served = both["score_shadow"].to_numpy(), both["score"].to_numpy()
    paired = stats.paired_regression(y, shadow, served)
    return {
        "challenger": str(both["model_version_shadow"].iloc[-1]),
        "champion": champion_version,
        "rows": int(len(both)),
        "challenger_rmse": round(stats.rmse(y, shadow), 4),
        "champion_rmse": round(stats.rmse(y, served), 4),
        **{
            f"{metric}_change{suffix}": round(paired[f"{metric}_diff"][part], 4)
            for metric in ("rmse", "mae")
            for part, suffix in (("diff", ""), ("low", "_low"), ("high", "_high"))
        },
    }


def integrity(
    reference: dict, current: pd.DataFrame | drift.WindowCounts, inventory: dict, cfg: dict
) -> dict:
    """Checks that run before drift: enough rows, and no feature far more often missing
    than in training (a broken feed, not a changed world). Features that fail are left
    out of drift; quarantined days never reach it (only validated days are read).
    `current` is the window's frame or its counts (`drift.count_batches`)."""
    problems, skip, current = [], {}, drift.as_counts(reference, current)
    for d in inventory["quarantined"]:
        problems.append(f"{d} was quarantined by the gate: not counted")
    for where in inventory.get("odd_folders", []):
        problems.append(
            f"{where} is not a partition (ds=YYYY-MM-DD, a real date): skipped; move or delete it"
        )
    rows = int(current.rows)
    if rows < int(cfg["drift"]["min_rows"]):
        problems.append(
            f"only {rows} validated rows in the window (drift needs {cfg['drift']['min_rows']}): "
            "drift not judged"
        )
    for col, entry in reference["features"].items():
        if col not in current.counts:
            skip[col] = "missing from the current data"
            continue
        ref_missing = profile.missing_share(entry, np.asarray(entry["counts"]))
        now = profile.missing_share(entry, current.counts[col])
        if now - ref_missing > float(cfg["integrity"]["max_missing_increase"]):
            skip[col] = f"missing in {now:.0%} of rows against {ref_missing:.0%} in training"
    problems += [f"{col}: {why}: a data problem, left out of drift" for col, why in skip.items()]
    return {
        "rows": rows,
        "problems": problems,
        "skipped": skip,
        "drift_judged": rows >= int(cfg["drift"]["min_rows"]),
    }


def window_counts(
    lake: Lake, spec: Spec, days: list[str], schema: FeatureSchema, reference: dict
) -> drift.WindowCounts:
    """The validated features of `days` as the model sees them, counted over the
    reference's bins one day at a time (the window's feature frame is never held)."""
    batches = (
        profile.inputs(lake.read_frame("validated", spec.model, d, FEATURES_FILE), schema)
        for d in days
    )
    return drift.count_batches(reference, batches)


def champion_schema(settings: Settings, spec: Spec, version: str) -> FeatureSchema:
    """The feature schema a registered version was trained with."""
    return FeatureSchema.from_json(
        json.dumps(tracking.feature_schema(settings, spec.model, version))
    )


def model_age(champion, ds: str) -> dict:
    """How old the champion's knowledge is: days since its window ended and since promotion."""
    day = dt.date.fromisoformat(ds)
    out = {"version": str(champion.version), "window": champion.tags.get(tracking.WINDOW_TAG)}
    last_day = tracking.window_last_day(champion)
    if last_day:
        out["days_since_training_data"] = (day - dt.date.fromisoformat(last_day)).days
    promoted = champion.tags.get(tracking.PROMOTED_AT_TAG)
    if promoted:
        out["promoted_at"] = promoted
        out["days_since_promotion"] = (day - dt.date.fromisoformat(promoted[:10])).days
    return out


def last_training_ds(settings: Settings, spec: Spec) -> str | None:
    """Logical date of the most recent training (promoted or not)."""
    versions = tracking.client(settings).search_model_versions(f"name='{spec.model}'")
    dates = [mv.tags.get(tracking.DS_TAG) for mv in versions if mv.tags.get(tracking.DS_TAG)]
    return max(dates) if dates else None


def evaluation_baselines(champion) -> tuple[float | None, float | None]:
    """The champion's AUC and RMSE as the promotion gate measured them (None when absent)."""
    return tracking.eval_auc(champion), tracking.eval_rmse(champion)


def evidence(
    report: dict, cfg: dict, eval_auc: float | None, eval_rmse: float | None = None
) -> list[str]:
    """What this window says against the champion: drift of features carrying at least
    `min_drifted_share` of its importance (`importance_drift`), drift of its predictions,
    live AUC credibly below its evaluation AUC (a regression: live RMSE credibly above its
    evaluation RMSE)."""
    reasons = []
    d = report.get("drift") or {}
    if d.get("importance_drift"):
        reasons.append(
            f"drift in {', '.join(d['drifted'])}: {d['drifted_importance']:.0%} of the "
            f"model's feature importance (>= {d['min_drifted_share']:.0%}), false-alarm "
            f"rate {d['false_alarm_rate']}"
        )
    pred = d.get("predictions")
    if pred and pred["drifted"]:
        reasons.append(
            f"the predictions drifted: KS {pred['statistic']:.3f} > {pred['threshold']:.3f} "
            f"(p {pred['p_value']:.2g})"
        )
    live, q = report.get("live") or {}, cfg["live_quality"]
    enough = live.get("labelled_rows", 0) >= int(q["min_labelled_rows"]) and live.get(
        "coverage", 0
    ) >= float(q["min_coverage"])
    if enough and eval_rmse is not None and "rmse_low" in live:
        limit = eval_rmse * (1 + float(q["max_rmse_increase"]))
        if live["rmse_low"] > limit:
            reasons.append(
                f"live RMSE {live['rmse']:.2f} ({live['rmse_low']:.2f} to {live['rmse_high']:.2f}, "
                f"{live['labelled_rows']} rows, coverage {live['coverage']:.0%}) is more than "
                f"{float(q['max_rmse_increase']):.0%} above the champion's evaluation RMSE "
                f"{eval_rmse:.2f}"
            )
    if enough and eval_auc is not None and "auc_high" in live:
        if live["auc_high"] < eval_auc - float(q["max_auc_drop"]):
            reasons.append(
                f"live AUC {live['auc']:.4f} ({live['auc_low']:.4f} to {live['auc_high']:.4f}, "
                f"{live['labelled_rows']} rows, coverage {live['coverage']:.0%}) is more than "
                f"{q['max_auc_drop']} below the champion's evaluation AUC {eval_auc:.4f}"
            )
    return reasons


def earlier_evidence(lake: Lake, spec: Spec, ds: str, champion: str, runs: int) -> list[str]:
    """Days of the `runs` monitor reports before `ds` (daily or not) that found evidence
    against this same champion."""
    earlier = (
        [d for d in lake.list_partitions("reports", monitor_name(spec.model)) if d < ds][-runs:]
        if runs > 0
        else []
    )
    reports = [
        json.loads(lake.read_bytes("reports", monitor_name(spec.model), d, REPORT_FILE))
        for d in earlier
    ]
    return [r["ds"] for r in reports if r.get("champion") == champion and r.get("evidence")]


def decide(
    report: dict, cfg: dict, last_training: str | None, paused: bool, earlier: list[str]
) -> dict:
    """Persistence (k of n), cool-down and the pause switch turn evidence into a request."""
    k, n = int(cfg["persistence"]["k"]), int(cfg["persistence"]["n"])
    with_evidence = earlier + ([report["ds"]] if report["evidence"] else [])
    persistent = len(with_evidence) >= k
    cooldown_until = (
        (
            dt.date.fromisoformat(last_training) + dt.timedelta(days=int(cfg["cooldown_days"]))
        ).isoformat()
        if last_training
        else None
    )
    in_cooldown = cooldown_until is not None and report["ds"] < cooldown_until
    quiet = []
    if report["evidence"] and not persistent:
        quiet.append(f"evidence in {len(with_evidence)} of the last {n} runs; a request needs {k}")
    if persistent and in_cooldown:
        quiet.append(
            f"cool-down: last training on {last_training}; the request waits until {cooldown_until}"
        )
    if paused:
        quiet.append(
            "automatic retraining is paused (Airflow Variable "
            f"{report['pause_variable']}): "
            + (
                "the request was held back"
                if persistent and not in_cooldown
                else "nothing will be requested"
            )
        )
    retrain = persistent and not in_cooldown and not paused
    return {
        "persistence": {"k": k, "n": n, "runs_with_evidence": with_evidence},
        "cooldown_until": cooldown_until,
        "paused": paused,
        "retrain": retrain,
        "reasons": report["evidence"] if persistent else [],
        "quiet_reasons": quiet,
        "alert": alert_kind(report, retrain, persistent and not in_cooldown and paused),
    }


def alert_kind(report: dict, retrain: bool, held_back: bool) -> str | None:
    if report.get("champion_outside_gate"):
        return "champion_outside_gate"
    if retrain:
        return "retrain_requested"
    if held_back:
        return "retrain_paused"
    checks = report.get("integrity", {})
    if checks.get("skipped") or checks.get("drift_judged") is False:
        return "data_integrity"
    return None


def empty_report(spec: Spec, ds: str, days: list[str], paused: bool, pause_variable: str):
    """A monitor report before anything is measured."""
    return {
        "kind": "mlgate.monitor_report",
        "model": spec.model,
        "ds": ds,
        "window": days,
        "champion": None,
        "evidence": [],
        "retrain": False,
        "reasons": [],
        "quiet_reasons": [],
        "paused": paused,
        "pause_variable": pause_variable,
        "alert": None,
    }


def monitor_day(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    ds: str,
    run: dict,
    paused: bool = False,
    pause_variable: str = "",
    decisions: dict | None = None,
) -> dict:
    """Monitor the window ending on `ds`; the report says whether to request retraining.
    `decisions`, what live evidence decided this day (monitor.evidence.live_decisions),
    goes into the report as it is."""
    cfg = spec.section("monitoring")
    client = tracking.client(settings)
    champion = registry.alias_version(client, spec.model, tracking.CHAMPION)
    days = window_days(ds, int(cfg["window_days"]))
    report = empty_report(spec, ds, days, paused, pause_variable)
    report["decisions"] = decisions
    report["champion_outside_gate"] = registry.champion_outside_gate(client, spec.model)
    if champion is None:
        report["quiet_reasons"].append("no champion yet")
        return commit_report(lake, settings, spec, report, run)
    version = str(champion.version)
    reference = tracking.reference_profile(settings, champion.run_id)
    inventory = window_inventory(lake, spec, days)
    current = window_counts(
        lake, spec, inventory["validated"], champion_schema(settings, spec, version), reference
    )
    report.update(champion=version, model_age=model_age(champion, ds), days=inventory)
    report["integrity"] = {
        **integrity(reference, current, inventory, cfg),
        "quarantined_days": inventory["quarantined"],
    }
    if report["integrity"]["drift_judged"]:
        served = predictions_of(lake, spec.model, inventory["validated"], version)
        report["drift"] = drift.compare(
            reference,
            current,
            float(cfg["drift"]["false_alarm_rate"]),
            float(cfg["drift"]["min_drifted_share"]),
            predictions=served["score"] if not served.empty else None,
            skip=report["integrity"]["skipped"],
            seed=int(spec.section("training")["seed"]),
        )
    report["live"] = live_quality(lake, spec, ds, days, version)
    report["shadow"] = shadow_quality(lake, spec, ds, days, version)
    report["evidence"] = evidence(report, cfg, *evaluation_baselines(champion))
    earlier = earlier_evidence(lake, spec, ds, version, int(cfg["persistence"]["n"]) - 1)
    report.update(decide(report, cfg, last_training_ds(settings, spec), paused, earlier))
    return commit_report(lake, settings, spec, report, run)


def commit_report(lake: Lake, settings: Settings, spec: Spec, report: dict, run: dict) -> dict:
    """Write the report (JSON and HTML) to the lake's reports zone and log it to MLflow (the
    champion's monitor run, the day as step)."""
    from mlgate.monitor.report import log_to_mlflow, report_html

    report.update(stats.finite_or_none(report))  # no NaN reaches JSON, XCom or MLflow
    page = report_html(report)
    report["location"] = lake.location("reports", monitor_name(spec.model), report["ds"])
    report["mlflow_run_id"], kept = log_to_mlflow(settings, spec, report, page, run)
    if kept:  # a re-run that measured otherwise: MLflow keeps the day's first point
        report["mlflow_kept"] = kept
    lake.write_report(
        monitor_name(spec.model),
        report["ds"],
        {
            REPORT_FILE: json.dumps(report, indent=2, default=str).encode(),
            DRIFT_REPORT_FILE: page.encode(),
        },
        run,
    )
    return report


def summary_lines(report: dict) -> list[str]:
    """The report in a few lines for the task log."""
    verdict = "RETRAINING REQUESTED" if report["retrain"] else "no retraining request"
    lines = [f"{report['model']} {report['ds']}: {verdict} (champion v{report.get('champion')})"]
    lines += [f"  evidence: {r}" for r in report.get("evidence", [])]
    lines += [f"  quiet: {r}" for r in report.get("quiet_reasons", [])]
    lines += [f"  data: {p}" for p in report.get("integrity", {}).get("problems", [])]
    live = report.get("live") or {}
    if "rmse" in live:
        lines.append(
            f"  live RMSE {live['rmse']:.2f} ({live['rmse_low']:.2f} to {live['rmse_high']:.2f}), "
            f"MAE {live['mae']:.2f} on {live['labelled_rows']} rows, label coverage "
            f"{live['coverage']:.0%}; mean prediction {live['mean_prediction']:.2f} against "
            f"a mean label {live['mean_label']:.2f}"
        )
    if "auc" in live:
        low, high = live.get("auc_low", float("nan")), live.get("auc_high", float("nan"))
        lines.append(
            f"  live AUC {live['auc']:.4f} ({low:.4f} to {high:.4f}) on {live['labelled_rows']} "
            f"rows, label coverage {live['coverage']:.0%}; mean prediction "
            f"{live['mean_prediction']:.3f} against an observed rate {live['positive_rate']:.3f}"
        )
    if report.get("drift"):
        d = report["drift"]
        lines.append(
            f"  drift: {drift.verdict_text(d)} ({d['drifted_importance']:.0%} of the "
            f"importance drifted; retraining counts it from {d['min_drifted_share']:.0%})"
        )
    kept = report.get("mlflow_kept") or {}
    if kept:
        figures = ", ".join(f"{k} {v['mlflow']:g} (now {v['now']:g})" for k, v in kept.items())
        lines.append(f"  MLflow keeps this day's first figures: {figures}")
    lines.append(f"  report: {report.get('location')}")
    return lines
