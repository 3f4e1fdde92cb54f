"""The label (mlgate.ingest.labels): derived from the outcomes by the spec's rule."""

import numpy as np
import pandas as pd

from mlgate.ingest.labels import derive_label


def test_label_follows_the_spec_rule_and_missing_arrivals_are_late(spec):
    outcomes = pd.DataFrame({"arr_delay": [15.0, 16.0, -3.0, np.nan]})
    assert derive_label(outcomes, spec).tolist() == [0, 1, 0, 1]
