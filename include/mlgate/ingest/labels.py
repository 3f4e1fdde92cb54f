"""The label, derived from the outcomes feed by the spec's rule (`column op value`, with
`missing` for rows where the column is empty). Labels are made once, when outcomes land;
training, evaluation and the monitor read them from the outcomes zone."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from mlgate.config.spec import LABEL_OPS, Spec

_OPS = {sym: getattr(operator, name) for sym, name in LABEL_OPS.items()}


def derive_label(outcomes: pd.DataFrame, spec: Spec) -> pd.Series:
    """The label as 0/1 from the outcomes feed, by the spec's rule."""
    rule = spec.section("label")
    values = pd.to_numeric(outcomes[rule["column"]], errors="coerce")
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
