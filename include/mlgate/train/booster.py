"""Training XGBoost on a window's labelled rows: the spec's parameters (with a run's
checked overrides), early stopping on the window's last days, one model matrix shared
with serving. `train_streamed` feeds XGBoost one day at a time (a QuantileDMatrix built
from a data iterator over the days staged by train.window.scan_window), so the window is
never one frame or one float matrix in memory."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import xgboost as xgb

from mlgate.config.fields import nearest_name
from mlgate.config.spec import Spec
from mlgate.model.features import FeatureSchema
from mlgate.train.window import WindowScan, staged_days

OVERRIDE_KEYS = {"params": dict, "num_boost_round": int, "drop_features": list}


def check_overrides(spec: Spec, overrides: dict | None) -> dict:
    """Refuse training overrides a run cannot honour, with what to write instead."""
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise ValueError(
            'overrides must be an object such as {"params": {"max_depth": 3}}, '
            f"got {overrides!r}"
        )
    for key, value in overrides.items():
        if key not in OVERRIDE_KEYS:
            raise ValueError(
                f"unknown override {key!r}; overrides are {', '.join(sorted(OVERRIDE_KEYS))}"
            )
        if not isinstance(value, OVERRIDE_KEYS[key]) or isinstance(value, bool):
            raise ValueError(
                f"override {key!r} must be a {OVERRIDE_KEYS[key].__name__}, got {value!r}"
            )
    if overrides.get("num_boost_round", 1) < 1:
        raise ValueError("override 'num_boost_round' must be at least 1")
    unknown = sorted(set(overrides.get("drop_features", [])) - set(spec.feature_names))
    if unknown:
        raise ValueError(
            f"drop_features {unknown} are not features of {spec.model}; "
            f"its features are {spec.feature_names}"
        )
    problems = unknown_params(spec.section("training")["params"])
    if problems:
        raise ValueError(f"spec {spec.path.name}: training.params: {'; '.join(problems)}")
    problems = unknown_params(overrides.get("params", {}))
    if problems:
        raise ValueError(f"override params: {'; '.join(problems)}")
    return overrides


def unknown_params(params: dict) -> list[str]:
    """XGBoost's own verdict on parameter names: one boosting round on four rows, and the
    names it reports as not used, each with the nearest valid name (XGBoost only warns,
    and a misspelled `max_depht` would train a model with the default depth)."""
    import numpy as np

    if not params:
        return []
    rows = xgb.DMatrix(np.array([[0.0], [1.0], [0.0], [1.0]]), label=[0, 1, 0, 1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        booster = xgb.train({**params, "nthread": 1}, rows, 1)
    unused = [
        name
        for w in caught
        for listed in re.findall(r"Parameters: \{(.*?)\} (?:are|is) not used", str(w.message), re.S)
        for name in re.findall(r'"(\w+)"', listed)
    ]
    known = _param_names(json.loads(booster.save_config())) | {"eval_metric", "seed"}
    return [f"{name!r} is not an XGBoost parameter{_nearest(name, known)}" for name in unused]


def _param_names(config, out: set | None = None) -> set:
    """The parameter names in a booster's saved configuration."""
    out = set() if out is None else out
    if isinstance(config, dict):
        for key, value in config.items():
            if key.endswith("_param") and isinstance(value, dict):
                out.update(value)
            _param_names(value, out)
    return out


def _nearest(name: str, known: set) -> str:
    close = nearest_name(name, known)
    return f" (did you mean {close!r}?)" if close else ""


def training_params(spec: Spec, overrides: dict | None = None) -> tuple[dict, int]:
    """XGBoost's parameters (the spec's, its seed, the run's overrides) and the rounds."""
    cfg = spec.section("training")
    params = {**cfg["params"], "seed": int(cfg["seed"]), **(overrides or {}).get("params", {})}
    return params, int((overrides or {}).get("num_boost_round", cfg["num_boost_round"]))


