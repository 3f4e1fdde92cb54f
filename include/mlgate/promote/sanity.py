"""Sanity checks before quality: each registered model is loaded in a fresh Python
process the way the score DAG loads it (`mlflow.pyfunc.load_model("models:/M/V")`) and
scores the evaluation rows there. The parent then checks what a served model must do:
load, answer one row, give finite probabilities in [0, 1] (a regression: finite values in
the spec's plausible range), be calibrated against the observed rate (a regression: a mean
residual, the bias, within the spec's limit), answer a batch fast enough, stay small, use
the spec's features through the same model matrix as training, and not lean on a feature
that gives the label away (AUC alone; a regression: |Spearman| alone).

The rows reach the fresh process as Parquet files, one a day, read and scored one at a
time by both models; the process keeps the scores, counts and a seeded sample of at most
`sanity.leakage_max_rows` rows for the single-feature leakage check, never the whole set.

Run as `python -m mlgate.promote.sanity request.json` (the child side).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from mlgate.config.spec import Spec

PRIOR_ROWS = 20  # a category's share of positives counts as this many rows at the overall rate


# ---- child: load and score in a fresh process -----------------------------
def _dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def probe_model(
    model: str,
    version: str,
    rows: pd.DataFrame,
    batch_rows: int,
    batches: int,
    label: str | None = None,
    task: str = "binary",
) -> dict:
    """Load one registered version and score `rows` (one batch): see `probe_models`."""
    return probe_models(model, {"model": version}, [rows], batch_rows, batches, label, task)[
        "model"
    ]


def probe_models(
    model: str,
    versions: dict[str, str],
    batches_of_rows: Iterable[pd.DataFrame],
    batch_rows: int,
    batches: int,
    label: str | None = None,
    task: str = "binary",
    leakage_max_rows: int | None = None,
    seed: int = 0,
) -> dict:
    """Load each registered version, then score the rows batch by batch (each batch by
    every model in turn), holding one batch at a time plus what the checks need: per name
    the timings, size, feature lists, the scores and, when the rows carry the `label`, how
    well each model feature alone ranks it (AUC for a binary task, |Spearman| for a
    regression) on a seeded sample of at most `leakage_max_rows` rows (None: every row)."""
    loaded = {name: _load(model, version) for name, version in versions.items()}
    ready = {name: entry for name, entry in loaded.items() if entry["loaded"]}
    wanted = list(dict.fromkeys(c for e in ready.values() for c in e["schema"].input_columns))
    head = _Head(batch_rows * batches)
    sample = RowSample(leakage_max_rows, seed)
    for rows in batches_of_rows:
        head.add(rows)
        for entry in ready.values():
            _score_batch(entry, rows)
        if label in rows:
            sample.add(rows[[c for c in wanted if c in rows.columns] + [label]])
    return {
        name: _probe_report(entry, head.rows, batch_rows, batches, sample, label, task)
        if entry["loaded"]
        else {"loaded": False, "error": entry["error"]}
        for name, entry in loaded.items()
    }


def _load(model: str, version: str) -> dict:
    """One registered version loaded as the score DAG loads it, with its load time and size
    (or `loaded: False` and the error)."""
    import mlflow

    started = time.perf_counter()
    try:
        local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{model}/{version}")
        served = mlflow.pyfunc.load_model(local)
    except Exception as exc:  # reported as a failed check, with the error
        return {"loaded": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
    return {
        "loaded": True,
        "model": served,
        "schema": served.unwrap_python_model().schema,
        "booster": served.unwrap_python_model().booster,
        "load_seconds": time.perf_counter() - started,
        "size_bytes": _dir_bytes(Path(local)),
        "scores": [],
        "lost": {},
        "rows": 0,
        "matrix": [],
    }


def _score_batch(entry: dict, rows: pd.DataFrame) -> None:
    """Score one batch with a loaded model; count the rows whose features the model matrix
    loses."""
    from mlgate.model.features import model_matrix
    from mlgate.model.serving import predict_served

    entry["scores"].append(np.asarray(predict_served(entry["model"], rows), dtype=float))
    matrix = model_matrix(rows, entry["schema"])
    for col, count in lost_counts(rows, matrix, entry["schema"]).items():
        entry["lost"][col] = entry["lost"].get(col, 0) + count
    entry["rows"] += len(rows)
    entry["matrix"] = list(matrix.columns)


def _probe_report(
    entry: dict,
    head: pd.DataFrame,
    batch_rows: int,
    batches: int,
    sample: "RowSample",
    label: str | None,
    task: str,
) -> dict:
    """One loaded model's probe: its answer to one row, the batch latencies (on the first
    rows), its scores, feature lists and the single-feature ranking on the sample."""
    from mlgate.model.features import model_matrix
    from mlgate.model.serving import predict_served

    served, schema = entry["model"], entry["schema"]
    one_row = np.asarray(predict_served(served, head.head(1)), dtype=float)
    latencies = batch_latencies(served, head, batch_rows, batches)
    measure = single_feature_spearman if task == "regression" else single_feature_auc
    alone = {}
    if sample.rows is not None and label in sample.rows:
        matrix = model_matrix(sample.rows, schema)
        alone = measure(matrix.assign(**{label: sample.rows[label]}), schema.names, label)
    lost = {c: round(n / max(1, entry["rows"]), 4) for c, n in entry["lost"].items() if n > 0}
    return {
        "loaded": True,
        "load_seconds": entry["load_seconds"],
        "size_bytes": entry["size_bytes"],
        "one_row": one_row.tolist(),
        "scores": np.concatenate(entry["scores"]) if entry["scores"] else np.array([]),
        "latency_ms": {
            "p50": float(np.percentile(latencies, 50)),
            "p95": float(np.percentile(latencies, 95)),
            "batches": len(latencies),
            "batch_rows": batch_rows,
        },
        "features": {
            "schema": schema.names,
            "booster": list(entry["booster"].feature_names or []),
            "matrix": entry["matrix"],
            "inputs": schema.input_columns,
            "lost": lost,
        },
        "single_feature": alone,
        "single_feature_rows": sample.kept,
        "rows": entry["rows"],
    }


class _Head:
    """The first `size` rows of the batches added (the latency batches and the one row)."""

    def __init__(self, size: int):
        self.size, self.parts, self.count = size, [], 0

    def add(self, rows: pd.DataFrame) -> None:
        if self.count < self.size:
            self.parts.append(rows.iloc[: self.size - self.count])
            self.count += len(self.parts[-1])

    @property
    def rows(self) -> pd.DataFrame:
        return pd.concat(self.parts, ignore_index=True) if self.parts else pd.DataFrame()


class RowSample:
    """A seeded uniform sample of at most `size` rows of the batches added (None: every
    row), kept in the order they came in: each row gets a random key, the smallest keys
    stay. `seen` rows were added, `kept` are in the sample."""

    def __init__(self, size: int | None, seed: int = 0):
        self.size, self.rng = size, np.random.default_rng(seed)
        self.rows, self.keys, self.seen = None, np.array([]), 0

    def add(self, rows: pd.DataFrame) -> None:
        keys = self.rng.random(len(rows))
        self.seen += len(rows)
        parts = [rows] if self.rows is None else [self.rows, rows]
        self.rows, self.keys = (
            pd.concat(parts, ignore_index=True),
            np.concatenate([self.keys, keys]),
        )
        if self.size is not None and len(self.rows) > self.size:
            keep = np.sort(np.argpartition(self.keys, self.size - 1)[: self.size])
            self.rows, self.keys = self.rows.iloc[keep].reset_index(drop=True), self.keys[keep]

    @property
    def kept(self) -> int:
        return 0 if self.rows is None else int(len(self.rows))


def batch_latencies(loaded, rows: pd.DataFrame, batch_rows: int, batches: int) -> list[float]:
    """Milliseconds the loaded model takes to answer each of up to `batches` batches of
    `batch_rows` rows, called as the score DAG calls it."""
    from mlgate.model.serving import predict_served

    latencies = []
    for i in range(min(batches, max(1, len(rows) // batch_rows))):
        batch = rows.iloc[i * batch_rows : (i + 1) * batch_rows]
        t0 = time.perf_counter()
        predict_served(loaded, batch)
        latencies.append((time.perf_counter() - t0) * 1000)
    return latencies


def lost_counts(rows: pd.DataFrame, matrix: pd.DataFrame, schema) -> dict[str, int]:
    """Per raw feature, the rows where the raw value is there but the model matrix has none
    (a category the model never saw counts too)."""
    raw_features = [c for c in schema.numeric + schema.categorical if c in rows]
    return {c: int((rows[c].notna() & matrix[c].isna()).sum()) for c in raw_features}


def lost_in_matrix(rows: pd.DataFrame, matrix: pd.DataFrame, schema) -> dict[str, float]:
    """Per raw feature, the share of rows where the raw value is there but the model
    matrix has none (a category the model never saw counts too): a feature the model
    cannot read, e.g. categories stored as text and rows holding numbers."""
    counts = lost_counts(rows, matrix, schema)
    return {c: round(n / max(1, len(rows)), 4) for c, n in counts.items() if n > 0}


def _child(request_path: str) -> None:
    from mlgate import tracking

    request = json.loads(Path(request_path).read_text())
    tracking.connect(request["tracking_uri"])
    out = probe_models(
        request["model"],
        request["versions"],
        (pd.read_parquet(path) for path in request["rows"]),
        int(request["batch_rows"]),
        int(request["batches"]),
        request.get("label"),
        request.get("task", "binary"),
        request.get("leakage_max_rows"),
    )
    for name, report in out.items():
        if "scores" in report:
            path = Path(request["out_dir"]) / f"{name}.npy"
            np.save(path, report.pop("scores"))
            report["scores_file"] = str(path)
        out[name] = {"version": request["versions"][name], **report}
    Path(request["out_dir"], "report.json").write_text(json.dumps(out))


# ---- parent ----------------------------------------------------------------
class BatchFiles:
    """Writes each batch of rows it is called with to a Parquet file of its own in
    `folder`; `paths` lists them in order (what the scoring process reads, batch by batch)."""

    def __init__(self, folder: Path):
        self.folder, self.paths = Path(folder), []

    def __call__(self, rows: pd.DataFrame) -> None:
        path = self.folder / f"batch-{len(self.paths):05d}.parquet"
        rows.to_parquet(path, index=False)
        self.paths.append(path)


def score_in_fresh_process(
    tracking_uri: str, spec: Spec, versions: dict[str, str], rows: pd.DataFrame
) -> dict:
    """Score `rows` with each registered version in one new Python process; returns per
    name the probe report with its `scores` array (or `loaded: False` and the error)."""
    with tempfile.TemporaryDirectory(prefix="mlgate-rows-") as tmp:
        files = BatchFiles(Path(tmp))
        files(rows)
        return score_files_in_fresh_process(tracking_uri, spec, versions, files.paths)


def score_files_in_fresh_process(
    tracking_uri: str, spec: Spec, versions: dict[str, str], paths: list[Path]
) -> dict:
    """Score the rows of the Parquet files `paths` (read one at a time) with each registered
    version in one new Python process; returns per name the probe report with its `scores`
    array, in the order of the files (or `loaded: False` and the error)."""
    cfg = spec.section("evaluation")["sanity"]
    with tempfile.TemporaryDirectory(prefix="mlgate-sanity-") as tmp:
        request = {
            "tracking_uri": tracking_uri,
            "model": spec.model,
            "versions": versions,
            "rows": [str(p) for p in paths],
            "out_dir": tmp,
            "batch_rows": int(cfg["batch_rows"]),
            "batches": int(cfg["batches"]),
            "label": spec.section("label")["name"],
            "task": spec.task,
            "leakage_max_rows": int(cfg["leakage_max_rows"]),
        }
        (Path(tmp) / "request.json").write_text(json.dumps(request))
        env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
        done = subprocess.run(
            [sys.executable, "-m", "mlgate.promote.sanity", str(Path(tmp) / "request.json")],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"the scoring process failed (exit {done.returncode}): {done.stderr[-3000:]}"
            )
        report = json.loads((Path(tmp) / "report.json").read_text())
        for entry in report.values():
            if "scores_file" in entry:
                entry["scores"] = np.load(entry.pop("scores_file"))
    return report


def single_feature_auc(frame: pd.DataFrame, columns: list[str], label: str) -> dict[str, float]:
    """How well each column alone ranks the label (0.5 = not at all, 1 = perfectly):
    numbers by their value (an empty cell ranked first or last, whichever ranks better:
    being empty can give the label away too), categories by their share of positives,
    shrunk towards the overall rate (so a category seen a few times proves nothing)."""
    from sklearn.metrics import roc_auc_score

    y = frame[label].to_numpy(dtype=int)
    out = {}
    if len(np.unique(y)) < 2:
        return out
    for col in (c for c in columns if c in frame.columns):
        rankings = _rankings(frame[col], y)
        if rankings:
            aucs = [roc_auc_score(y, ranking) for ranking in rankings]
            out[col] = float(max(max(a, 1 - a) for a in aucs))
    return out


def _rankings(column: pd.Series, y: np.ndarray) -> list[np.ndarray]:
    """What one column ranks rows by: numbers by their value, categories by their shrunk
    mean label; an empty cell ranked first and, separately, last (being empty can give the
    label away too). No ranking at all when the column is empty."""
    if pd.api.types.is_numeric_dtype(column):
        values = pd.to_numeric(column, errors="coerce")
    else:
        values = _shrunk_means(column, y)
    if values.notna().all():
        fills = [0.0]
    elif values.notna().any():
        fills = [values.min() - 1, values.max() + 1]
    else:
        return []
    return [values.fillna(fill).to_numpy(dtype=float) for fill in fills]


def _shrunk_means(values: pd.Series, y: np.ndarray) -> pd.Series:
    """Each row's category mean of `y`, shrunk towards the overall mean (PRIOR_ROWS rows)."""
    keys = values.astype("object").where(values.notna(), "<missing>")
    groups = pd.Series(y, index=values.index).groupby(keys)
    return (groups.transform("sum") + PRIOR_ROWS * y.mean()) / (
        groups.transform("count") + PRIOR_ROWS
    )


