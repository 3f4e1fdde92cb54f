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
        "max_missing_share": 0.8,
        "reject_constant_day": True,
    }
    assert not set(spec.feature_names) & set(spec.section("forbidden"))
    assert [s.model for s in load_all_specs()] == ["flights_late"]


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
