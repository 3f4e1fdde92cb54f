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


def test_a_missing_section_is_named_and_a_section_of_defaults_may_be_left_out(spec, tmp_path):
    with pytest.raises(SpecError, match=r"spec custom.yaml: keys: missing"):
        load_spec(_write(tmp_path, spec, keys=None))
    with pytest.raises(SpecError, match=r"label.column: missing. Add it: the outcomes feed's"):
        load_spec(_write(tmp_path, spec, **{"label.column": None}))
    defaults = load_spec(_write(tmp_path, spec, training=None, monitoring=None))
    assert defaults.section("training")["window_days"] == 56
    assert defaults.section("monitoring")["persistence"] == {"k": 2, "n": 3}


def test_an_unknown_spec_name_lists_the_known_ones():
    with pytest.raises(SpecError, match=r"no spec 'nope'.*specs found: flights"):
        load_spec("nope")


def test_a_typo_in_a_history_key_is_named(spec, tmp_path):
    with pytest.raises(
        SpecError,
        match=r"contract.features.history.numeric_margn: unknown field. "
        r"Did you mean 'numeric_margin'\?",
    ):
        load_spec(_write(tmp_path, spec, **{"contract.features.history.numeric_margn": 1.0}))


def test_a_bad_time_zone_is_named(spec, tmp_path):
    with pytest.raises(SpecError, match=r"keys.timezone: 'New York' is not a time zone"):
        load_spec(_write(tmp_path, spec, **{"keys.timezone": "New York"}))


def test_spec_check_lists_every_problem_and_exits_2(spec, tmp_path):
    """`mlgate spec check` on a file with a misspelled section, a wrong type and an
    unknown rule: every problem, each with its field and the fix; exit 2. The good file: 0."""
    from tests.helpers import mlgate

    raw = yaml.safe_load(spec.path.read_text())
    raw["trainig"] = raw.pop("training")
    raw["monitoring"]["window_days"] = "seven"
    raw["evaluation"]["promotion"]["rule"] = "best"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw))
    result = mlgate("spec", "check", str(bad))
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "spec bad.yaml: trainig: unknown field. Did you mean 'training'?",
        "spec bad.yaml: evaluation.promotion.rule: 'best' unknown. Use one of better, "
        "non_inferior.",
        "spec bad.yaml: monitoring.window_days: got 'seven'. Write a whole number.",
    ]
    good = mlgate("spec", "check", str(spec.path), "--effective")
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith(f"{spec.path}: ok (model flights_late, task binary)")
    assert "max_new_category_share: 0.1" in good.stdout  # the effective spec, defaults filled


def test_the_json_schema_accepts_the_demo_spec_and_rejects_a_typo(spec):
    """What an editor gets from `mlgate spec schema`: the demo spec validates; a misspelled
    key does not; every field carries its meaning, and defaults their value."""
    import jsonschema

    from mlgate.config.fields import json_schema

    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    raw = yaml.safe_load(spec.path.read_text())
    raw["schedule"]["start_date"] = str(raw["schedule"]["start_date"])
    raw["evaluation"]["golden_days"] = [str(d) for d in raw["evaluation"]["golden_days"]]
    jsonschema.validate(raw, schema)
    raw["training"]["window_dayz"] = 56
    with pytest.raises(jsonschema.ValidationError, match="window_dayz"):
        jsonschema.validate(raw, schema)
    window = schema["properties"]["training"]["properties"]["window_days"]
    assert window["default"] == 56 and window["description"]


def test_no_threshold_default_is_left_in_the_code():
    """Thresholds come from the spec, whose defaults are declared once (config/fields.py):
    no `.get("field", default)` on a spec section in the package."""
    import re
    from pathlib import Path

    import mlgate

    spec_reads = re.compile(
        r"(section\(\"\w+\"\)|contract\(\w*\"?\w*\"?\)\.history|rules|cfg|rule|relation|schedule)"
        r"(\[\"\w+\"\])*\.get\(\s*[\"']\w+[\"']\s*,"
    )
    package = Path(mlgate.__file__).parent
    found = [
        f"{path.relative_to(package)}:{n}: {line.strip()}"
        for path in package.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if spec_reads.search(line)
    ]
    assert found == []