def single_feature_spearman(
    frame: pd.DataFrame, columns: list[str], label: str
) -> dict[str, float]:
    """How well each column alone ranks a numeric label, as |Spearman| (0 = not at all,
    1 = perfectly): numbers by their value (an empty cell ranked first or last, whichever
    ranks better), categories by their shrunk mean label (as single_feature_auc)."""
    from scipy.stats import spearmanr

    y = frame[label].to_numpy(dtype=float)
    out = {}
    if len(y) < 3 or np.nanstd(y) == 0:
        return out
    for col in (c for c in columns if c in frame.columns):
        rhos = [spearmanr(ranking, y)[0] for ranking in _rankings(frame[col], y)]
        rhos = [abs(r) for r in rhos if np.isfinite(r)]  # a constant column ranks nothing
        if rhos:
            out[col] = float(max(rhos))
    return out


def calibration_by_decile(labels: np.ndarray, scores: np.ndarray) -> list[dict]:
    """Mean prediction against the observed rate in each decile of the predictions."""
    order = np.argsort(scores, kind="stable")
    rows = []
    for i, idx in enumerate(np.array_split(order, 10)):
        if len(idx):
            rows.append(
                {
                    "decile": i + 1,
                    "rows": int(len(idx)),
                    "mean_prediction": float(scores[idx].mean()),
                    "observed_rate": float(labels[idx].mean()),
                }
            )
    return rows


