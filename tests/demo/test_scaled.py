"""A scaled lake: real days at scale 3 through the real ingest gates."""

from mlgate.demo import scaled, simulator
from mlgate.lake.names import FEATURES_FILE, LABELS_FILE

DAYS = ("2013-03-01", "2013-03-03")


def test_scaled_days_pass_the_real_gate_into_validated_with_3x_rows(lake, spec):
    ingested = scaled.build_scaled_lake(lake, *DAYS, scale=3, spec=spec)
    assert [day.ds for day in ingested] == ["2013-03-01", "2013-03-02", "2013-03-03"]
    for day in ingested:
        real, _ = simulator.day_frames(day.ds)
        assert day.rows == 3 * len(real)
        validated = lake.read_frame("validated", spec.model, day.ds, FEATURES_FILE)
        labels = lake.read_frame("outcomes", spec.model, day.ds, LABELS_FILE)
        assert len(validated) == len(labels) == 3 * len(real)
        joined = validated.merge(labels, on="flight_id", validate="one_to_one")
        assert len(joined) == len(validated)
        assert not lake.exists("quarantine", spec.model, day.ds)
