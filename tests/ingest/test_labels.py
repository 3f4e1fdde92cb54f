"""The label (mlgate.ingest.labels): derived from the outcomes by the spec's rule."""

import numpy as np
import pandas as pd

from mlgate.config.spec import Spec, load_spec
from mlgate.ingest.labels import derive_label, labelled_rows


def test_label_follows_the_spec_rule_and_missing_arrivals_are_late(spec):
    outcomes = pd.DataFrame({"arr_delay": [15.0, 16.0, -3.0, np.nan]})
    assert derive_label(outcomes, spec).tolist() == [0, 1, 0, 1]


def test_a_regression_label_is_the_number_and_an_empty_outcome_is_dropped_or_replaced():
    delay = load_spec("flights_delay")
    outcomes = pd.DataFrame({"flight_id": list("abcd"), "arr_delay": [15.0, -3.0, np.nan, 400.0]})
    label = derive_label(outcomes, delay)
    assert label.name == "delay_minutes" and label.dtype == "float64"
    assert label.tolist()[:2] == [15.0, -3.0] and np.isnan(label[2]) and label[3] == 400.0
    # drop: the row stays in the outcomes (coverage counts it), training and evaluation skip it
    kept = labelled_rows(outcomes.assign(delay_minutes=label), delay)
    assert kept["flight_id"].tolist() == ["a", "b", "d"]
    # a number stands in for an empty outcome, e.g. a cap for cancelled flights
    capped = Spec(
        delay.name, delay.path, {**delay.raw, "label": {**delay.raw["label"], "missing": 300}}
    )
    assert derive_label(outcomes, capped).tolist() == [15.0, -3.0, 300.0, 400.0]