def check(name: str, passed: bool, observed, expected: str, summary: str | None = None) -> dict:
    """One sanity check; `summary` is the observed value in words, when `observed` is long."""
    return {
        "check": name,
        "passed": bool(passed),
        "observed": observed,
        "expected": expected,
        "summary": summary or str(observed),
    }


LOADS = "loads with mlflow.pyfunc.load_model in a fresh process"


def sanity_checks(
    spec: Spec, probe: dict, frame: pd.DataFrame, training: dict | None = None
) -> list[dict]:
    """The candidate's sanity checks, each {check, passed, observed, expected}; `training`
    holds its run's training metrics (the training labels' positive rate, or their mean and
    standard deviation for a regression)."""
    cfg = spec.section("evaluation")["sanity"]
    label = spec.section("label")["name"]
    training = training or {}
    if spec.is_regression:
        checks = _training_values_check(training.get("train_label_sd"))
    else:
        checks = _training_labels_check(training.get("train_positive_rate"))
    if not probe.get("loaded"):
        return checks + [check("loads", False, probe.get("error"), LOADS)]
    if spec.is_regression:
        low, high = (float(v) for v in cfg["plausible_range"])
        answers = _answer_checks(probe, low, high, "value")
        fit = _bias_check(probe["scores"], frame[label].to_numpy(dtype=float), cfg)
    else:
        answers = _answer_checks(probe, 0.0, 1.0, "probability")
        fit = _calibration_check(probe["scores"], frame[label].to_numpy(dtype=int), cfg)
    return (
        checks
        + answers
        + [fit]
        + _cost_checks(probe, cfg)
        + [_features_check(spec, probe["features"]), _leakage_check(spec, probe, cfg)]
    )


