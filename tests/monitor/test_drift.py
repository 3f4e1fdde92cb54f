import numpy as np
import pandas as pd
import pytest

from mlgate.demo import simulator
from mlgate.model import profile
from mlgate.model.features import schema_for
from mlgate.monitor import drift


def frames(seed=0, n=5000, shift=0.0, mix=(0.5, 0.3, 0.2)):
    rng = np.random.default_rng(seed)
    visib = np.where(
        rng.random(n) < 0.83, 10.0, rng.choice([0.5, 1, 2, 5, 8, 9], n)
    )  # a heap of ties, like visib
    return pd.DataFrame(
        {
            "temp": rng.normal(50 + shift, 10, n),
            "visib": visib,
            "origin": rng.choice(["EWR", "JFK", "LGA"], n, p=mix),
        }
    )


def check(reference, current, rate=0.05, **kw):
    return drift.compare_samples(reference, current, ["temp", "visib"], ["origin"], rate, **kw)


@pytest.mark.parametrize("n", [300, 5000, 100_000])
def test_false_alarms_stay_within_the_rate_at_every_size(n):
    pairs = 40 if n < 100_000 else 15
    alarms = [check(frames(2 * i, n), frames(2 * i + 1, n))["drift"] for i in range(pairs)]
    assert sum(alarms) <= max(2, round(0.05 * pairs * 2))  # at most about twice the rate's share


def test_random_splits_of_real_flights_stay_quiet_at_the_calibrated_rate(spec):
    """40 random splits of 6,000 real 2013 flights, each half against the other, all 18
    model inputs (as `mlgate drift` measures them) at a family-wise false-alarm rate of
    0.05. The alarms are at most Binomial(40, 0.05): more than 6 has probability 0.0007."""
    year = simulator.flights_2013()
    schema = schema_for(spec, year)
    inputs = profile.inputs(year, schema)
    alarms = []
    for i in range(40):
        rows = inputs.sample(6000, random_state=i)
        result = drift.compare_samples(
            rows.iloc[:3000],
            rows.iloc[3000:],
            schema.numeric + list(schema.derived),
            schema.categorical,
            false_alarm_rate=0.05,
            seed=i,
        )
        assert len(result["features"]) == 18
        alarms.append(result["drifted"] if result["drift"] else None)
    assert sum(a is not None for a in alarms) <= 6, alarms


def test_a_quarter_of_a_standard_deviation_a_unit_change_and_a_mix_change_are_found():
    ref = frames(0, 10_000)
    assert check(ref, frames(1, 10_000, shift=2.5))["drifted"] == ["temp"]  # +0.25 sd
    celsius = frames(1, 10_000).assign(temp=lambda f: (f["temp"] - 32) / 1.8)
    assert check(ref, celsius)["drifted"] == ["temp"]
    assert check(ref, frames(1, 10_000, mix=(0.45, 0.3, 0.25)))["drifted"] == ["origin"]


def test_the_ks_null_is_the_statistic_of_each_random_split():
    """The permutation null of a numeric feature, computed in fewer passes, is the KS
    distance of every split of the pooled counts, as `statistic` measures it."""
    ref, cur = np.array([0, 30, 7, 0, 120, 3]), np.array([2, 10, 9, 1, 40, 8])
    null = drift.permutation_null("numeric", ref, cur, 500, np.random.default_rng(3))
    draws = np.random.default_rng(3).multivariate_hypergeometric(ref + cur, 70, size=500)
    expected = profile.statistic("numeric", ref + cur - draws, draws)
    assert null.shape == (500,) and np.allclose(null, expected, rtol=0, atol=1e-12)
    assert null.std() > 0  # the splits differ


def test_the_threshold_follows_the_number_of_rows():
    small = {f["name"]: f["threshold"] for f in check(frames(0, 500), frames(1, 500))["features"]}
    large = {
        f["name"]: f["threshold"] for f in check(frames(0, 50_000), frames(1, 50_000))["features"]
    }
    assert all(large[name] < small[name] / 5 for name in small)


def test_new_categories_and_missing_values_are_counted_apart():
    ref = profile.profile(frames(0), ["temp", "visib"], ["origin"])
    current = frames(1).assign(origin="ZZZ", temp=np.nan)
    result = {f["name"]: f for f in drift.compare(ref, current, 0.05, 0.0)["features"]}
    assert result["temp"]["drifted"] and result["temp"]["missing_share"] == 1.0
    assert (
        result["origin"]["drifted"] and result["origin"]["current_shares"][-1] == 1.0
    )  # the "other" bin
    assert result["origin"]["missing_share"] == 0.0


