"""Benchmark: the cost of checking a partition against its lineage on read (issue 16).

A million real 2013 flights (the year, repeated) committed as one validated partition of a
folder lake, read as a frame with the check (`Lake.read_frame`: lineage, bytes, sha256 of
the bytes read, Parquet) and without it (the same bytes from the store, Parquet only).
Prints medians and the ratio. Run: `.venv/bin/python benchmarks/bench_lake_read.py [repeat]`.
"""

from __future__ import annotations

import io
import sys
import tempfile

import pandas as pd
from bench_train_score import median_time  # run as a script: benchmarks/ is on the path


def main(repeat: int = 7) -> None:
    from mlgate.demo import simulator
    from mlgate.lake.store import Lake

    year = simulator.flights_2013()[simulator.FEATURE_FEED_COLUMNS]
    frame = pd.concat([year] * 3, ignore_index=True).head(1_000_000)
    with tempfile.TemporaryDirectory() as folder:
        lake = Lake.from_uri(f"file://{folder}/lake")
        lineage = lake.commit_frame("validated", "m", "2013-06-01", "f.parquet", frame, {})
        partition = "validated/m/ds=2013-06-01"
        size = len(lake.store.read_file(partition, "f.parquet", None))

        def unchecked():
            data = lake.store.read_file(partition, "f.parquet", None)
            return pd.read_parquet(io.BytesIO(data))

        def checked():
            return lake.read_frame("validated", "m", "2013-06-01", "f.parquet")

        assert len(checked()) == len(unchecked()) == lineage["rows"]
        base = median_time(unchecked, repeat)
        with_check = median_time(checked, repeat)
    print(f"1M rows, {size / 1e6:.1f} MB of Parquet, median of {repeat}")
    print(f"read without the check: {base * 1000:.0f} ms")
    print(f"read with the check:    {with_check * 1000:.0f} ms")
    print(f"ratio: {with_check / base:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
