"""No false rejection: every real day of 2013, validated in date order with its own
accepted history (features and outcomes), passes the gate."""

import pytest

from mlgate.demo import simulator
from mlgate.ingest.gate import read_partition
from mlgate.ingest.landing import history_days, profile_for, validate_features, validate_outcomes
from mlgate.lake.names import dates

pytestmark = pytest.mark.slow


def test_every_real_day_of_2013_passes(spec):
    accepted = {"features": {}, "outcomes": {}}
    rejected = []
    days = dates("2013-01-01", "2013-12-31")
    for ds in days:
        features, outcomes = simulator.day_frames(ds)
        profile = {
            feed: profile_for(
                spec,
                feed,
                {d: accepted[feed][d] for d in history_days(sorted(accepted[feed]), ds, 28)},
            )
            for feed in accepted
        }
        result, frame = validate_features(
            spec, simulator.to_csv_bytes(features), "flights.csv", ds, profile["features"]
        )
        if result.success:
            accepted["features"][ds] = frame
        else:
            rejected.append(result.summary())
        result, frame = validate_outcomes(
            spec,
            simulator.to_csv_bytes(outcomes),
            "outcomes.csv",
            ds,
            profile["outcomes"],
            len(read_partition(simulator.to_csv_bytes(features), "f.csv")[0]),
        )
        if result.success:
            accepted["outcomes"][ds] = frame
        else:
            rejected.append(result.summary())
    print(
        f"{len(days)} days tried: {len(accepted['features'])} features and "
        f"{len(accepted['outcomes'])} outcomes partitions passed"
    )
    assert len(days) == 365
    assert rejected == []
