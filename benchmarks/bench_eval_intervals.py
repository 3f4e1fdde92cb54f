"""Benchmark: the log-loss difference's interval at large n, the paired bootstrap against the
CLT, on real paired differences, in the same run.

Two real XGBoost models (depth 4 and stumps, as tests/promote/conftest.py trains them) are
trained on the real flights of 2013-03-01..03-08 and score the real flights of March 9 to
April 30; their per-row log-loss differences are tiled (the real rows repeated, nothing
made up) to 50k, 200k, 1M and 3M rows. Per size: the time of `stats.bootstrap_mean` (1000
rounds, what the gate ran on every row before `evaluation.bootstrap_max_rows`), of
`stats.clt_mean`, their ratio, and both intervals' bounds.

Run: `.venv/bin/python benchmarks/bench_eval_intervals.py [--sizes 50000,200000]`.
Timings are printed, never judged.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import xgboost as xgb

from mlgate.config.spec import load_spec
from mlgate.demo import simulator
from mlgate.ingest.labels import derive_label
from mlgate.lake.names import dates
from mlgate.model.features import model_matrix, schema_for
from mlgate.promote import stats


def labelled(spec, first: str, last: str) -> pd.DataFrame:
    frames = []
    for ds in dates(first, last):
        features, outcomes = simulator.day_frames(ds)
        frames.append(features.assign(late=derive_label(outcomes, spec).to_numpy()))
    return pd.concat(frames, ignore_index=True)


def real_differences() -> np.ndarray:
    """Per-row log loss of a depth-4 model minus a stump model's, on real unseen flights."""
    spec = load_spec("flights")
    train, test = (
        labelled(spec, "2013-03-01", "2013-03-08"),
        labelled(spec, "2013-03-09", "2013-04-30"),
    )
    schema = schema_for(spec, train)
    matrix = xgb.DMatrix(model_matrix(train, schema), train["late"], enable_categorical=True)
    scored = xgb.DMatrix(model_matrix(test, schema), enable_categorical=True)
    scores = [
        xgb.train(
            {"objective": "binary:logistic", "max_depth": depth, "eta": 0.1, "nthread": 2},
            matrix,
            60,
        ).predict(scored)
        for depth in (4, 1)
    ]
    y = test["late"].to_numpy()
    return stats.row_logloss(y, scores[0]) - stats.row_logloss(y, scores[1])


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50000,200000,1000000,3000000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    diffs = real_differences()
    print(f"{len(diffs):,} real paired differences (March 9 to April 30), tiled to each size\n")
    print("| rows | bootstrap 1000 rounds | CLT | ratio | bootstrap interval | CLT interval |")
    print("|---:|---:|---:|---:|---|---|")
    for n in sizes:
        values = np.resize(diffs, n)
        boot_s, boot = timed(stats.bootstrap_mean, values, 0.95, 1000)
        clt_s, clt = timed(stats.clt_mean, values, 0.95)
        print(
            f"| {n:,} | {boot_s:.2f} s | {clt_s * 1000:.1f} ms | {boot_s / clt_s:,.0f}x "
            f"| {boot['low']:+.5f} to {boot['high']:+.5f} "
            f"| {clt['low']:+.5f} to {clt['high']:+.5f} |"
        )


if __name__ == "__main__":
    main()
