"""Scale: the training task against a bare `xgboost.train`, and the dask engine, on training
windows of about 0.5M, 1M, 3M and 10M rows of real 2013 flights; the evaluate task at the
same scale.

The lake holds real days of 2013 replicated `--scale` times (`mlgate land --scale`: each
copy a distinct key and small perturbations of the continuous columns), taken through the
real ingest gate once and kept in `--cache` for later runs. A window of N rows is the
fewest days before the target day that hold N labelled rows. Every figure is measured in
a fresh process of its own: wall time and that process's peak RSS (the dask engine: the
client's and its two workers' peaks, summed). Ratios are against the bare `xgboost.train`
of the same run: the same rows already in one in-memory DMatrix, the same parameters,
early stopping on the same days.

    python benchmarks/bench_scale.py                       # 0.5M 1M 3M 10M, scale 200
    python benchmarks/bench_scale.py --sizes 0.2,0.5 --scale 20 --engines local
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET = "2013-06-01"  # the training run's day: recent days 05-25..05-31 before it


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_spec(window_days: int):
    """The flights spec with a training window of `window_days` days and no golden days
    (the benchmark's lake holds only the days before the target)."""
    from mlgate.config.spec import Spec, load_spec

    spec = load_spec("flights")
    raw = copy.deepcopy(spec.raw)
    raw["training"].update(window_days=window_days, min_days=min(window_days, 3))
    raw["evaluation"]["golden_days"] = []
    return Spec(name=spec.name, raw=raw, path=spec.path)


def context(home: str, window_days: int):
    from mlgate.config.settings import load_settings
    from mlgate.lake.store import Lake

    settings = load_settings({"MLGATE_HOME": home})
    return settings, Lake.from_uri(settings.lake_uri), bench_spec(window_days)


def one(what: str, home: str, window_days: int, seed: int) -> dict:
    """One measurement, in this process: returns its figures."""
    settings, lake, spec = context(home, window_days)
    run = {"dag_id": "bench_scale", "run_id": f"{what}-{window_days}-{seed}", "try_number": 1}
    if what == "train":
        from mlgate.train.candidate import train_candidate

        start = time.perf_counter()
        candidate = train_candidate(
            lake, settings, spec, TARGET, run, "bench", {"params": {"seed": seed}}
        )
        seconds = time.perf_counter() - start
        return {
            "seconds": seconds,
            "rss_mb": peak_rss_mb(),
            "rows": candidate["train_rows"] + candidate["valid_rows"],
            "version": candidate["version"],
            "rounds": candidate["best_iteration"] + 1 + _early_stopping(spec),
        }
    if what == "evaluate":
        from mlgate.promote.apply import apply_decision
        from mlgate.promote.evaluate import evaluate_candidate
        from mlgate.train.window import plan_window

        window = plan_window(lake, spec, TARGET)
        version = _newest_version(settings, spec)
        start = time.perf_counter()
        decision = evaluate_candidate(lake, settings, spec, version, window.__dict__)
        seconds = time.perf_counter() - start
        promoted = apply_decision(lake, settings, spec, decision, run)
        return {
            "seconds": seconds,
            "rss_mb": peak_rss_mb(),
            "outcome": f"{decision.outcome}{' (promoted)' if promoted else ''}",
            "sentence": decision.sentence,
        }
    if what == "bare":
        return bare_train(lake, spec, seed)
    if what == "dask":
        return dask_train(lake, spec, seed)
    raise ValueError(what)


def _early_stopping(spec) -> int:
    return int(spec.section("training")["early_stopping_rounds"])


def _newest_version(settings, spec) -> str:
    from mlgate import tracking

    versions = tracking.client(settings).search_model_versions(f"name='{spec.model}'")
    return str(max(int(v.version) for v in versions))


def bare_train(lake, spec, seed: int) -> dict:
    """The baseline: the window's rows in one in-memory DMatrix (built before the clock
    starts), then xgboost.train with the task's parameters and early stopping."""
    import pandas as pd
    import xgboost as xgb

    from mlgate.model.features import model_matrix
    from mlgate.train.booster import training_params, validation_days
    from mlgate.train.window import WindowRows, plan_window, scan_window

    window = plan_window(lake, spec, TARGET)
    rows = WindowRows(lake, spec, window.train_days)
    schema = scan_window(rows, sample_limit=1000).schema
    frame = pd.concat([f for _, f in rows], ignore_index=True)
    label = spec.section("label")["name"]
    held = frame["ds"].isin(validation_days(spec, window.train_days))
    dtrain = xgb.DMatrix(
        model_matrix(frame[~held], schema), frame.loc[~held, label], enable_categorical=True
    )
    dvalid = xgb.DMatrix(
        model_matrix(frame[held], schema), frame.loc[held, label], enable_categorical=True
    )
    params, rounds = training_params(spec, {"params": {"seed": seed}})
    start = time.perf_counter()
    booster = xgb.train(
        params,
        dtrain,
        rounds,
        evals=[(dvalid, "valid")],
        early_stopping_rounds=_early_stopping(spec),
        verbose_eval=False,
    )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "rss_mb": peak_rss_mb(),
        "rows": len(frame),
        "rounds": booster.num_boosted_rounds(),
    }


