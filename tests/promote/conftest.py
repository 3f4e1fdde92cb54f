"""Fixtures of the promotion tests."""

import pytest

from mlgate.lake.names import dates


@pytest.fixture(scope="package")
def real_scores():
    """Two real XGBoost models' scores on a real day they were not trained on."""
    import xgboost as xgb

    from mlgate.config.spec import load_spec
    from mlgate.demo import simulator
    from mlgate.ingest.labels import derive_label
    from mlgate.model.features import model_matrix, schema_for

    spec = load_spec("flights")
    frames = []
    for ds in dates("2013-03-01", "2013-03-11"):
        features, outcomes = simulator.day_frames(ds)
        frames.append(features.assign(late=derive_label(outcomes, spec).to_numpy(), ds=ds))
    import pandas as pd

    frame = pd.concat(frames, ignore_index=True)
    train, test = frame[frame.ds < "2013-03-09"], frame[frame.ds >= "2013-03-09"]
    schema = schema_for(spec, train)
    out = {}
    for name, depth in (("deep", 4), ("stump", 1)):
        booster = xgb.train(
            {"objective": "binary:logistic", "max_depth": depth, "eta": 0.1, "nthread": 2},
            xgb.DMatrix(model_matrix(train, schema), train["late"], enable_categorical=True),
            60,
        )
        out[name] = booster.predict(
            xgb.DMatrix(model_matrix(test, schema), enable_categorical=True)
        )
    return test["late"].to_numpy(), out["deep"], out["stump"]