def _training_labels_check(train_positive_rate: float | None) -> list[dict]:
    """Both classes in the training labels (no check when the rate is unknown)."""
    if train_positive_rate is None:
        return []
    return [
        check(
            "training_labels",
            0 < train_positive_rate < 1,
            round(train_positive_rate, 4),
            "both classes in the training labels (all of one class: a label outage?)",
        )
    ]


def _training_values_check(train_label_sd: float | None) -> list[dict]:
    """A regression's training labels vary (no check when unknown): a constant label is a
    label outage or a filled-in default, and a model of it predicts nothing."""
    if train_label_sd is None:
        return []
    return [
        check(
            "training_labels",
            train_label_sd > 0,
            {"label_sd": round(train_label_sd, 4)},
            "the training labels vary (all one value: a label outage?)",
            f"standard deviation {train_label_sd:.4g}",
        )
    ]


def _answer_checks(probe: dict, low: float, high: float, what: str) -> list[dict]:
    """It loaded, answers one row, and gives finite scores within [low, high]."""
    one, scores = probe["one_row"], probe["scores"]
    finite = scores[np.isfinite(scores)]
    return [
        check("loads", True, f"{probe['load_seconds']:.2f} s", LOADS),
        check(
            "answers_one_row",
            len(one) == 1 and bool(np.isfinite(one[0])) and low <= one[0] <= high,
            one,
            f"one {what} for one row",
        ),
        check(
            "no_nan",
            bool(np.isfinite(scores).all()),
            int((~np.isfinite(scores)).sum()),
            "0 rows without a finite score",
        ),
        check(
            "in_range",
            bool(((scores >= low) & (scores <= high)).all()),
            [float(finite.min()), float(finite.max())] if len(finite) else None,
            f"every score within [{low:g}, {high:g}]",
        ),
    ]