def validation_days(spec: Spec, days: list[str]) -> list[str]:
    """The window's last days, held for early stopping (`training.validation_share`)."""
    share = float(spec.section("training")["validation_share"])
    return sorted(days)[-max(1, int(round(len(days) * share))) :]


BATCH_ROWS = 200_000  # days are read together up to this many rows (a larger day alone)


def batches_of(days: list[str], day_rows: dict[str, int]) -> list[list[str]]:
    """Consecutive days grouped into batches of about BATCH_ROWS rows: few batches for a
    small window (each batch costs XGBoost a round trip per pass), one day for a large one."""
    batches: list[list[str]] = []
    for day in days:
        if batches and sum(day_rows[d] for d in batches[-1]) + day_rows[day] <= BATCH_ROWS:
            batches[-1].append(day)
        else:
            batches.append([day])
    return batches


class DayBatches(xgb.DataIter):
    """An XGBoost data iterator over batches of a window's staged days (train.window's
    stage_day): each batch's model matrix and labels, read again on every pass."""

    def __init__(self, batches: list[list[Path]], schema: FeatureSchema):
        self.batches, self.schema, self.position = batches, schema, 0
        super().__init__(release_data=True)

    def next(self, input_data) -> bool:
        if self.position == len(self.batches):
            return False
        matrix, labels = staged_days(self.batches[self.position], self.schema)
        input_data(data=matrix, label=labels)
        self.position += 1
        return True

    def reset(self) -> None:
        self.position = 0


def train_streamed(scan: WindowScan, spec: Spec, overrides: dict | None = None):
    """Train on a window's staged days (train.window.scan_window), fed to XGBoost in batches
    of days, with early stopping on its last days. Returns (booster, info)."""
    params, num_round = training_params(spec, overrides)
    days = list(scan.staged)
    held = validation_days(spec, days)
    fitted = batches_of([d for d in days if d not in held], scan.day_rows)
    schema = scan.schema
    dtrain = xgb.QuantileDMatrix(
        DayBatches([[scan.staged[d] for d in batch] for batch in fitted], schema),
        max_bin=int(params.get("max_bin", 256)),
        enable_categorical=True,
    )
    dvalid = early_stopping_matrix([scan.staged[d] for d in held], schema)
    history: dict = {}
    booster = xgb.train(
        params,
        dtrain,
        num_round,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=int(spec.section("training")["early_stopping_rounds"]),
        evals_result=history,
        verbose_eval=False,
    )
    metric = list(history["valid"])[-1]  # the spec's eval_metric (XGBoost's last one)
    best = int(booster.best_iteration)
    info = {
        "params": params,
        "num_boost_round": num_round,
        "best_iteration": best,
        # served: every round run, the patience past the best too (serving only the best
        # rounds measured within noise, slightly worse, over 2013: see the README)
        "rounds_served": int(booster.num_boosted_rounds()),
        "train_rows": int(dtrain.num_row()),
        "valid_rows": int(dvalid.num_row()),
        "eval_metric": metric,
        f"train_{metric}": metric_of(booster[: best + 1], dtrain, metric),
        f"valid_{metric}": float(history["valid"][metric][best]),
    }
    return booster, info


def early_stopping_matrix(paths: list[Path], schema: FeatureSchema):
    """The early-stopping days (`training.validation_share` of the window) as one in-memory
    DMatrix: XGBoost keeps its predictions from round to round, where a QuantileDMatrix's
    were made anew each round (at 3M rows, 40% of the training's time)."""
    matrix, labels = staged_days(paths, schema)
    return xgb.DMatrix(matrix, labels, enable_categorical=True)


def metric_of(booster, data, metric: str) -> float:
    """The booster's `metric` on `data`, as XGBoost computes it during training."""
    text = booster.eval(data, name="data")  # "[0]\tdata-logloss:0.41"
    return float(re.search(rf"data-{re.escape(metric)}:(\S+)", text).group(1))
