"""The label, derived from the outcomes feed by the spec's rule. Binary: `column op value`
as 0/1, with `missing` for rows where the column is empty. Regression: the column's number,
an empty one replaced by `missing` when it is a number, or left empty when it is `drop`
(the row stays in the outcomes zone, so label coverage counts it; `labelled_rows` leaves
it out of training, evaluation and live quality). Labels are made once, when outcomes land;
training, evaluation and the monitor read them from the outcomes zone."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from mlgate.config.spec import LABEL_MISSING_DROP, LABEL_OPS, Spec

_OPS = {sym: getattr(operator, name) for sym, name in LABEL_OPS.items()}


def derive_label(outcomes: pd.DataFrame, spec: Spec) -> pd.Series:
    """The label from the outcomes feed, by the spec's rule: 0/1 for a binary task, the
    number (float, empty when dropped) for a regression."""
    rule = spec.section("label")
    values = pd.to_numeric(outcomes[rule["column"]], errors="coerce")
    if spec.is_regression:
        values = values.astype("float64")
        if rule["missing"] != LABEL_MISSING_DROP:
            values = values.fillna(float(rule["missing"]))
        return values.rename(rule["name"])
    label = _OPS[rule["op"]](values, rule["value"]).astype("int8")
    return (
        label.where(values.notna(), np.int8(rule.get("missing", 0)))
        .astype("int8")
        .rename(rule["name"])
    )


def with_label(spec: Spec):
    """A function adding the spec's label to an outcomes frame (when its column is there)."""
    rule = spec.section("label")
    return lambda frame: (
        frame.assign(**{rule["name"]: derive_label(frame, spec)})
        if rule["column"] in frame
        else frame
    )


def labelled_rows(frame: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """The rows of `frame` that have a label (a regression's dropped outcomes are left out;
    a binary label is never empty)."""
    label = spec.section("label")["name"]
    return frame[frame[label].notna()] if label in frame.columns else frame
