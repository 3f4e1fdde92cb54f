"""Training XGBoost on a window's labelled frame: the spec's parameters (with a run's
checked overrides), early stopping on the window's last days, one model matrix shared
with serving."""

from __future__ import annotations

import json
import re
import warnings

import pandas as pd

from mlgate.config.fields import nearest_name
from mlgate.config.spec import Spec
from mlgate.model.features import model_matrix, schema_for

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
    import xgboost as xgb

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


def train_booster(frame: pd.DataFrame, spec: Spec, overrides: dict | None = None):
    """Train on `frame` (features + label + ds); the last days of the window are used for
    early stopping. Returns (booster, schema, info)."""
    import xgboost as xgb

    cfg = spec.section("training")
    params = {**cfg["params"], "seed": int(cfg["seed"]), **(overrides or {}).get("params", {})}
    num_round = int((overrides or {}).get("num_boost_round", cfg["num_boost_round"]))
    label = spec.section("label")["name"]
    days = sorted(frame["ds"].unique())
    n_valid = max(1, int(round(len(days) * float(cfg["validation_share"]))))
    valid_days = set(days[-n_valid:])
    is_valid = frame["ds"].isin(valid_days)
    schema = schema_for(spec, frame, (overrides or {}).get("drop_features", ()))
    dtrain = xgb.DMatrix(
        model_matrix(frame[~is_valid], schema), frame.loc[~is_valid, label], enable_categorical=True
    )
    dvalid = xgb.DMatrix(
        model_matrix(frame[is_valid], schema), frame.loc[is_valid, label], enable_categorical=True
    )
    history: dict = {}
    booster = xgb.train(
        params,
        dtrain,
        num_round,
        evals=[(dtrain, "train"), (dvalid, "valid")],
        early_stopping_rounds=int(cfg["early_stopping_rounds"]),
        evals_result=history,
        verbose_eval=False,
    )
    metric = list(history["valid"])[-1]  # the spec's eval_metric (XGBoost's last one)
    info = {
        "params": params,
        "num_boost_round": num_round,
        "best_iteration": int(booster.best_iteration),
        "train_rows": int((~is_valid).sum()),
        "valid_rows": int(is_valid.sum()),
        "eval_metric": metric,
        f"train_{metric}": float(history["train"][metric][booster.best_iteration]),
        f"valid_{metric}": float(history["valid"][metric][booster.best_iteration]),
    }
    return booster, schema, info
