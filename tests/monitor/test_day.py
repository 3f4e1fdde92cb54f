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


def test_a_folder_that_is_not_a_partition_shows_in_the_data_checks(lake, spec, tmp_path):
    """`ds=2013-02-30` in the validated zone is skipped by every reader and named in the
    monitor's data checks, with what to do."""
    from mlgate.demo import simulator
    from mlgate.lake.names import FEATURES_FILE
    from mlgate.monitor.day import integrity, window_inventory
    from tests.helpers import run_info

    features, _ = simulator.day_frames("2013-02-27")
    lake.commit_frame("validated", spec.model, "2013-02-27", FEATURES_FILE, features, run_info("i"))
    odd = tmp_path / "lake" / "validated" / spec.model / "ds=2013-02-30"
    odd.mkdir(parents=True)
    (odd / FEATURES_FILE).write_bytes(b"not a partition")
    inventory = window_inventory(lake, spec, ["2013-02-27", "2013-02-28"])
    assert inventory["validated"] == ["2013-02-27"] and inventory["absent"] == ["2013-02-28"]
    assert [p.rsplit("/", 2)[-1] for p in inventory["odd_folders"]] == ["ds=2013-02-30"]
    checks = integrity({"features": {}}, features, inventory, spec.section("monitoring"))
    assert any(
        p.endswith("ds=2013-02-30 is not a partition (ds=YYYY-MM-DD, a real date): skipped; "
                   "move or delete it")
        for p in checks["problems"]
    ), checks["problems"]  # fmt: skip