def _bias_check(predictions: np.ndarray, labels: np.ndarray, cfg: dict) -> dict:
    """A regression's calibration: the mean residual (prediction minus label) within the
    spec's `max_abs_bias`, with the deciles of the predictions."""
    finite = np.isfinite(predictions)
    bias = float((predictions[finite] - labels[finite]).mean()) if finite.any() else None
    limit = float(cfg["max_abs_bias"])
    return check(
        "bias",
        bias is not None and abs(bias) <= limit,
        {
            "bias": None if bias is None else round(bias, 4),
            "mean_prediction": round(float(predictions[finite].mean()), 4)
            if finite.any()
            else None,
            "mean_label": round(float(labels.mean()), 4) if len(labels) else None,
            "deciles": calibration_by_decile(labels, np.nan_to_num(predictions)),
        },
        f"mean prediction minus mean label within ±{limit:g}",
        "no finite prediction" if bias is None else f"mean residual {bias:+.3f}",
    )


def _calibration_check(scores: np.ndarray, labels: np.ndarray, cfg: dict) -> dict:
    """The mean prediction within a factor of the observed rate, with the deciles."""
    mean, rate = float(np.nanmean(scores)), float(labels.mean())
    factor = float(cfg["max_calibration_factor"])
    return check(
        "calibration",
        rate / factor <= mean <= min(1.0, rate * factor),
        {
            "mean_prediction": round(mean, 4),
            "observed_rate": round(rate, 4),
            "deciles": calibration_by_decile(labels, np.nan_to_num(scores)),
        },
        f"mean prediction within a factor {factor:g} of the observed rate",
        f"mean prediction {mean:.4f} against an observed rate {rate:.4f}",
    )