def test_a_feature_drifts_only_beyond_the_weeks_of_the_reference():
    rng = np.random.default_rng(0)
    weeks = [
        pd.DataFrame({"temp": rng.normal(30 + 3 * w, 10, 4000), "visib": 10.0, "origin": "EWR"})
        for w in range(8)
    ]
    reference = pd.concat(weeks, ignore_index=True)
    chunks = pd.Series(np.repeat(np.arange(8), 4000))
    like_a_week = pd.DataFrame({"temp": rng.normal(39, 10, 4000), "visib": 10.0, "origin": "EWR"})
    beyond = pd.DataFrame({"temp": rng.normal(60, 10, 4000), "visib": 10.0, "origin": "EWR"})
    without = check(reference, like_a_week)
    assert without["drifted"] == [
        "temp"
    ]  # chance alone: eight different weeks are not one distribution
    calibrated = check(reference, like_a_week, chunks=chunks)
    temp = next(f for f in calibrated["features"] if f["name"] == "temp")
    assert calibrated["drifted"] == [] and temp["week_threshold"] > temp["chance_threshold"]
    assert check(reference, beyond, chunks=chunks)["drifted"] == ["temp"]


def test_the_importance_verdict_weighs_features_by_importance():
    ref = profile.profile(
        frames(0),
        ["temp", "visib"],
        ["origin"],
        importance={"temp": 90.0, "visib": 5.0, "origin": 5.0},
    )
    unimportant = drift.compare(ref, frames(1, mix=(0.2, 0.3, 0.5)), 0.05, 0.15)
    assert (
        unimportant["drifted"] == ["origin"]
        and unimportant["drifted_importance"] == 0.05
        and unimportant["importance_drift"] is False
        and unimportant["drift"] is True  # origin did drift; the model barely uses it
    )
    important = drift.compare(ref, frames(1, shift=5), 0.05, 0.15)
    assert (
        important["drifted"] == ["temp"]
        and important["drifted_importance"] == 0.9
        and important["importance_drift"] is True
        and important["drift"] is True
    )


def test_features_left_out_are_neither_tested_nor_required():
    ref = profile.profile(frames(0), ["temp", "visib"], ["origin"])
    result = drift.compare(
        ref, frames(1).drop(columns=["visib"]), 0.05, 0.0, skip={"visib": "a broken feed"}
    )
    assert [f["name"] for f in result["features"]] == ["temp", "origin"] and result["skipped"] == {
        "visib": "a broken feed"
    }
    with pytest.raises(ValueError, match="lacks the reference's feature"):
        drift.compare(ref, frames(1).drop(columns=["visib"]), 0.05, 0.0)


def test_the_monitor_says_an_unimportant_drift_happened_without_counting_it_as_evidence():
    """A drifted input the model barely uses: the report and its summary say drift, in
    which input, and that its weight stays under min_drifted_share; it is no evidence."""
    from mlgate.monitor.day import evidence, summary_lines
    from mlgate.monitor.report import report_html

    ref = profile.profile(
        frames(0),
        ["temp", "visib"],
        ["origin"],
        importance={"temp": 5.0, "visib": 5.0, "origin": 90.0},
    )
    section = drift.compare(ref, frames(1, shift=5), 0.05, 0.15)
    report = {"model": "m", "ds": "2013-05-01", "retrain": False, "champion": "3", "drift": section}
    assert section["drift"] is True and section["importance_drift"] is False
    assert (
        "  drift: yes, in temp (5% of the importance drifted; retraining counts it from 15%)"
        in (summary_lines(report))
    )
    assert "Drift: yes, in temp; 5% of the model's importance drifted" in report_html(report)
    cfg = {"live_quality": {"min_labelled_rows": 1, "min_coverage": 0.5, "max_auc_drop": 0.02}}
    assert evidence(report, cfg, None) == []
    weighty = drift.compare(ref, frames(1, mix=(0.2, 0.3, 0.5)), 0.05, 0.15)
    assert evidence({**report, "drift": weighty}, cfg, None)[0].startswith(
        "drift in origin: 90% of the model's feature importance (>= 15%)"
    )
