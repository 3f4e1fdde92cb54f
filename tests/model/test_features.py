"""The model's features (mlgate.model.features): unseen categories, local time, the schema."""

import numpy as np
import pandas as pd

from mlgate.model.features import FeatureSchema, category_text, model_matrix, schema_for


def rows():
    return pd.DataFrame(
        {
            "month": [1, 1],
            "hour": [5, 23],
            "minute": [15, 59],
            "sched_dep_time": [515, 2359],
            "sched_arr_time": [819, 400],
            "distance": [1400, 200],
            "temp": [39.0, np.nan],
            "dewp": [28.0, 20.0],
            "humid": [64.0, 50.0],
            "wind_dir": [260.0, 0.0],
            "wind_speed": [12.0, 0.0],
            "wind_gust": [np.nan, np.nan],
            "precip": [0.0, 0.0],
            "pressure": [1012.0, np.nan],
            "visib": [10.0, 10.0],
            "carrier": ["UA", "ZZ"],
            "origin": ["EWR", "JFK"],
            "dest": ["IAH", "BOS"],
            "time_hour": ["2013-01-01T10:00:00Z", "2013-01-02T04:00:00Z"],
        }
    )


def test_unseen_categories_become_missing_and_derived_features_use_local_time(spec):
    train = rows().head(1)
    schema = schema_for(spec, train)
    matrix = model_matrix(rows(), schema)
    assert list(matrix.columns) == spec.feature_names
    assert matrix["carrier"].isna().tolist() == [False, True]  # ZZ was never seen in training
    # 2013-01-02T04:00Z is 23:00 on Tuesday 1 January in New York: day_of_week 1, not 2
    assert matrix["day_of_week"].tolist() == [1.0, 1.0]


def test_the_schema_round_trips_through_json(spec):
    schema = schema_for(spec, rows())
    assert FeatureSchema.from_json(schema.to_json()) == schema


def test_an_integer_coded_categorical_is_the_same_category_stored_as_int_or_float(spec, tmp_path):
    """Cloud cover in oktas (0-8) declared categorical: trained on ints, scored on a day
    whose empty cell made the column float. Before, every row of the matrix was missing."""
    import yaml

    from mlgate.config.spec import load_spec

    raw = yaml.safe_load(spec.path.read_text())
    raw["contract"]["features"]["columns"]["cloud"] = {"type": "int", "nullable": True}
    raw["features"]["categorical"].append("cloud")
    path = tmp_path / "cloud.yaml"
    path.write_text(yaml.safe_dump(raw))
    cloud_spec = load_spec(path)
    train = rows().assign(cloud=[0, 8])
    schema = schema_for(cloud_spec, train)
    assert schema.categories["cloud"] == ["0", "8"]
    scored = rows().assign(cloud=[8.0, np.nan])
    matrix = model_matrix(scored, schema)
    assert matrix["cloud"].tolist()[0] == "8" and matrix["cloud"].isna().tolist() == [False, True]
    assert model_matrix(train, schema)["cloud"].notna().all()


def test_category_text_reads_text_numbers_and_mixed_columns_alike():
    """Text stays text (of any string dtype), a number stored among text becomes its text,
    missing stays missing: a category is the same whichever way the file stored it."""
    mixed = pd.Series(["9E", 3, None, 2.5, True], dtype="object")
    assert category_text(mixed).tolist() == ["9E", "3", None, "2.5", "True"]
    for dtype in ("object", "string", "str"):
        assert category_text(pd.Series(["AA", None, "UA"], dtype=dtype)).tolist() == [
            "AA",
            None,
            "UA",
        ]
    assert category_text(pd.Series([None, None], dtype="object")).tolist() == [None, None]
