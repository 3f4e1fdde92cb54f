"""Evidently's side of benchmarks/bench_drift.py: runs INSIDE benchmarks/.evidently-venv
(Evidently 0.7 with pandas 2; see evidently-requirements.txt), never in the project's env.

Reads a manifest (JSON) naming the columns and the pairs of parquet files:

    {"numeric": [...], "categorical": [...],
     "pairs": [{"id": "...", "reference": "ref.parquet", "current": "cur.parquet"}, ...]}

and runs Evidently's DataDriftPreset with its defaults on each pair, the column types
declared with a DataDefinition (so Evidently sees the same types as mlgate). Prints one JSON
line per pair on stdout:

    {"id", "seconds" (perf_counter around Report.run only), "seconds_with_dataset" (also
     Dataset.from_pandas), "rows", "drift" (dataset level), "drifted_share",
     "features": {column: {"method", "threshold", "score", "drifted"}}}

Run by bench_drift.py: `.evidently-venv/bin/python evidently_side.py MANIFEST.json`.

Whole-process mode, for bench_drift.py's comparison with the `mlgate drift` command: `python
evidently_side.py --once REFERENCE CURRENT NUMERIC CATEGORICAL` (the column lists
comma-separated) reads the two parquet files, runs the same report once and prints its
snapshot as JSON on stdout, as `mlgate drift --json` prints its result: the process from
start to exit (interpreter, imports, reading, the report, the output) is what is timed.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings

os.environ.setdefault("DO_NOT_TRACK", "1")  # Evidently's usage telemetry, off
warnings.filterwarnings("ignore")

import pandas as pd  # noqa: E402
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402


def run_pair(reference: pd.DataFrame, current: pd.DataFrame, definition: DataDefinition) -> dict:
    start = time.perf_counter()
    ref_ds = Dataset.from_pandas(reference, data_definition=definition)
    cur_ds = Dataset.from_pandas(current, data_definition=definition)
    report = Report(
        [DataDriftPreset()], include_tests=True
    )  # include_tests: Evidently's own verdicts
    run_start = time.perf_counter()
    snapshot = report.run(current_data=cur_ds, reference_data=ref_ds)
    end = time.perf_counter()
    out = snapshot.dict()
    features, drifted_share = {}, None
    for metric in out["metrics"]:
        config = metric["config"]
        if config["type"].endswith(
            ":ValueDrift"
        ):  # the method and threshold Evidently picked, the score
            features[config["column"]] = {
                "method": config.get("method"),
                "threshold": config.get("threshold"),
                "score": metric["value"],
            }
        elif config["type"].endswith(":DriftedColumnsCount"):
            drifted_share = metric["value"]["share"]
    dataset_drift = None
    for test in out["tests"]:
        params = test["metric_config"]["params"]
        if params["type"].endswith(":ValueDrift"):
            features[params["column"]]["drifted"] = test["status"] == "FAIL"
        elif params["type"].endswith(":DriftedColumnsCount"):
            dataset_drift = (
                test["status"] == "FAIL"
            )  # the test is "share of drifted columns < drift_share"
    return {
        "seconds": end - run_start,
        "seconds_with_dataset": end - start,
        "rows": [len(reference), len(current)],
        "drift": dataset_drift,
        "drifted_share": drifted_share,
        "features": features,
    }


def main(manifest_path: str) -> None:
    manifest = json.loads(open(manifest_path).read())
    numeric, categorical = manifest["numeric"], manifest["categorical"]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    cached: dict[str, pd.DataFrame] = {}  # one reference serves several currents: read it once

    def read(path: str) -> pd.DataFrame:
        if path not in cached:
            cached.clear()
            cached[path] = pd.read_parquet(path, columns=numeric + categorical)
        return cached[path]

    from importlib.metadata import version

    print(
        json.dumps(
            {
                "id": "versions",
                "versions": {k: version(k) for k in ("evidently", "pandas", "numpy", "scipy")},
            }
        ),
        flush=True,
    )
    warmup = manifest.get("warmup")
    if warmup:  # imports and first-call costs, untimed
        run_pair(
            pd.read_parquet(warmup["reference"]), pd.read_parquet(warmup["current"]), definition
        )
    for pair in manifest["pairs"]:
        reference = read(pair["reference"])
        current = pd.read_parquet(pair["current"], columns=numeric + categorical)
        result = run_pair(reference, current, definition)
        print(json.dumps({"id": pair["id"], **result}), flush=True)


def once(reference: str, current: str, numeric: str, categorical: str) -> None:
    """One report on two files, its snapshot as JSON on stdout (the whole-process mode)."""
    numeric_columns, categorical_columns = numeric.split(","), categorical.split(",")
    columns = numeric_columns + categorical_columns
    definition = DataDefinition(
        numerical_columns=numeric_columns, categorical_columns=categorical_columns
    )
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        current_data=Dataset.from_pandas(
            pd.read_parquet(current, columns=columns), data_definition=definition
        ),
        reference_data=Dataset.from_pandas(
            pd.read_parquet(reference, columns=columns), data_definition=definition
        ),
    )
    print(json.dumps(snapshot.dict(), default=str))


if __name__ == "__main__":
    if sys.argv[1] == "--once":
        once(*sys.argv[2:6])
    else:
        main(sys.argv[1])
