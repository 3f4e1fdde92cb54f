"""A candidate: train on the window (train.window, train.booster), track it in MLflow
(params, seed, metrics, data lineage, versions, Airflow ids), log it as a pyfunc with a
signature and an input example, and register it with the alias `challenger`. A retried
task reuses the version its Airflow run registered, and any run (a resumed demo, a cleared
or re-triggered Airflow run) reuses the version already trained on the same data with the
same settings (`training_key`) instead of training it again.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.store import Lake
from mlgate.model import profile
from mlgate.train.booster import check_overrides
from mlgate.train.engine import fit_window
from mlgate.train.window import (
    Window,
    WindowRows,
    WindowScan,
    plan_window,
    scan_window,
    window_lineage,
)


def _reused(settings: Settings, spec: Spec, tag: str, value: str) -> dict | None:
    """The newest version of the spec's model whose `tag` is `value`, as a reused candidate."""
    found = [
        mv
        for mv in tracking.client(settings).search_model_versions(f"name='{spec.model}'")
        if mv.tags.get(tag) == value
    ]
    if not found:
        return None
    mv = max(found, key=lambda v: int(v.version))
    return {"version": str(mv.version), "run_id": mv.run_id, "reused": True}


def finished_candidate(settings: Settings, spec: Spec, run: dict) -> dict | None:
    """A candidate already registered by this Airflow run (a retried task reuses it)."""
    return _reused(settings, spec, tracking.RUN_TAG, f"{run['dag_id']}/{run['run_id']}")


TRAINING_SECTIONS = ("task", "keys", "label", "features", "forbidden", "training")


def training_key(spec: Spec, lineage: list[dict], overrides: dict | None) -> str:
    """What makes the model, hashed: the window's data (its days' content hashes), the spec's
    sections that shape training, the overrides and the mlgate version."""
    import hashlib

    from mlgate import __version__

    made_of = {
        "lineage": lineage,
        "spec": {k: spec.raw.get(k) for k in TRAINING_SECTIONS},
        "overrides": overrides or {},
        "mlgate": __version__,
    }
    return hashlib.sha256(json.dumps(made_of, sort_keys=True, default=str).encode()).hexdigest()


def same_training(settings: Settings, spec: Spec, key: str) -> dict | None:
    """A version already trained with this training key (the newest), as a reused candidate."""
    return _reused(settings, spec, tracking.TRAINING_KEY_TAG, key)


def already_champion(settings: Settings, spec: Spec, candidate: dict) -> str | None:
    """Why there is nothing to judge: a reused candidate that is the champion already (the
    same data and settings trained it, and it was promoted); None otherwise."""
    from mlflow.exceptions import MlflowException

    if not candidate.get("reused"):
        return None
    try:
        champion = tracking.client(settings).get_model_version_by_alias(
            spec.model, tracking.CHAMPION
        )
    except MlflowException:  # no champion yet
        return None
    if str(champion.version) != str(candidate["version"]):
        return None
    return (
        f"v{candidate['version']} was trained on the same data with the same settings and is "
        f"already the champion of {spec.model}: nothing to judge"
    )


def close_abandoned_runs(settings: Settings, spec: Spec, run: dict) -> list[str]:
    """Mark KILLED the MLflow runs that an earlier try of this Airflow run left RUNNING (its
    worker died, or the tracking server was gone when it ended). None of them has a model
    version: a candidate is registered only after its run has finished."""
    client = tracking.client(settings)
    experiment = client.get_experiment_by_name(spec.model)
    if experiment is None:
        return []
    key = f"{run['dag_id']}/{run['run_id']}"
    stale = client.search_runs(
        [experiment.experiment_id],
        f"tags.`{tracking.RUN_TAG}` = '{key}' and attributes.status = 'RUNNING'",
    )
    for abandoned in stale:
        client.set_terminated(abandoned.info.run_id, "KILLED")
    return [abandoned.info.run_id for abandoned in stale]


def train_candidate(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    ds: str,
    run: dict,
    trigger: str,
    overrides: dict | None = None,
) -> dict:
    """Train and register a candidate for logical date `ds` (a retried task reuses the
    version its Airflow run registered); returns version, run id and window."""
    check_overrides(spec, overrides)
    close_abandoned_runs(settings, spec, run)
    existing = finished_candidate(settings, spec, run)
    if existing:
        return existing
    window = plan_window(lake, spec, ds)
    key = training_key(spec, window_lineage(lake, spec, window.train_days), overrides)
    same = same_training(settings, spec, key)
    if same:
        return {**same, "window": asdict(window)}
    rows = WindowRows(lake, spec, window.train_days)
    return fit_and_register(lake, settings, spec, window, rows, run, trigger, overrides)


