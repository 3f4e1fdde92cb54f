"""Monitoring: join the labels that have arrived to the predictions, measure live
quality and drift against the champion's training data, and decide whether to ask for
retraining (outside the cool-down after the last training)."""

from __future__ import annotations

import datetime as dt
import json


from mlgate import drift, registry
from mlgate.evaluate import quality
from mlgate.features import FeatureSchema, model_matrix
from mlgate.ingest import FEATURES_FILE, LABELS_FILE
from mlgate.lake import Lake
from mlgate.score import PREDICTIONS_FILE
from mlgate.settings import Settings
from mlgate.spec import Spec
from mlgate.train import load_reference_profile


def window_days(ds: str, days: int) -> list[str]:
    end = dt.date.fromisoformat(ds)
    return [(end - dt.timedelta(days=i)).isoformat() for i in range(days - 1, -1, -1)]


def live_quality(lake: Lake, spec: Spec, days: list[str]) -> dict:
    """Quality of the served predictions on the days whose labels have arrived."""
    label = spec.section("label")["name"]
    predicted = [d for d in days if lake.exists("predictions", spec.model, d)]
    if not predicted:
        return {"predicted_rows": 0, "labelled_rows": 0, "coverage": 0.0}
    preds = lake.read_frames("predictions", spec.model, predicted, PREDICTIONS_FILE)
    labelled = [d for d in predicted if lake.exists("outcomes", spec.model, d)]
    out = {"predicted_rows": int(len(preds)), "labelled_rows": 0, "coverage": 0.0}
    if labelled:
        labels = lake.read_frames("outcomes", spec.model, labelled, LABELS_FILE)[[spec.id_column, label]]
        joined = preds.merge(labels, on=spec.id_column, how="inner")
        out.update({"labelled_rows": int(len(joined)), "coverage": round(len(joined) / len(preds), 4)})
        if len(joined):
            out.update(quality(joined[label], joined["score"]))
    return out


def last_training_ds(settings: Settings, spec: Spec) -> str | None:
    """Logical date of the most recent training (promoted or not)."""
    versions = registry.client_for(settings).search_model_versions(f"name='{spec.model}'")
    dates = [mv.tags.get("mlgate.ds") for mv in versions if mv.tags.get("mlgate.ds")]
    return max(dates) if dates else None


def current_drift(lake: Lake, settings: Settings, spec: Spec, champion, days: list[str]) -> dict:
    """Drift of the validated days in the window against the champion's training data."""
    import mlflow

    present = [d for d in days if lake.exists("validated", spec.model, d)]
    if not present:
        return {"drift": False, "drifted_share": 0.0, "features": [], "days": []}
    cfg = spec.section("monitoring")["drift"]
    reference = load_reference_profile(settings, champion.run_id)
    mlflow.set_tracking_uri(settings.tracking_uri)
    schema = FeatureSchema.from_json(json.dumps(mlflow.artifacts.load_dict(
        f"models:/{spec.model}/{champion.version}/artifacts/feature_schema.json")))
    current = model_matrix(lake.read_frames("validated", spec.model, present, FEATURES_FILE), schema)
    result = drift.summarize(drift.compare(reference, current, float(cfg["threshold"])), float(cfg["min_drifted_share"]))
    return {**result, "days": present}


def monitor_day(lake: Lake, settings: Settings, spec: Spec, ds: str, run: dict) -> dict:
    """Monitor the window ending on `ds`; the report says whether to request retraining."""
    cfg = spec.section("monitoring")
    client = registry.client_for(settings)
    champion = registry.alias_version(client, spec.model, registry.CHAMPION)
    days = window_days(ds, int(cfg["window_days"]))
    report = {"model": spec.model, "ds": ds, "window": days, "retrain": False, "reasons": [], "quiet_reasons": []}
    if champion is None:
        report["quiet_reasons"].append("no champion yet")
        return _commit(lake, spec, ds, report, run)
    report["champion"] = str(champion.version)
    report["live"] = live_quality(lake, spec, days)
    report["drift"] = current_drift(lake, settings, spec, champion, days)
    reasons = []
    if report["drift"]["drift"]:
        drifted = [f["name"] for f in report["drift"]["features"] if f["drifted"]]
        reasons.append(f"drift in {len(drifted)} feature(s) ({', '.join(drifted)}), share "
                       f"{report['drift']['drifted_share']:.0%} >= {cfg['drift']['min_drifted_share']:.0%}")
    eval_auc = champion.tags.get("mlgate.eval_auc")
    live = report["live"]
    if eval_auc and live.get("labelled_rows", 0) >= int(cfg["live_quality"]["min_labelled_rows"]) and "auc" in live:
        drop = float(eval_auc) - live["auc"]
        report["live"]["auc_drop"] = round(drop, 4)
        if drop > float(cfg["live_quality"]["max_auc_drop"]):
            reasons.append(f"live AUC {live['auc']:.4f} is {drop:.4f} below the champion's evaluation AUC {float(eval_auc):.4f}")
    last = last_training_ds(settings, spec)
    in_cooldown = last is not None and (dt.date.fromisoformat(ds) - dt.date.fromisoformat(last)).days < int(cfg["cooldown_days"])
    if reasons and in_cooldown:
        report["quiet_reasons"].append(f"cool-down: last training on {last}, within {cfg['cooldown_days']} days")
    report["retrain"] = bool(reasons) and not in_cooldown
    report["reasons"] = reasons
    return _commit(lake, spec, ds, report, run)


def _commit(lake: Lake, spec: Spec, ds: str, report: dict, run: dict) -> dict:
    lake.write_report(f"{spec.model}-monitor", ds, {"report.json": json.dumps(report, indent=2, default=str).encode()}, run)
    return report