def test_the_readme_names_every_field_of_the_spec():
    """The README's spec table stays true: each section has a row naming all its fields."""
    import re
    from pathlib import Path

    from mlgate.config.fields import SPEC, ListOf, MapOf, Section

    def names(node) -> set[str]:
        if isinstance(node, (MapOf, ListOf)):
            return names(node.item)
        if not isinstance(node, Section):
            return set()
        return set(node.fields) | {n for f in node.fields.values() for n in names(f)}

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = {
        section: line
        for line in readme.splitlines()
        for section in re.findall(r"`(\w+)`", line.split("|")[1] if line.startswith("|") else "")
    }
    missing = {
        section: sorted(
            n
            for n in names(node)
            if f"`{n}" not in rows.get(section, "")
            and not re.search(rf"\b{n}\b", rows.get(section, ""))
        )
        for section, node in SPEC.fields.items()
    }
    assert set(SPEC.fields) <= set(rows), sorted(set(SPEC.fields) - set(rows))
    assert {s: m for s, m in missing.items() if m} == {}


def test_the_regression_spec_loads_with_its_label_and_thresholds():
    delay = load_spec("flights_delay")
    assert delay.task == "regression" and delay.is_regression and delay.model == "flights_delay"
    assert delay.section("label") == {
        "name": "delay_minutes",
        "column": "arr_delay",
        "missing": "drop",
        "op": None,  # binary only
        "value": None,
        "max_missing_share": 0.8,
        "reject_constant_day": True,
    }
    assert delay.section("training")["params"]["objective"] == "reg:squarederror"
    assert delay.features_feed == load_spec("flights").features_feed  # the same upstream feeds


@pytest.mark.parametrize(
    "change, message",
    [
        ({"task": "ranking"}, r"task: 'ranking' unknown. Use one of binary, regression"),
        ({"label.missing": "zero"}, r"label.missing: got 'zero'. Write drop .* or a number"),
        ({"label.missing": None}, r"label.missing: missing. Add it: .* regression `drop`"),
        ({"label.op": ">"}, r"label.op: not used by task regression"),
        (
            {"training.params.objective": "binary:logistic"},
            r"training.params.objective: 'binary:logistic' does not fit task regression",
        ),
        (
            {"evaluation.promotion.rmse_margin": "one"},
            r"evaluation.promotion.rmse_margin: got 'one'. Write a number",
        ),
        ({"evaluation.sanity.max_abs_bias": None}, r"max_abs_bias: missing \(task regression\)"),
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


@pytest.mark.parametrize("name", ["flights", "flights_delay"])
def test_a_label_column_outside_the_outcomes_contract_is_named(name, tmp_path):
    with pytest.raises(SpecError, match=r"label.column: 'arr_delai' not in contract.outcomes"):
        load_spec(_write(tmp_path, load_spec(name), **{"label.column": "arr_delai"}))


def test_specs_load_apart_a_broken_one_and_a_second_one_for_the_same_model(tmp_path):
    from mlgate.config.settings import DEFAULT_SPECS_DIR
    from mlgate.config.spec import load_specs_apart

    text = (DEFAULT_SPECS_DIR / "flights.yaml").read_text()
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yaml").write_text(text.replace("seed: 42", "seed: forty-two"))
    (tmp_path / "c.yaml").write_text(text)  # the same model as a.yaml
    specs, errors = load_specs_apart(tmp_path)
    assert [s.name for s in specs] == ["a"]
    assert sorted(p.name for p in errors) == ["b.yaml", "c.yaml"]
    assert "training.seed" in str(errors[tmp_path / "b.yaml"])
    assert "'flights_late' is already the model of a.yaml" in str(errors[tmp_path / "c.yaml"])
