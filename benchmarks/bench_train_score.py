"""Benchmark: mlgate's training task and batch scoring against bare XGBoost, same run.

- training: `train_candidate` (read the window from the lake, build the matrix, train
  with early stopping, log and register in MLflow) against `xgboost.train` on the same
  DMatrix with the same parameters and the same number of rounds;
- scoring: `score_day` (read the day, the pyfunc champion, ids and hashes, commit) and
  the pyfunc's `predict` on 100k rows, against `Booster.predict` on the same rows.

Prints medians of repeated runs and their ratios. Run: `make bench` (about 3 minutes).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(repeat: int = 5) -> None:
    import pandas as pd
    import xgboost as xgb

    from mlgate.config.settings import load_settings
    from mlgate.config.spec import load_spec
    from mlgate.demo import simulator
    from mlgate.ingest import landing
    from mlgate.lake import names
    from mlgate.lake.store import Lake
    from mlgate.model.features import FeatureSchema, model_matrix
    from mlgate.model.serving import load_model
    from mlgate.promote.apply import apply_decision
    from mlgate.promote.evaluate import evaluate_candidate
    from mlgate.score.batch import score_day
    from mlgate.train.booster import train_streamed
    from mlgate.train.candidate import train_candidate
    from mlgate.train.window import WindowRows, plan_window

    home = Path(tempfile.mkdtemp(prefix="mlgate-bench-"))
    settings = load_settings({"MLGATE_HOME": str(home)})
    lake, spec = Lake.from_uri(settings.lake_uri), load_spec("flights")
    days = names.dates("2013-03-01", "2013-04-30")
    print(f"setting up: ingesting {len(days)} real days into {home} ...", flush=True)
    for ds in days:
        simulator.deliver_features(lake, ds)
        simulator.deliver_outcomes(lake, ds)
        run = {"dag_id": "bench", "run_id": "setup", "try_number": 1}
        landing.land_features(lake, spec, ds, run)
        landing.gate_features(lake, spec, ds, run)
        landing.land_outcomes(lake, spec, ds, run)
    target = "2013-05-01"
    counter = iter(range(1000))

    def mlgate_train():
        n = next(counter)  # a seed of its own: the same training again would reuse its version
        return train_candidate(
            lake,
            settings,
            spec,
            target,
            {"dag_id": "bench", "run_id": f"t{n}", "try_number": 1},
            "bench",
            {"params": {"seed": n}},
        )

    candidate = mlgate_train()
    apply_decision(
        lake,
        settings,
        spec,
        evaluate_candidate(lake, settings, spec, candidate["version"], candidate["window"]),
        {"dag_id": "bench", "run_id": "promote"},
    )
    window = plan_window(lake, spec, target)
    frame = landing.labelled_frame(lake, spec, window.train_days)
    model = load_model(settings.tracking_uri, spec.model, candidate["version"])
    schema: FeatureSchema = model._model_impl.python_model.schema
    booster = model._model_impl.python_model.booster
    dtrain = xgb.DMatrix(
        model_matrix(frame, schema), frame[spec.section("label")["name"]], enable_categorical=True
    )
    params = {**spec.section("training")["params"], "seed": spec.section("training")["seed"]}
    rounds = (
        candidate["best_iteration"] + 1 + int(spec.section("training")["early_stopping_rounds"])
    )

    t_mlgate = median_time(mlgate_train, repeat)
    rows = WindowRows(lake, spec, window.train_days)
    t_booster = median_time(lambda: train_streamed(rows, spec, schema), repeat)
    t_bare = median_time(lambda: xgb.train(params, dtrain, rounds), repeat)
    print(
        f"\ntraining on {len(frame):,} rows x {len(schema.names)} features, {rounds} "
        f"rounds (median of {repeat})"
    )
    print(
        "  mlgate train_candidate (lake + matrix + train + MLflow log/register): "
        f"{t_mlgate:8.3f} s   ratio {t_mlgate / t_bare:.2f}x"
    )
    print(
        "    of which train_streamed (lake + matrix + train, early stopping): "
        f"{t_booster:8.3f} s   ratio {t_booster / t_bare:.2f}x"
    )
    print(
        "  bare xgboost.train on the same DMatrix, same rounds:                 "
        f"{t_bare:8.3f} s   baseline"
    )

    big = pd.concat(
        [lake.read_frame("validated", spec.model, d, names.FEATURES_FILE) for d in days],
        ignore_index=True,
    )
    big = pd.concat([big] * max(1, 100_000 // len(big) + 1), ignore_index=True).head(100_000)
    big_matrix = model_matrix(big, schema)
    # a fresh DMatrix each time: XGBoost caches the predictions of a DMatrix it has seen
    t_pyfunc = median_time(lambda: model.predict(big), repeat)
    t_predict = median_time(
        lambda: booster.predict(xgb.DMatrix(big_matrix, enable_categorical=True)), repeat
    )
    t_day = median_time(
        lambda: score_day(
            lake, settings, spec, "2013-04-30", {"dag_id": "bench", "run_id": "s"}, rescore=True
        ),
        repeat,
    )
    day_rows = len(lake.read_frame("validated", spec.model, "2013-04-30", names.FEATURES_FILE))
    day_matrix = model_matrix(
        lake.read_frame("validated", spec.model, "2013-04-30", names.FEATURES_FILE), schema
    )
    t_day_bare = median_time(
        lambda: booster.predict(xgb.DMatrix(day_matrix, enable_categorical=True)), repeat
    )
    print(f"\nscoring (median of {repeat})")
    print(f"  pyfunc champion.predict on 100,000 raw rows:   {t_pyfunc:8.3f} s")
    print(
        f"  bare Booster.predict, same rows' model matrix:  {t_predict:8.3f} s   "
        f"ratio {t_pyfunc / t_predict:.2f}x"
    )
    print(f"  score_day, one day ({day_rows} rows, read + predict + ids + commit): {t_day:8.3f} s")
    print(
        f"  bare Booster.predict, that day's model matrix:  {t_day_bare:8.4f} s   "
        f"ratio {t_day / t_day_bare:.1f}x"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
