"""The evaluation set's version is the hash of what was read, on a real flights day: a day
re-committed while the set is assembled cannot leave a version that vouches for other
bytes than the rows the models are judged on."""

from dataclasses import dataclass

from mlgate.lake.names import FEATURES_FILE
from mlgate.lake.store import Lake
from mlgate.promote.golden import build_evaluation_set
from tests.helpers import ingest_real_days, run_info

DS = "2013-01-01"


@dataclass(frozen=True)
class RecommittedMeanwhile(Lake):
    """A lake in which another run re-commits the day's features (half of its rows)
    right after this process first reads the day's lineage."""

    done: list

    def read_lineage(self, zone, name, ds):
        lineage = super().read_lineage(zone, name, ds)
        if zone == "validated" and not self.done:
            self.done.append(ds)
            frame = Lake(self.store).read_frame(zone, name, ds, FEATURES_FILE)
            Lake(self.store).commit_frame(
                zone, name, ds, FEATURES_FILE, frame.iloc[::2], run_info("other")
            )
        return lineage


def test_the_version_vouches_for_the_rows_that_were_read(tmp_path, spec):
    lake = Lake.from_uri(f"file://{tmp_path / 'lake'}")
    ingest_real_days(lake, spec, DS, DS)
    before = lake.read_lineage("validated", spec.model, DS)["files"][FEATURES_FILE]
    evaluation_set = build_evaluation_set(RecommittedMeanwhile(lake.store, []), spec, [], [DS])
    after = lake.read_lineage("validated", spec.model, DS)["files"][FEATURES_FILE]
    assert after != before  # the day did change while the set was assembled
    vouched = evaluation_set.manifest["days"][0]["files"][FEATURES_FILE]
    read = lake.read_frame("validated", spec.model, DS, FEATURES_FILE)  # the new content
    rows = len(evaluation_set.frame)
    assert (vouched, rows > len(read)) in ((before, True), (after, False))
