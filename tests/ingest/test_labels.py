"""The label (mlgate.ingest.labels): derived from the outcomes by the spec's rule."""

import numpy as np
import pandas as pd

from mlgate.config.spec import Spec, load_spec
from mlgate.ingest.labels import derive_label, labelled_rows


def test_label_follows_the_spec_rule_and_missing_arrivals_are_late(spec):
    outcomes = pd.DataFrame({"arr_delay": [15.0, 16.0, -3.0, np.nan]})
    assert derive_label(outcomes, spec).tolist() == [0, 1, 0, 1]


def _text_label_spec(tmp_path, spec, **label):
    """The flights spec with a text outcome column `status` and the given label rule."""
    import yaml

    from mlgate.config.spec import load_spec

    raw = yaml.safe_load(spec.path.read_text())
    raw["contract"]["outcomes"]["columns"]["status"] = {"type": "string", "nullable": True}
    raw["label"] = {"name": "late", "column": "status", "missing": 1, **label}
    path = tmp_path / "text_label.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_spec(path)


def test_a_text_label_compares_text_and_empty_outcomes_take_missing(spec, tmp_path):
    outcomes = pd.DataFrame({"status": ["YES", "NO", None, "YES"]})
    equal = _text_label_spec(tmp_path, spec, op="==", value="YES")
    assert derive_label(outcomes, equal).tolist() == [1, 0, 1, 1]
    not_equal = _text_label_spec(tmp_path, spec, op="!=", value="YES")
    assert derive_label(outcomes, not_equal).tolist() == [0, 1, 1, 0]
    member = _text_label_spec(tmp_path, spec, op="in", value=["NO", "MAYBE"])
    assert derive_label(outcomes, member).tolist() == [0, 1, 1, 0]


def test_a_number_outcome_that_cannot_be_read_is_an_error_naming_the_column(spec):
    import pytest

    outcomes = pd.DataFrame({"arr_delay": [15.0, "late", 3.0]})
    with pytest.raises(ValueError, match=r"'arr_delay': 1 values are not numbers .*'late'"):
        derive_label(outcomes, spec)


def test_a_label_rule_that_cannot_apply_to_its_column_is_a_spec_error(spec, tmp_path):
    import pytest

    from mlgate.config.spec import SpecError

    with pytest.raises(SpecError, match=r"label.op: '>' on the text column 'status'"):
        _text_label_spec(tmp_path, spec, op=">", value="YES")
    with pytest.raises(SpecError, match=r"label.value: 1 cannot be compared with string"):
        _text_label_spec(tmp_path, spec, op="==", value=1)
    with pytest.raises(SpecError, match=r"label.value: 'YES' cannot be compared with float"):
        load_spec_with_label(tmp_path, spec, op="==", value="YES")
    with pytest.raises(SpecError, match=r"label.value: .*`in` takes a list"):
        _text_label_spec(tmp_path, spec, op="in", value="YES")


def load_spec_with_label(tmp_path, spec, **label):
    """The flights spec with its label rule changed (the number column arr_delay)."""
    import yaml

    from mlgate.config.spec import load_spec

    raw = yaml.safe_load(spec.path.read_text())
    raw["label"].update(label)
    path = tmp_path / "number_label.yaml"
    path.write_text(yaml.safe_dump(raw))
    return load_spec(path)


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


def test_every_label_operator_the_spec_accepts_has_its_comparison():
    from mlgate.config.fields import LABEL_OPS
    from mlgate.ingest.labels import _OPS

    assert set(_OPS) | {"in"} == set(LABEL_OPS)
