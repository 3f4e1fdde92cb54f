"""Fixtures of the promotion tests."""

import pytest

from mlgate.lake.names import dates


def _labelled_days(spec, first: str, last: str):
    """Real flights of `first`..`last` with their label and day."""
    import pandas as pd

    from mlgate.demo import simulator
    from mlgate.ingest.labels import derive_label

    frames = []
    for ds in dates(first, last):
        features, outcomes = simulator.day_frames(ds)
        frames.append(features.assign(late=derive_label(outcomes, spec).to_numpy(), ds=ds))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="package")
def real_models():
    """Two real XGBoost models (depth 4 and stumps) trained on 2013-03-01..03-08, and a
    function scoring real days they were not trained on: `score(first, last)` gives the
    labels and both models' scores."""
    import xgboost as xgb

    from mlgate.config.spec import load_spec
    from mlgate.model.features import model_matrix, schema_for

    spec = load_spec("flights")
    train = _labelled_days(spec, "2013-03-01", "2013-03-08")
    schema = schema_for(spec, train)
    boosters = {
        name: xgb.train(
            {"objective": "binary:logistic", "max_depth": depth, "eta": 0.1, "nthread": 2},
            xgb.DMatrix(model_matrix(train, schema), train["late"], enable_categorical=True),
            60,
        )
        for name, depth in (("deep", 4), ("stump", 1))
    }

    def score(first: str, last: str):
        test = _labelled_days(spec, first, last)
        matrix = xgb.DMatrix(model_matrix(test, schema), enable_categorical=True)
        return (
            test["late"].to_numpy(),
            boosters["deep"].predict(matrix),
            boosters["stump"].predict(matrix),
        )

    return score


@pytest.fixture(scope="package")
def real_scores(real_models):
    """Two real XGBoost models' scores on real days they were not trained on."""
    return real_models("2013-03-09", "2013-03-11")
