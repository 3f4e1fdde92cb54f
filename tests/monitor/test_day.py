"""The monitor's label join on small frames."""

from types import SimpleNamespace

import pandas as pd

from mlgate.lake.names import LABELS_FILE, PREDICTIONS_FILE
from mlgate.monitor.day import joined_labels


def test_an_integer_id_in_the_outcomes_joins_the_predictions_text_id(lake):
    """Predictions carry the id as text; a feed keyed by integers (a booking number) still
    gets its labels (it used to stop the monitor with a pandas merge error)."""
    spec = SimpleNamespace(model="m", id_column="booking_id", section=lambda name: {"name": "y"})
    preds = pd.DataFrame(
        {"booking_id": ["1", "2", "3"], "score": [0.1, 0.8, 0.4], "model_version": "1"}
    ).assign(ds="2016-07-23")
    lake.commit_frame("predictions", "m", "2016-07-23", PREDICTIONS_FILE, preds, {})
    labels = pd.DataFrame({"booking_id": [1, 2, 3], "y": [0, 1, 1]})
    lake.commit_frame("outcomes", "m", "2016-07-23", LABELS_FILE, labels, {})
    joined, predicted = joined_labels(lake, spec, "m", ["2016-07-23"], "1")
    assert predicted == 3 and list(joined["y"]) == [0, 1, 1]
