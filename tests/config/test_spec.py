import pytest
import yaml

from mlgate.config.spec import SpecError, load_all_specs, load_spec


def _write(tmp_path, spec, **changes):
    raw = yaml.safe_load(spec.path.read_text())
    for dotted, value in changes.items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        if value is None:
            del node[leaf]
        else:
            node[leaf] = value
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_demo_spec_loads_with_its_features_and_label(spec):
    assert spec.model == "flights_late"
    assert (
        "temp" in spec.feature_names
        and "carrier" in spec.feature_names
        and "day_of_week" in spec.feature_names
    )
    assert spec.section("label") == {
        "name": "late",
        "column": "arr_delay",
        "op": ">",
        "value": 15,
        "missing": 1,
    }
    assert not set(spec.feature_names) & set(spec.section("forbidden"))
    assert spec.task == "binary" and not spec.is_regression
    assert [s.model for s in load_all_specs()] == ["flights_late", "flights_delay"]


def test_a_forbidden_column_as_feature_is_refused_with_the_field(spec, tmp_path):
    path = _write(tmp_path, spec, **{"features.numeric": ["distance", "arr_delay"]})
    with pytest.raises(
        SpecError, match=r"features: arr_delay are forbidden \(they leak the label\)"
    ):
        load_spec(path)


def test_an_unknown_label_operator_is_refused(spec, tmp_path):
    with pytest.raises(SpecError, match=r"label.op: '=>' unknown. Use one of"):
        load_spec(_write(tmp_path, spec, **{"label.op": "=>"}))


def test_a_missing_section_is_named(spec, tmp_path):
    with pytest.raises(SpecError, match=r"training: missing"):
        load_spec(_write(tmp_path, spec, training=None))


def test_an_unknown_spec_name_lists_the_known_ones():
    with pytest.raises(SpecError, match=r"no spec 'nope'.*specs found: flights"):
        load_spec("nope")


def test_a_typo_in_a_history_key_is_named(spec, tmp_path):
    with pytest.raises(SpecError, match=r"contract.features.history: unknown key numeric_margn"):
        load_spec(_write(tmp_path, spec, **{"contract.features.history.numeric_margn": 1.0}))


def test_a_bad_time_zone_is_named(spec, tmp_path):
    with pytest.raises(SpecError, match=r"keys.timezone: 'New York' is not a time zone"):
        load_spec(_write(tmp_path, spec, **{"keys.timezone": "New York"}))


def test_the_regression_spec_loads_with_its_label_and_thresholds():
    delay = load_spec("flights_delay")
    assert delay.task == "regression" and delay.is_regression and delay.model == "flights_delay"
    assert delay.section("label") == {
        "name": "delay_minutes",
        "column": "arr_delay",
        "missing": "drop",
    }
    assert delay.section("training")["params"]["objective"] == "reg:squarederror"
    assert delay.features_feed == load_spec("flights").features_feed  # the same upstream feeds


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task": "ranking"}, r"task: got 'ranking'. Use one of binary, regression"),
        ({"label.missing": "zero"}, r"label.missing: got 'zero'. Write drop .* or a number"),
        ({"label.missing": None}, r"label.missing: missing. A regression label is"),
        ({"label.op": ">"}, r"label.op: not used by task regression"),
        (
            {"training.params.objective": "binary:logistic"},
            r"training.params.objective: 'binary:logistic' does not fit task regression",
        ),
        ({"evaluation.promotion.rmse_margin": None}, r"evaluation.promotion.rmse_margin: got None"),
        (
            {"evaluation.sanity.plausible_range": [10, 5]},
            r"evaluation.sanity.plausible_range: got \[10, 5\]. Write \[low, high\]",
        ),
        (
            {"monitoring.live_quality.max_rmse_increase": -1},
            r"monitoring.live_quality.max_rmse_increase: got -1",
        ),
    ],
)
def test_a_wrong_regression_field_is_named(tmp_path, change, message):
    with pytest.raises(SpecError, match=message):
        load_spec(_write(tmp_path, load_spec("flights_delay"), **change))


def test_a_binary_spec_with_a_regression_objective_is_refused(spec, tmp_path):
    with pytest.raises(SpecError, match=r"'reg:squarederror' does not fit task binary"):
        load_spec(_write(tmp_path, spec, **{"training.params.objective": "reg:squarederror"}))
