"""Benchmark: mlgate's drift detector against Evidently's DataDriftPreset, same pairs, same run.

Pairs of samples (reference, current) are drawn from the real 2013 flights with their weather
(`simulator.flights_2013()`, 336,776 flights), on the spec's 17 raw features (14 numeric, 3
categorical; the weather's missing values are kept), at 10k, 100k and 1M rows per sample (1M
draws rows with replacement). Per size, each pair is a random split of one pool drawn from
the year, and from it five shifted currents are made:

- null: the split as is, so every alarm is false (false-alarm rate, dataset and per feature);
- temp +0.25 sd, distance +0.25 sd: that feature shifted by a quarter of its standard deviation;
- origin mix: 10% of the current's rows moved from EWR to LGA;
- temp F->C, distance mi->km: that feature in other units.

For a shift, detection = share of pairs where THAT feature is flagged (and, in brackets, where
the dataset-level verdict is drift). Both tools see the same parquet files:

- mlgate: `mlgate.monitor.drift.compare_samples(ref, cur, numeric, categorical,
  false_alarm_rate=0.05, seed=0)`, timed end to end in this process (it includes profiling the
  reference); 0.05 is the dataset-level false-alarm rate the function controls;
- Evidently 0.7: `Report([DataDriftPreset()])` with the preset's defaults and the column types
  declared with a DataDefinition, run by `evidently_side.py` in its own env (Evidently 0.7 does
  not import with pandas 3): `benchmarks/.evidently-venv`, made from
  `evidently-requirements.txt` by this script when missing (or by hand: `python3 -m venv
  benchmarks/.evidently-venv && benchmarks/.evidently-venv/bin/pip install -r
  benchmarks/evidently-requirements.txt`). Timed around `Report.run` only.

Whole process: per size (1k and 100k rows by default), one pair as delivered (every column of
the features feed; the current with temp +0.25 sd) is judged by the `mlgate drift --spec flights
--json` command and by `evidently_side.py --once` (the same report, its snapshot printed as
JSON), each a fresh process timed from start to exit (interpreter, imports, reading the files,
the test, the output), alternated, median of `--whole-runs` runs, ratio Evidently / mlgate.
mlgate tests 18 inputs there (the spec's 17 features and the derived day of week) at the
spec's false-alarm rate 0.01; Evidently the 17 features.

Prints the median time per pair (all scenarios of a size), the ratio Evidently / mlgate, the
false-alarm rates and detection rates as a markdown table, and writes the figures as JSON to
benchmarks/results/ (gitignored). Timings are reported, never judged.

Run: `.venv/bin/python benchmarks/bench_drift.py` (12, 5 and 1 pairs at 10k, 100k and 1M
rows: about 13 minutes on 2 cores, plus about a minute the first time to make the Evidently
env, plus about 2 minutes for the whole-process comparison), `--quick` (4 and 2 pairs at 10k
and 100k, 3 whole-process runs: about 4 minutes), `--whole-only` (only the whole-process
comparison), or e.g. `--sizes 10000,100000,1000000 --pairs 20,10,4 --whole-sizes
1000,100000,1000000` for other sizes and repeats.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
EVIDENTLY_VENV = HERE / ".evidently-venv"
EVIDENTLY_REQUIREMENTS = HERE / "evidently-requirements.txt"
FALSE_ALARM_RATE = 0.05
# Evidently takes about 2.3, 7.5 and 45 s per run at 10k, 100k and 1M rows here (2 cores), six runs
# per pair: these repeats keep the default run near 13 minutes
DEFAULT_SIZES, DEFAULT_PAIRS = [10_000, 100_000, 1_000_000], [12, 5, 1]
QUICK_SIZES, QUICK_PAIRS = [10_000, 100_000], [4, 2]
# the whole-process comparison: `mlgate drift` and Evidently each in a fresh process
WHOLE_SIZES, WHOLE_RUNS, QUICK_WHOLE_RUNS = [1_000, 100_000], 5, 3
SHIFT_SD, MIX_SHARE = 0.25, 0.10


def scenarios(year: pd.DataFrame) -> dict:
    """name -> (target feature or None, label, how the current is changed)."""
    sd = {col: float(year[col].std()) for col in ("temp", "distance")}

    def shift(col):
        return lambda cur, rng: cur.assign(**{col: cur[col].astype("float64") + SHIFT_SD * sd[col]})

    def origin_mix(cur, rng):
        ewr = np.flatnonzero((cur["origin"] == "EWR").to_numpy())
        moved = rng.choice(ewr, size=min(len(ewr), round(MIX_SHARE * len(cur))), replace=False)
        origin = cur["origin"].copy()
        origin.iloc[moved] = "LGA"
        return cur.assign(origin=origin)

    return {
        "null": (None, "null", lambda cur, rng: cur),
        "temp_shift": ("temp", f"temp +{SHIFT_SD} sd", shift("temp")),
        "distance_shift": ("distance", f"distance +{SHIFT_SD} sd", shift("distance")),
        "origin_mix": ("origin", f"origin {MIX_SHARE:.0%} EWR->LGA", origin_mix),
        "temp_unit": (
            "temp",
            "temp F->C",
            lambda cur, rng: cur.assign(temp=(cur["temp"] - 32) * 5 / 9),
        ),
        "distance_unit": (
            "distance",
            "distance mi->km",
            lambda cur, rng: cur.assign(distance=cur["distance"] * 1.609344),
        ),
    }


def make_pairs(
    year: pd.DataFrame, sizes: list[int], pairs: list[int], folder: Path, seed: int
) -> list[dict]:
    """Write every pair's reference and currents as parquet; return the manifest's pairs."""
    out = []
    kinds = scenarios(year)
    for n, repeats in zip(sizes, pairs):
        for i in range(repeats):
            rng = np.random.default_rng([seed, n, i])
            idx = rng.choice(
                len(year), size=2 * n, replace=2 * n > len(year)
            )  # a random pool, split in two
            ref = year.iloc[idx[:n]].reset_index(drop=True)
            cur = year.iloc[idx[n:]].reset_index(drop=True)
            ref_path = folder / f"{n}-{i}-reference.parquet"
            ref.to_parquet(ref_path, index=False)
            for name, (target, _, change) in kinds.items():
                path = folder / f"{n}-{i}-{name}.parquet"
                change(cur, rng).to_parquet(path, index=False)
                out.append(
                    {
                        "id": f"{n}/{i}/{name}",
                        "size": n,
                        "pair": i,
                        "scenario": name,
                        "target": target,
                        "reference": str(ref_path),
                        "current": str(path),
                    }
                )
    return out


def ensure_evidently_env() -> Path:
    """Evidently's venv, made from the pinned requirements when missing or older than them."""
    python, stamp = EVIDENTLY_VENV / "bin" / "python", EVIDENTLY_VENV / ".installed"
    if stamp.exists() and stamp.stat().st_mtime >= EVIDENTLY_REQUIREMENTS.stat().st_mtime:
        return python
    print(
        f"making the Evidently env {EVIDENTLY_VENV} from "
        f"{EVIDENTLY_REQUIREMENTS.name} (about a minute) ...",
        flush=True,
    )
    base = getattr(sys, "_base_executable", sys.executable)  # a plain Python 3.11, not this venv's
    steps = [
        [base, "-m", "venv", "--clear", str(EVIDENTLY_VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip==26.3"],
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(EVIDENTLY_REQUIREMENTS)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"failed: {' '.join(step)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    stamp.touch()
    return python


def run_evidently(python: Path, manifest: dict, folder: Path) -> dict[str, dict]:
    """All pairs in one subprocess; one JSON line per pair."""
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest))
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        [str(python), str(HERE / "evidently_side.py"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    results = {}
    for line in proc.stdout:
        row = json.loads(line)
        results[row["id"]] = row
        if "seconds" in row and row["id"].endswith("/null"):
            print(f"  evidently {row['id']:<16} {row['seconds']:7.2f} s", flush=True)
    if proc.wait() != 0:
        sys.exit(f"evidently_side.py failed with exit code {proc.returncode}")
    return results


def run_mlgate(manifest: dict) -> dict[str, dict]:
    from mlgate.monitor.drift import compare_samples

    numeric, categorical, cols = (
        manifest["numeric"],
        manifest["categorical"],
        manifest["numeric"] + manifest["categorical"],
    )

    def call(pair):
        ref, cur = (
            pd.read_parquet(pair["reference"], columns=cols),
            pd.read_parquet(pair["current"], columns=cols),
        )
        start = time.perf_counter()
        result = compare_samples(
            ref,
            cur,
            numeric=numeric,
            categorical=categorical,
            false_alarm_rate=FALSE_ALARM_RATE,
            seed=0,
        )
        return time.perf_counter() - start, result

    call(manifest["warmup"])  # imports and first-call costs, untimed
    results = {}
    for pair in manifest["pairs"]:
        seconds, result = call(pair)
        results[pair["id"]] = {
            "seconds": seconds,
            "drift": bool(result["drift"]),
            "drifted_share": result["drifted_importance"],  # equal weights: the share of features
            "features": {
                f["name"]: {
                    "method": f["method"],
                    "threshold": f["threshold"],
                    "score": f["statistic"],
                    "drifted": bool(f["drifted"]),
                }
                for f in result["features"]
            },
        }
        if pair["scenario"] == "null":
            print(f"  mlgate    {pair['id']:<16} {seconds:7.2f} s", flush=True)
    return results


def whole_process_pairs(year: pd.DataFrame, sizes: list[int], folder: Path, seed: int) -> list:
    """Per size, a reference and a current (temp +SHIFT_SD sd) as delivered: every column of
    the features feed, so `mlgate drift --spec flights` finds its inputs (the timestamp
    included, for the derived day of week)."""
    out = []
    sd = float(year["temp"].std())
    for n in sizes:
        rng = np.random.default_rng([seed, n, 99])
        idx = rng.choice(len(year), size=2 * n, replace=2 * n > len(year))
        ref = year.iloc[idx[:n]].reset_index(drop=True)
        cur = year.iloc[idx[n:]].reset_index(drop=True)
        ref_path, cur_path = (
            folder / f"whole-{n}-reference.parquet",
            folder / f"whole-{n}-current.parquet",
        )
        ref.to_parquet(ref_path, index=False)
        cur.assign(temp=cur["temp"] + SHIFT_SD * sd).to_parquet(cur_path, index=False)
        out.append((n, ref_path, cur_path))
    return out


def timed_process(command: list[str], env: dict) -> tuple[float, str]:
    """Wall time of one process from start to exit, and its stdout."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def run_whole_process(python: Path, pairs: list, manifest: dict, runs: int) -> dict:
    """`mlgate drift --spec flights --json` against Evidently's report (`evidently_side.py
    --once`), each a fresh process on the same files, alternated `runs` times per size."""
    script = Path(sys.executable).with_name("mlgate")  # the console script a user runs
    mlgate_command = [
        *([str(script)] if script.exists() else [sys.executable, "-m", "mlgate.cli"]),
        *("drift", "--spec", "flights", "--json"),
    ]
    evidently_env = {**os.environ, "DO_NOT_TRACK": "1"}
    evidently_env.pop("PYTHONPATH", None)
    out = {}
    for n, ref, cur in pairs:
        times = {"mlgate": [], "evidently": []}
        for _ in range(runs):
            seconds, text = timed_process(
                [*mlgate_command, "--reference", str(ref), "--current", str(cur)], dict(os.environ)
            )
            times["mlgate"].append(seconds)
            verdict = json.loads(text)
            seconds, _ = timed_process(
                [
                    str(python),
                    str(HERE / "evidently_side.py"),
                    "--once",
                    str(ref),
                    str(cur),
                    ",".join(manifest["numeric"]),
                    ",".join(manifest["categorical"]),
                ],
                evidently_env,
            )
            times["evidently"].append(seconds)
        medians = {tool: statistics.median(t) for tool, t in times.items()}
        out[n] = {
            "runs": runs,
            "seconds": times,
            "median_seconds": medians,
            "ratio_evidently_over_mlgate": medians["evidently"] / medians["mlgate"],
            "mlgate_drift": verdict["drift"],
            "mlgate_drifted": verdict["drifted"],
        }
        print(
            f"  {n:>9,} rows: mlgate drift {medians['mlgate']:.2f} s, Evidently "
            f"{medians['evidently']:.2f} s ({out[n]['ratio_evidently_over_mlgate']:.1f}x)",
            flush=True,
        )
    return out


def whole_process_table(whole: dict) -> str:
    head = [
        "rows/sample",
        "runs",
        "mlgate drift s",
        "Evidently s",
        "Evidently/mlgate",
        "mlgate says",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n, w in whole.items():
        says = f"drift in {', '.join(w['mlgate_drifted'])}" if w["mlgate_drift"] else "no drift"
        cells = [
            f"{n:,}",
            str(w["runs"]),
            f"{w['median_seconds']['mlgate']:.2f}",
            f"{w['median_seconds']['evidently']:.2f}",
            f"{w['ratio_evidently_over_mlgate']:.1f}x",
            says,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summarize(pairs: list[dict], results: dict[str, dict], n_features: int) -> dict:
    """Per size: median time, false alarms on the null pairs, detection per shift."""
    out = {}
    for n in sorted({p["size"] for p in pairs}):
        mine = [p for p in pairs if p["size"] == n]
        times = [results[p["id"]]["seconds"] for p in mine]
        null = [results[p["id"]] for p in mine if p["scenario"] == "null"]
        detection = {}
        for name in dict.fromkeys(p["scenario"] for p in mine if p["scenario"] != "null"):
            rows = [(p, results[p["id"]]) for p in mine if p["scenario"] == name]
            detection[name] = {
                "feature": sum(r["features"][p["target"]]["drifted"] for p, r in rows) / len(rows),
                "dataset": sum(r["drift"] for _, r in rows) / len(rows),
                "other_features_flagged": sum(
                    f["drifted"]
                    for p, r in rows
                    for c, f in r["features"].items()
                    if c != p["target"]
                )
                / (len(rows) * (n_features - 1)),
                "scores": [r["features"][p["target"]]["score"] for p, r in rows],
            }
        methods = {}  # the test each tool used per column, with the range of its thresholds
        for r in null:
            for col, f in r["features"].items():
                m = methods.setdefault(f["method"], {"columns": set(), "thresholds": []})
                m["columns"].add(col)
                m["thresholds"].append(f["threshold"])
        out[n] = {
            "pairs": len(null),
            "runs": len(times),
            "median_seconds": statistics.median(times),
            "seconds": times,
            "null_far_dataset": sum(r["drift"] for r in null) / len(null),
            "null_far_feature": sum(f["drifted"] for r in null for f in r["features"].values())
            / (len(null) * n_features),
            "null_flagged_features": sorted(
                {c for r in null for c, f in r["features"].items() if f["drifted"]}
            ),
            "detection": detection,
            "methods": {
                m: {
                    "columns": sorted(v["columns"]),
                    "threshold_range": [min(v["thresholds"]), max(v["thresholds"])],
                }
                for m, v in methods.items()
            },
        }
        if all(
            "seconds_with_dataset" in results[p["id"]] for p in mine
        ):  # Evidently: with Dataset.from_pandas too
            out[n]["median_seconds_with_dataset"] = statistics.median(
                results[p["id"]]["seconds_with_dataset"] for p in mine
            )
    return out


def table(summary: dict, labels: dict[str, str]) -> str:
    shifts = [s for s in labels if s != "null"]
    head = [
        "rows/sample",
        "pairs",
        "tool",
        "median s/pair",
        "Evidently/mlgate",
        "null FAR dataset",
        "null FAR per feature",
    ] + [f"{labels[s]}: feature (dataset)" for s in shifts]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in summary["mlgate"]:
        ratio = summary["evidently"][n]["median_seconds"] / summary["mlgate"][n]["median_seconds"]
        for tool in ("mlgate", "evidently"):
            s = summary[tool][n]
            det = [
                f"{s['detection'][k]['feature']:.0%} ({s['detection'][k]['dataset']:.0%})"
                for k in shifts
            ]
            lines.append(
                "| "
                + " | ".join(
                    [
                        f"{n:,}",
                        str(s["pairs"]),
                        tool,
                        f"{s['median_seconds']:.3f}",
                        f"{ratio:.2f}x" if tool == "evidently" else "",
                        f"{s['null_far_dataset']:.0%}",
                        f"{s['null_far_feature']:.1%}",
                        *det,
                    ]
                )
                + " |"
            )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="10k and 100k rows, 4 and 2 pairs; whole process: 1k and 100k rows, 3 runs",
    )
    parser.add_argument(
        "--sizes", help="rows per sample, comma-separated (default 10000,100000,1000000)"
    )
    parser.add_argument("--pairs", help="pairs per size, comma-separated (default 12,5,1)")
    parser.add_argument(
        "--whole-sizes",
        help="rows per sample of the whole-process comparison (default 1000,100000)",
    )
    parser.add_argument(
        "--whole-runs", type=int, help="runs of each command per size (default 5, quick 3)"
    )
    parser.add_argument(
        "--whole-only", action="store_true", help="only the whole-process comparison"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out", type=Path, help="the JSON figures (default benchmarks/results/drift-<time>.json)"
    )
    args = parser.parse_args()
    args.sizes = (
        [int(x) for x in args.sizes.split(",")]
        if args.sizes
        else (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    )
    args.pairs = (
        [int(x) for x in args.pairs.split(",")]
        if args.pairs
        else (QUICK_PAIRS if args.quick else DEFAULT_PAIRS)
    )
    if len(args.pairs) != len(args.sizes):
        parser.error("--pairs needs one number per size")
    args.whole_sizes = (
        [int(x) for x in args.whole_sizes.split(",")] if args.whole_sizes else WHOLE_SIZES
    )
    args.whole_runs = args.whole_runs or (QUICK_WHOLE_RUNS if args.quick else WHOLE_RUNS)
    return args


def print_in_process(summary: dict, labels: dict, year_rows: int, numeric, categorical) -> None:
    print()
    print(
        f"{year_rows:,} flights of 2013; {len(numeric)} numeric + {len(categorical)} categorical "
        "features; 1M-row samples drawn with replacement"
    )
    print(
        f"mlgate: compare_samples(false_alarm_rate={FALSE_ALARM_RATE}, seed=0): {FALSE_ALARM_RATE} "
        "is the dataset-level false-alarm rate it controls"
    )
    print(
        "Evidently: DataDriftPreset() defaults (dataset drift when >= 50% of columns drift; the "
        "test per column picked by Evidently from its size and type)"
    )
    print(
        "time: median over all runs of a size (every scenario of every pair); "
        "Evidently's around Report.run only\n"
    )
    print(table(summary, labels))
    print()
    for tool in ("mlgate", "evidently"):
        for n, s in summary[tool].items():
            methods = "; ".join(
                f"{m} on {len(v['columns'])} columns, threshold "
                + (
                    f"{v['threshold_range'][0]:.3g}"
                    if v["threshold_range"][0] == v["threshold_range"][1]
                    else f"{v['threshold_range'][0]:.3g} to {v['threshold_range'][1]:.3g}"
                )
                for m, v in s["methods"].items()
            )
            if "median_seconds_with_dataset" in s:
                with_dataset = s["median_seconds_with_dataset"]
                methods += f"; median {with_dataset:.3f} s/pair with Dataset.from_pandas"
            flagged = ", ".join(s["null_flagged_features"]) or "none"
            print(f"{tool} at {n:,}: {methods}; features flagged in null pairs: {flagged}")


def print_whole_process(whole: dict) -> None:
    print(
        "\nwhole process (a fresh process per run, start to exit: interpreter, imports, reading "
        f"the files, the test, the JSON output), current = temp +{SHIFT_SD} sd; mlgate: "
        "`mlgate drift --spec flights --json` (18 inputs: the spec's 17 features and the "
        "derived day of week; false-alarm rate 0.01 from the spec); Evidently: "
        "`evidently_side.py --once` (DataDriftPreset on the 17 features, snapshot as JSON); "
        "median of the runs, alternated\n"
    )
    print(whole_process_table(whole))


def main() -> None:
    args = parse_args()

    import mlgate.monitor.drift
    from mlgate.config.spec import load_spec
    from mlgate.demo import simulator

    drift_sha = hashlib.sha256(
        Path(mlgate.monitor.drift.__file__).read_bytes()
    ).hexdigest()  # which drift.py is measured

    spec = load_spec("flights")
    numeric, categorical = spec.numeric_features, spec.categorical_features
    delivered = simulator.flights_2013()[simulator.FEATURE_FEED_COLUMNS]
    year = delivered[numeric + categorical]
    labels = {name: label for name, (_, label, _) in scenarios(year).items()}
    python = ensure_evidently_env()
    started, load_before = time.perf_counter(), os.getloadavg()
    summary, versions = {}, {}
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp:
        folder = Path(tmp)
        manifest = {"numeric": numeric, "categorical": categorical}
        if not args.whole_only:
            print(
                f"writing the pairs: sizes {args.sizes}, pairs {args.pairs}, "
                f"{len(labels)} scenarios each ...",
                flush=True,
            )
            pair_list = make_pairs(year, args.sizes, args.pairs, folder, args.seed)
            (folder / "warmup").mkdir()
            warmup = make_pairs(year, [2_000], [1], folder / "warmup", args.seed + 1)[
                0
            ]  # first-call costs, untimed
            manifest.update(pairs=pair_list, warmup=warmup)
            print("mlgate, in this process:", flush=True)
            mlgate_results = run_mlgate(manifest)
            print(f"Evidently, in {EVIDENTLY_VENV.name}:", flush=True)
            evidently_results = run_evidently(python, manifest, folder)
            versions = evidently_results.pop("versions", {}).get("versions", {})
            n_features = len(numeric) + len(categorical)
            summary = {
                "mlgate": summarize(pair_list, mlgate_results, n_features),
                "evidently": summarize(pair_list, evidently_results, n_features),
            }
        print(f"whole process: sizes {args.whole_sizes}, {args.whole_runs} runs each", flush=True)
        whole = run_whole_process(
            python,
            whole_process_pairs(delivered, args.whole_sizes, folder, args.seed),
            manifest,
            args.whole_runs,
        )

    if summary:
        print_in_process(summary, labels, len(year), numeric, categorical)
    print_whole_process(whole)
    load_after = os.getloadavg()
    print(
        f"\ntotal {time.perf_counter() - started:.0f} s; load average (1, 5, 15 min) at the start "
        f"{', '.join(f'{x:.1f}' for x in load_before)}, at the end "
        f"{', '.join(f'{x:.1f}' for x in load_after)} on {os.cpu_count()} cores"
    )

    out = args.out or HERE / "results" / f"drift-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "when": dt.datetime.now().isoformat(timespec="seconds"),
                "machine": {
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average_start": load_before,
                    "load_average_end": load_after,
                },
                "versions": {
                    "main_env": {
                        "pandas": pd.__version__,
                        "numpy": np.__version__,
                        "mlgate_drift_py_sha256": drift_sha,
                    },
                    "evidently_env": versions,
                },
                "settings": {
                    "sizes": args.sizes,
                    "pairs": args.pairs,
                    "whole_sizes": args.whole_sizes,
                    "whole_runs": args.whole_runs,
                    "seed": args.seed,
                    "false_alarm_rate": FALSE_ALARM_RATE,
                    "shift_sd": SHIFT_SD,
                    "mix_share": MIX_SHARE,
                    "scenarios": labels,
                    "numeric": numeric,
                    "categorical": categorical,
                },
                "summary": {
                    tool: {str(n): s for n, s in per.items()} for tool, per in summary.items()
                },
                "ratio_evidently_over_mlgate": {
                    str(n): summary["evidently"][n]["median_seconds"]
                    / summary["mlgate"][n]["median_seconds"]
                    for n in summary.get("mlgate", {})
                },
                "whole_process": {str(n): w for n, w in whole.items()},
            },
            indent=1,
        )
    )
    print(f"figures: {out}")


if __name__ == "__main__":
    main()