def dask_train(lake, spec, seed: int) -> dict:
    """The dask engine on a LocalCluster of two single-threaded worker processes."""
    from distributed import Client, LocalCluster

    from mlgate.train.dask_engine import train_on_dask
    from mlgate.train.window import plan_window

    window = plan_window(lake, spec, TARGET)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,
        Client(cluster) as client,
    ):
        start = time.perf_counter()
        booster, _, info = train_on_dask(
            client, lake, spec, window.train_days, {"params": {"seed": seed}}
        )
        seconds = time.perf_counter() - start
        workers = client.run(peak_rss_mb)
    return {
        "seconds": seconds,
        "rss_mb": peak_rss_mb() + sum(workers.values()),
        "rows": info["train_rows"] + info["valid_rows"],
        "rounds": info["best_iteration"] + 1 + _early_stopping(spec),
    }


def measure(what: str, home: Path, window_days: int, seed: int) -> dict:
    """Run one measurement in a fresh process; its figures."""
    out = subprocess.run(
        [sys.executable, __file__, "--one", what, str(home), str(window_days), str(seed)],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise RuntimeError(f"{what} with {window_days} days failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_lake(home: Path, scale: int, days: int) -> None:
    """The `days` real days before the target, at `scale`, through the real ingest gates
    (mlgate.demo.scaled); days already in the cache are kept."""
    from mlgate.demo.scaled import build_scaled_lake
    from mlgate.lake import names

    _, lake, spec = context(str(home), days)
    target = dt.date.fromisoformat(TARGET)
    wanted = names.dates(target - dt.timedelta(days=days), target - dt.timedelta(days=1))
    missing = [d for d in wanted if not lake.exists("outcomes", spec.model, d)]
    print(f"lake at scale {scale}: {wanted[0]} .. {wanted[-1]} in {home}", flush=True)
    start = time.perf_counter()
    for ds in missing:  # one day at a time: a day is either in the cache or not
        (day,) = build_scaled_lake(lake, ds, ds, scale, spec)
        print(f"  {ds}: {day.rows:,} rows, gates {day.features_gate_seconds:.1f} s", flush=True)
    print(f"  {len(missing)} day(s) ingested in {time.perf_counter() - start:.0f} s", flush=True)


def window_days_for(home: Path, rows: float) -> int:
    """The fewest training days before the evaluation days that hold `rows` labelled rows."""
    from mlgate.train.window import plan_window

    settings, lake, spec = context(str(home), 200)
    window = plan_window(lake, spec, TARGET)
    total = 0
    for k, ds in enumerate(reversed(window.train_days), 1):
        total += lake.read_lineage("outcomes", spec.model, ds)["rows"]
        if total >= rows:
            return k
    raise SystemExit(f"the lake holds only {total} labelled rows; raise --scale")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="0.5,1,3,10", help="millions of training rows")
    parser.add_argument("--scale", type=int, default=200, help="copies of each real row")
    parser.add_argument("--engines", default="local,dask", help="local and/or dask")
    parser.add_argument("--cache", default=".mlgate/bench-scale", help="where the lake is kept")
    parser.add_argument("--build-only", action="store_true", help="build the lake and stop")
    args = parser.parse_args()
    if args.one:
        what, home, days, seed = args.one
        print(json.dumps(one(what, home, int(days), int(seed))))
        return
    sizes = [float(s) * 1e6 for s in args.sizes.split(",")]
    home = Path(args.cache).resolve() / f"scale-{args.scale}"
    per_day = 922 * args.scale  # 2013's mean flights per day
    build_lake(home, args.scale, math.ceil(max(sizes) / per_day * 1.08) + 7)
    if args.build_only:
        return
    header = f"{'rows':>11} {'days':>4} | {'what':<34} {'seconds':>8} {'peak RSS':>9} {'ratio':>6}"
    lines = [header, "-" * len(header)]
    first_seed = int(time.time()) % 100_000  # each run trains anew (no reused version)
    for n, size in enumerate(sizes, first_seed):
        days = window_days_for(home, size)
        bare = measure("bare", home, days, n)
        task = measure("train", home, days, n)
        rows = f"{task['rows']:>11,} {days:>4}"
        found = [
            ("bare xgboost.train, in-memory DMatrix", bare),
            ("training task (local engine)", task),
        ]
        if "dask" in args.engines:
            found.append(("dask engine (2 worker processes)", measure("dask", home, days, n)))
        found.append(("evaluate task (7 recent days)", measure("evaluate", home, days, n)))
        for label, fig in found:
            ratio = f"{fig['seconds'] / bare['seconds']:5.2f}x" if "evaluate" not in label else ""
            lines.append(
                f"{rows} | {label:<34} {fig['seconds']:8.1f} {fig['rss_mb']:7.0f}MB {ratio:>6}"
            )
        lines.append(f"{'':>16} | evaluate: {found[-1][1]['outcome']}")
        print("\n".join(lines[-len(found) - 1 :]), flush=True)
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
