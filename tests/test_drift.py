import numpy as np
import pandas as pd

from mlgate import drift


def frames(seed=0, n=5000, shift=0.0, mix=(0.5, 0.3, 0.2)):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"temp": rng.normal(50 + shift, 10, n), "origin": rng.choice(["EWR", "JFK", "LGA"], n, p=mix)})


def test_same_distribution_does_not_drift():
    ref = drift.profile(frames(0), ["temp"], ["origin"])
    result = drift.summarize(drift.compare(ref, frames(1), 0.25), 0.5)
    assert result["drift"] is False and all(f["statistic"] < 0.05 for f in result["features"])


def test_a_unit_change_and_a_mix_change_drift():
    ref = drift.profile(frames(0), ["temp"], ["origin"])
    current = frames(1, mix=(0.1, 0.1, 0.8)).assign(temp=lambda f: (f["temp"] - 32) / 1.8)  # Fahrenheit to Celsius
    result = drift.summarize(drift.compare(ref, current, 0.25), 0.5)
    assert result["drift"] is True
    assert {f["name"]: f["drifted"] for f in result["features"]} == {"temp": True, "origin": True}


def test_new_categories_and_missing_values_count():
    ref = drift.profile(frames(0), ["temp"], ["origin"])
    current = frames(1).assign(origin="ZZZ", temp=np.nan)
    stats = {f.name: f.statistic for f in drift.compare(ref, current, 0.25)}
    assert stats["origin"] > 1 and stats["temp"] > 1
