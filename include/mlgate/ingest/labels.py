"""The label, derived from the outcomes feed by the spec's rule. Binary: `column op value`
as 0/1, with `missing` for rows where the column is empty. Regression: the column's number,
an empty one replaced by `missing` when it is a number, or left empty when it is `drop`
(the row stays in the outcomes zone, so label coverage counts it; `labelled_rows` leaves
it out of training, evaluation and live quality). Labels are made once, when outcomes land;
training, evaluation and the monitor read them from the outcomes zone.

A rule on a text column compares text (`==`, `!=`, `in`); a rule on a number column
compares numbers. The spec loader refuses a rule that cannot apply to its column's type,
so a text outcome can never be read as numbers and turn into `missing` on every row."""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd

from mlgate.config.spec import LABEL_MISSING_DROP, Spec

# the comparisons of fields.LABEL_OPS; `in` is a membership test (Series.isin)
_OPS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def label_values(outcomes: pd.DataFrame, spec: Spec) -> pd.Series:
    """The outcome column as the rule reads it: text for a string column, numbers otherwise
    (a value that is not a number is an error, never a quiet `missing`)."""
    rule = spec.section("label")
    column = outcomes[rule["column"]]
    if spec.contract("outcomes").column(rule["column"]).type == "string":
        return column.astype("object").where(column.notna(), None)
    values = pd.to_numeric(column, errors="coerce")
    unreadable = values.isna() & column.notna()
    if unreadable.any():
        sample = column[unreadable].astype(str).unique()[:3].tolist()
        raise ValueError(
            f"label column {rule['column']!r}: {int(unreadable.sum())} values are not numbers "
            f"(e.g. {sample}); fix the feed or declare the column as a string in the contract"
        )
    return values


def derive_label(outcomes: pd.DataFrame, spec: Spec) -> pd.Series:
    """The label from the outcomes feed, by the spec's rule: 0/1 for a binary task, the
    number (float, empty when dropped) for a regression."""
    rule = spec.section("label")
    values = label_values(outcomes, spec)
    if spec.is_regression:
        values = values.astype("float64")
        if rule["missing"] != LABEL_MISSING_DROP:
            values = values.fillna(float(rule["missing"]))
        return values.rename(rule["name"])
    if rule["op"] == "in":
        label = values.isin(list(rule["value"]))
    else:
        label = _OPS[rule["op"]](values, rule["value"])
    label = pd.Series(np.asarray(label, dtype=bool), index=outcomes.index).astype("int8")
    return label.where(values.notna(), np.int8(rule["missing"])).astype("int8").rename(rule["name"])


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