def fit_and_register(
    lake: Lake,
    settings: Settings,
    spec: Spec,
    window: Window,
    rows: WindowRows,
    run: dict,
    trigger: str,
    overrides: dict | None = None,
) -> dict:
    """Train on the window's labelled `rows` (read a day at a time), log the run to MLflow
    and register the candidate (alias `challenger`); returns version, run id, window and
    training info."""
    import mlflow

    ds = window.ds
    local = spec.section("training")["engine"] == "local"
    with tempfile.TemporaryDirectory(prefix="mlgate-window-") as staging:
        scan = scan_window(
            rows,
            (overrides or {}).get("drop_features", ()),
            int(spec.section("monitoring")["drift"]["reference_rows"]),
            int(spec.section("training")["seed"]),
            Path(staging) if local else None,  # the dask workers read the lake themselves
        )
        booster, info = fit_window(settings, spec, rows, scan, overrides)
    schema = scan.schema
    experiment_id = tracking.ensure_experiment(settings, spec)
    lineage = window_lineage(lake, spec, window.train_days)
    key = training_key(spec, lineage, overrides)
    reference = drift_reference(spec, scan, booster)
    with (
        tempfile.TemporaryDirectory() as tmp,
        mlflow.start_run(
            experiment_id=experiment_id, run_name=f"{spec.model}-{ds}-{trigger}"
        ) as active,
    ):
        booster_path, schema_path = Path(tmp) / "booster.ubj", Path(tmp) / tracking.SCHEMA_FILE
        booster.save_model(booster_path)
        schema_path.write_text(schema.to_json())
        mlflow.set_tags(_run_tags(spec, ds, run, trigger))
        mlflow.log_params(_run_params(spec, window, schema, info, overrides))
        mlflow.log_metrics(training_metrics(spec, scan, info))
        _log_training_data(lake, spec, window, scan, lineage, key, reference)
        info_model = _log_pyfunc(booster_path, schema_path, scan.example)
        run_id = active.info.run_id
    version = _register(settings, spec, window, run, trigger, info_model.model_uri, key)
    return {"version": version, "run_id": run_id, "reused": False, "window": asdict(window), **info}


def training_metrics(spec: Spec, scan: WindowScan, info: dict) -> dict:
    """The candidate run's training metrics: the spec's eval_metric on the training and
    early-stopping rows, the row counts, and what the training labels looked like (binary:
    the positive rate; regression: the mean and standard deviation), all finite."""
    metric = info["eval_metric"]
    out = {
        f"train_{metric}": info[f"train_{metric}"],
        f"valid_{metric}": info[f"valid_{metric}"],
        "train_rows": info["train_rows"],
        "valid_rows": info["valid_rows"],
    }
    if spec.is_regression:
        out.update(train_label_mean=scan.label_mean, train_label_sd=scan.label_sd)
    else:
        out["train_positive_rate"] = scan.label_mean
    return {k: float(v) for k, v in out.items() if np.isfinite(v)}


def _run_tags(spec: Spec, ds: str, run: dict, trigger: str) -> dict:
    """The candidate run's tags: what it is, the Airflow run, the library versions."""
    import mlflow
    import xgboost as xgb

    from mlgate import __version__

    return {
        tracking.MODEL_TAG: spec.model,
        tracking.DS_TAG: ds,
        tracking.TRIGGER_TAG: trigger,
        tracking.KIND_TAG: "candidate",
        "airflow.dag_id": run["dag_id"],
        "airflow.run_id": run["run_id"],
        "airflow.try_number": run.get("try_number", 1),
        tracking.RUN_TAG: f"{run['dag_id']}/{run['run_id']}",
        tracking.VERSION_TAG: __version__,
        "xgboost.version": xgb.__version__,
        "pandas.version": pd.__version__,
        "mlflow.version": mlflow.__version__,
    }


def _run_params(spec: Spec, window: Window, schema, info: dict, overrides: dict | None) -> dict:
    """The candidate run's parameters: XGBoost's, the window, the features, the label rule."""
    rule = spec.section("label")
    label_rule = (
        f"{rule['column']} (missing: {rule['missing']})"
        if spec.is_regression
        else f"{rule['column']} {rule['op']} {rule['value']}"
    )
    return {
        **{f"xgb.{k}": v for k, v in info["params"].items()},
        "num_boost_round": info["num_boost_round"],
        "best_iteration": info["best_iteration"],
        "rounds_served": info["rounds_served"],
        "window_first_day": window.train_days[0],
        "window_last_day": window.train_days[-1],
        "window_days": len(window.train_days),
        "features": ",".join(schema.names),
        "task": spec.task,
        "label_rule": label_rule,
        "overrides": json.dumps(overrides or {}),
    }