def _cost_checks(probe: dict, cfg: dict) -> list[dict]:
    """Fast enough on a batch (p95 latency) and small enough (model size)."""
    p95, max_ms = probe["latency_ms"]["p95"], float(cfg["max_p95_ms"])
    latency = check(
        "latency",
        p95 <= max_ms,
        probe["latency_ms"],
        f"p95 of a {probe['latency_ms']['batch_rows']}-row batch at most {max_ms:.0f} ms",
        f"p95 {p95:.0f} ms",
    )
    size_mb, max_mb = probe["size_bytes"] / 1e6, float(cfg["max_model_mb"])
    return [latency, check("size", size_mb <= max_mb, f"{size_mb:.2f} MB", f"at most {max_mb} MB")]


def _features_check(spec: Spec, feats: dict) -> dict:
    """The spec's features, through the same model matrix in training and scoring, and no
    forbidden column among the inputs."""
    skew = []
    if sorted(feats["schema"]) != sorted(spec.feature_names):
        missing, extra = (
            sorted(set(spec.feature_names) - set(feats["schema"])),
            sorted(set(feats["schema"]) - set(spec.feature_names)),
        )
        skew.append(
            f"model features differ from the spec (missing {missing or 'none'}, "
            f"extra {extra or 'none'})"
        )
    if feats["booster"] and feats["booster"] != feats["schema"]:
        skew.append("the booster's feature names differ from its feature schema")
    if feats["matrix"] != feats["schema"]:
        skew.append("the scoring code's model matrix does not give the schema's columns in order")
    limit = float(spec.section("evaluation")["sanity"]["max_feature_lost_share"])
    lost = {c: share for c, share in feats.get("lost", {}).items() if share > limit}
    if lost:
        skew.append(
            "present in the rows but missing in the model matrix: "
            + ", ".join(f"{c} on {share:.0%} of the rows" for c, share in sorted(lost.items()))
        )
    forbidden = sorted(set(feats["inputs"]) & set(spec.raw["forbidden"]))
    if forbidden:
        skew.append(f"the model reads forbidden columns {forbidden}")
    return check(
        "features",
        not skew,
        "; ".join(skew) or f"{len(feats['schema'])} features as in the spec",
        "the spec's features, built by the same model matrix in training and scoring",
    )


def _leakage_check(spec: Spec, probe: dict, cfg: dict) -> dict:
    """No single feature ranks the label too well on its own (AUC; |Spearman| for a
    regression)."""
    if spec.is_regression:
        measure, limit = "spearman", float(cfg["max_single_feature_spearman"])
    else:
        measure, limit = "auc", float(cfg["max_single_feature_auc"])
    alone = probe.get("single_feature", {})
    worst = max(alone.items(), key=lambda kv: kv[1]) if alone else (None, 0.0)
    observed, sampled = {"feature": worst[0], measure: round(worst[1], 4)}, ""
    kept, rows = probe.get("single_feature_rows", 0), probe.get("rows", 0)
    if 0 < kept < rows:
        observed["sample_rows"] = kept
        sampled = f" (on a seeded sample of {kept:,} of the {rows:,} rows)"
    return check(
        "leakage",
        worst[1] <= limit,
        observed,
        f"no single feature with {'an AUC' if measure == 'auc' else '|Spearman|'} above "
        f"{limit} on its own{sampled}",
    )


if __name__ == "__main__":
    _child(sys.argv[1])
