"""Benchmark: the GX gate on a 1M-row partition against the same checks in vectorised pandas.

The partition is a million real 2013 flights (the year, repeated with fresh ids, dated to
one day so the partition-date checks hold), validated with a real 28-day history profile.
The pandas baseline runs exactly the expectations the gate generates (it interprets their
configurations), so both sides check the same things. Prints medians and the ratio.
Run: `.venv/bin/python benchmarks/bench_gate.py [repeat]`.
"""

from __future__ import annotations

import re
import statistics
import sys
import time

import numpy as np
import pandas as pd


def million_rows(ds: str) -> pd.DataFrame:
    from mlgate.demo import simulator

    year = simulator.flights_2013()[simulator.FEATURE_FEED_COLUMNS]
    frame = pd.concat([year] * 3, ignore_index=True).head(1_000_000)
    day = pd.Timestamp(ds)
    utc = day + pd.to_timedelta(frame["hour"] + 4, unit="h")  # New York is UTC-4 in June
    frame = frame.assign(
        year=day.year, month=day.month, day=day.day, time_hour=utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    frame["flight_id"] = (
        f"{ds}-"
        + frame["carrier"]
        + pd.Series(np.arange(len(frame))).astype(str)
        + "-"
        + frame["origin"]
        + "-"
        + frame["sched_dep_time"].astype(str).str.zfill(4)
    )  # unique, in the contract's format
    return frame


def pandas_check(frame: pd.DataFrame, exp) -> bool:
    """One expectation, as vectorised pandas (the baseline)."""
    kw = exp.configuration.kwargs
    t = exp.expectation_type
    col = kw.get("column")
    mostly = kw.get("mostly", 1.0) or 1.0

    def share_ok(bad: pd.Series, nonnull: pd.Series) -> bool:
        n = int(nonnull.sum())
        return n == 0 or 1 - bad.sum() / n >= mostly

    if t == "expect_table_columns_to_match_set":
        return set(frame.columns) == set(kw["column_set"])
    if t == "expect_table_row_count_to_be_between":
        return (kw["min_value"] is None or len(frame) >= kw["min_value"]) and (
            kw["max_value"] is None or len(frame) <= kw["max_value"]
        )
    if t == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = frame[kw["column_A"]], frame[kw["column_B"]]
        both = a.notna() & b.notna()
        bad = (a[both] < b[both]) if kw.get("or_equal") else (a[both] <= b[both])
        return share_ok(bad, both)
    s = frame[col]
    if t == "expect_column_values_to_be_in_type_list":
        return type(s.dtype).__name__ in kw["type_list"] or str(s.dtype) in kw["type_list"]
    if t == "expect_column_values_to_not_be_null":
        return s.notna().mean() >= mostly
    nonnull = s.notna()
    if t == "expect_column_values_to_be_between":
        v = s[nonnull]
        bad = pd.Series(False, index=v.index)
        if kw.get("min_value") is not None:
            bad |= v < kw["min_value"]
        if kw.get("max_value") is not None:
            bad |= v > kw["max_value"]
        return share_ok(bad, nonnull)
    if t == "expect_column_values_to_be_in_set":
        return share_ok(~s[nonnull].isin(kw["value_set"]), nonnull)
    if t == "expect_column_values_to_match_regex":
        return share_ok(~s[nonnull].str.match(re.compile(kw["regex"])), nonnull)
    if t == "expect_column_values_to_be_unique":
        return not s[nonnull].duplicated(keep=False).any()
    if t == "expect_column_mean_to_be_between":
        m = s.mean()
        return kw["min_value"] <= m <= kw["max_value"]
    raise NotImplementedError(t)


def main(repeat: int = 3) -> None:
    from mlgate.config.spec import load_spec
    from mlgate.demo.incidents import clean_history
    from mlgate.ingest import gate
    from mlgate.ingest.landing import features_inputs

    spec, ds = load_spec("flights"), "2013-06-05"
    contract = spec.contract("features")
    inputs = features_inputs(spec, ds, clean_history(spec, "features", ds))
    inputs = type(inputs)(
        **{
            **inputs.__dict__,
            "history": {**inputs.history, "rows": {d: 1_000_000 for d in inputs.history["rows"]}},
        }
    )
    frame = million_rows(ds)
    print(
        f"partition: {len(frame):,} rows x {frame.shape[1]} columns; history: "
        f"{len(inputs.history['days'])} days"
    )

    def run_gx():
        return gate.validate_frame(frame, contract, inputs)

    def run_gx_usual():
        """GX as usually set up: the suite stored in the context, a validation definition,
        SUMMARY results for every expectation."""
        import great_expectations as gx

        batch, added = gate.prepare(frame, contract, inputs)
        context, batch_definition = gate._gx_batch_definition()
        suite = context.suites.add_or_update(
            gx.ExpectationSuite(
                name="usual", expectations=gate.build_expectations(batch, contract, inputs, added)
            )
        )
        validation = context.validation_definitions.add_or_update(
            gx.ValidationDefinition(name="usual", data=batch_definition, suite=suite)
        )
        return validation.run(
            batch_parameters={"dataframe": batch}, result_format="SUMMARY"
        ).success

    def run_pandas():
        batch, added = gate.prepare(frame, contract, inputs)
        return all(
            pandas_check(batch, e) for e in gate.build_expectations(batch, contract, inputs, added)
        )

    result = run_gx()
    assert run_pandas() == result.success, "the baseline and the gate disagree"
    n_exps = len(
        gate.build_expectations(
            *gate.prepare(frame, contract, inputs)[:1],
            contract,
            inputs,
            gate.prepare(frame, contract, inputs)[1],
        )
    )
    times = {"gx": [], "pandas": [], "usual": []}
    for _ in range(repeat):
        for name, fn in (("gx", run_gx), ("pandas", run_pandas), ("usual", run_gx_usual)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    gx, pd_ = statistics.median(times["gx"]), statistics.median(times["pandas"])
    print(
        f"{n_exps} expectations, gate verdict: {'pass' if result.success else 'reject'} "
        f"{[f.reason for f in result.failures][:3]}"
    )
    print(
        f"  GX gate (mlgate.ingest.gate.validate_frame):  median {gx:7.2f} s  "
        f"{['%.2f' % t for t in times['gx']]}"
    )
    print(
        f"  same checks in vectorised pandas:      median {pd_:7.2f} s  "
        f"{['%.2f' % t for t in times['pandas']]}"
    )
    usual = statistics.median(times["usual"])
    print(
        f"  GX as usually set up (stored suite, SUMMARY): median {usual:7.2f} s  "
        f"{['%.2f' % t for t in times['usual']]}"
    )
    print(
        f"  ratio GX gate / pandas: {gx / pd_:.2f}x   (GX as usually set up / "
        f"pandas: {usual / pd_:.2f}x)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