def _log_training_data(
    lake: Lake,
    spec: Spec,
    window: Window,
    scan: WindowScan,
    lineage: list[dict],
    key: str,
    reference: dict,
) -> None:
    """Log the training rows as an MLflow dataset (their place in the lake, their schema,
    the training key as digest; the rows stay in the lake), the window's lineage and the
    drift reference to the active run."""
    import mlflow
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.models import infer_signature

    label = spec.section("label")["name"]
    columns = [spec.id_column, "ds", *scan.schema.input_columns, label]
    dataset = MetaDataset(
        source=resolve_dataset_source(f"{lake.uri}/validated/{spec.model}"),
        name=f"{spec.model}-train-{window.train_days[0]}..{window.train_days[-1]}"
        f" ({scan.rows} rows)",
        digest=key[:8],
        schema=infer_signature(scan.sample[columns].head(100)).inputs,
    )
    mlflow.log_input(dataset, context="training")
    mlflow.log_dict({"window": asdict(window), "days": lineage}, tracking.LINEAGE_ARTIFACT)
    mlflow.log_dict(reference, tracking.REFERENCE_ARTIFACT)


def _log_pyfunc(booster_path: Path, schema_path: Path, example: pd.DataFrame):
    """Log the saved booster and schema as the run's pyfunc model, with a signature, an
    input example and pinned requirements; returns MLflow's ModelInfo."""
    import mlflow
    import xgboost as xgb
    from mlflow.models import infer_signature

    from mlgate.model.serving import BOOSTER_ARTIFACT, ENTRY_POINT, SCHEMA_ARTIFACT

    signature = infer_signature(example, np.zeros(len(example)))
    return mlflow.pyfunc.log_model(
        name="model",
        python_model=str(ENTRY_POINT),
        artifacts={BOOSTER_ARTIFACT: str(booster_path), SCHEMA_ARTIFACT: str(schema_path)},
        signature=signature,
        input_example=example,
        pip_requirements=[
            f"mlflow=={mlflow.__version__}",
            f"xgboost-cpu=={xgb.__version__}",
            f"pandas=={pd.__version__}",
        ],
    )


def _register(
    settings: Settings,
    spec: Spec,
    window: Window,
    run: dict,
    trigger: str,
    model_uri: str,
    key: str,
) -> str:
    """Register the logged model as a version of the spec's model, alias `challenger`;
    returns the version."""
    import mlflow

    # registered once its run has finished, tagged in the same call: a try that dies before
    # leaves no version, and a retry finds this one complete (finished_candidate)
    tags = {
        tracking.RUN_TAG: f"{run['dag_id']}/{run['run_id']}",
        tracking.DS_TAG: window.ds,
        tracking.TRIGGER_TAG: trigger,
        tracking.WINDOW_TAG: f"{window.train_days[0]}..{window.train_days[-1]}",
        tracking.TRAINING_KEY_TAG: key,
    }
    version = str(mlflow.register_model(model_uri, spec.model, tags=tags).version)
    tracking.client(settings).set_registered_model_alias(spec.model, tracking.CHALLENGER, version)
    return version


def drift_reference(spec: Spec, scan: WindowScan, booster) -> dict:
    """The monitor's reference: the window's features (its seeded sample when larger than
    `monitoring.drift.reference_rows`) and the model's own predictions on them, calibrated
    week by week, with the booster's feature importance (total gain)."""
    from mlgate.model.serving import predict_rows

    monitoring = spec.section("monitoring")
    sample, schema = scan.sample, scan.schema
    return {
        **profile.profile(
            profile.inputs(sample, schema),
            schema.numeric + list(schema.derived),
            schema.categorical,
            int(monitoring["drift"]["bins"]),
            chunks=profile.week_chunks(sample["ds"], int(monitoring["window_days"])),
            importance=booster.get_score(importance_type="total_gain"),
            predictions=pd.Series(predict_rows(booster, schema, sample), index=sample.index),
        ),
        "window_rows": scan.rows,
        "sample": f"{len(sample)} of {scan.rows} rows (seeded uniform sample)"
        if len(sample) < scan.rows
        else "every row of the window",
    }
