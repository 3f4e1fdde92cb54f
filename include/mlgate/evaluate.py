"""Evaluation: the candidate and the champion scored on the same rows (golden days plus
the most recent labelled days, none of them in the candidate's window), a decision by
the spec's rules, and the reasons, logged to MLflow and tagged on the model version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from mlgate import registry
from mlgate.ingest import GOLDEN_FILE, labelled_frame
from mlgate.lake import Lake
from mlgate.settings import Settings
from mlgate.spec import Spec


@dataclass
class Decision:
    promote: bool
    first_model: bool
    candidate: str
    champion: str | None
    reasons: list[str] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        verdict = "PROMOTE" if self.promote else "REFUSE"
        against = "as the first champion" if self.first_model else f"against champion v{self.champion}"
        return f"{verdict} v{self.candidate} {against}: " + "; ".join(self.reasons)


def quality(labels: np.ndarray, scores: np.ndarray) -> dict:
    """AUC, log loss, base rate and mean prediction of scores against 0/1 labels."""
    labels = np.asarray(labels, dtype=int)
    scores = np.clip(np.asarray(scores, dtype=float), 1e-7, 1 - 1e-7)
    both = len(np.unique(labels)) == 2
    return {"rows": int(len(labels)), "auc": float(roc_auc_score(labels, scores)) if both else float("nan"),
            "logloss": float(log_loss(labels, scores, labels=[0, 1])) if len(labels) else float("nan"),
            "positive_rate": float(labels.mean()) if len(labels) else float("nan"),
            "mean_prediction": float(scores.mean()) if len(labels) else float("nan")}


def evaluation_frame(lake: Lake, spec: Spec, golden_days: list[str], recent_days: list[str]) -> pd.DataFrame:
    """Golden partitions (frozen, content-hashed) plus the recent labelled days."""
    parts = [lake.read_frame("golden", spec.model, d, GOLDEN_FILE).assign(eval_set="golden") for d in golden_days]
    recent = labelled_frame(lake, spec, recent_days)
    if not recent.empty:
        parts.append(recent.assign(eval_set="recent"))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@lru_cache(maxsize=16)
def load_model(tracking_uri: str, model: str, version: str):
    """A registered version as the score DAG loads it (cached per process)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.pyfunc.load_model(f"models:/{model}/{version}")


def slice_table(frame: pd.DataFrame, spec: Spec, columns: dict[str, np.ndarray], label: str) -> list[dict]:
    """Per slice value: rows and the quality of each scored column."""
    rows = []
    for slice_col in spec.slices:
        for value, idx in frame.groupby(slice_col).groups.items():
            entry = {"slice": slice_col, "value": str(value), "rows": int(len(idx))}
            positions = frame.index.get_indexer(idx)
            for name, scores in columns.items():
                entry[f"{name}_auc"] = quality(frame[label].to_numpy()[positions], scores[positions])["auc"]
            rows.append(entry)
    return rows


def decide(spec: Spec, candidate: dict, champion: dict | None, candidate_version: str, champion_version: str | None) -> Decision:
    """Apply the spec's promotion rules to the two models' quality on the same rows."""
    cfg = spec.section("evaluation")
    rules = cfg["promotion"]
    reasons, ok = [], True
    if candidate["rows"] < int(rules["min_rows"]):
        return Decision(False, champion is None, candidate_version, champion_version,
                        [f"only {candidate['rows']} evaluation rows, the spec needs {rules['min_rows']}"])
    if champion is None:
        need = float(cfg["first_model"]["min_auc"])
        ok = candidate["auc"] >= need
        reasons.append(f"AUC {candidate['auc']:.4f} {'>=' if ok else '<'} first-model minimum {need}")
        return Decision(ok, True, candidate_version, None, reasons)
    gain = candidate["auc"] - champion["auc"]
    need_gain = float(rules["min_auc_gain"])
    if gain >= need_gain:
        reasons.append(f"AUC {candidate['auc']:.4f} vs {champion['auc']:.4f} (gain {gain:+.4f} >= {need_gain})")
    else:
        ok = False
        reasons.append(f"AUC {candidate['auc']:.4f} vs {champion['auc']:.4f} (gain {gain:+.4f} < required {need_gain})")
    increase = candidate["logloss"] - champion["logloss"]
    if increase > float(rules["max_logloss_increase"]):
        ok = False
        reasons.append(f"log loss {candidate['logloss']:.4f} vs {champion['logloss']:.4f} (up {increase:.4f} > allowed {rules['max_logloss_increase']})")
    else:
        reasons.append(f"log loss {candidate['logloss']:.4f} vs {champion['logloss']:.4f}")
    if candidate["auc"] < float(rules["min_auc"]):
        ok = False
        reasons.append(f"AUC {candidate['auc']:.4f} below the floor {rules['min_auc']}")
    return Decision(ok, False, candidate_version, champion_version, reasons)


def evaluate_candidate(lake: Lake, settings: Settings, spec: Spec, candidate_version: str, window: dict) -> Decision:
    """Score candidate and champion on the same evaluation rows and decide; the decision,
    metrics and slice table are logged to the candidate's MLflow run and version tags."""
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)  # the decision is logged to the candidate's run
    client = registry.client_for(settings)
    label = spec.section("label")["name"]
    frame = evaluation_frame(lake, spec, window["golden_days"], window["recent_days"])
    overlap = set(frame.get("ds", pd.Series(dtype=str))) & set(window["train_days"])
    if overlap:
        raise RuntimeError(f"evaluation rows overlap the training window on {sorted(overlap)}; refusing to evaluate")
    champion_mv = registry.alias_version(client, spec.model, registry.CHAMPION)
    scores = {"candidate": np.asarray(load_model(settings.tracking_uri, spec.model, candidate_version).predict(frame))}
    if champion_mv is not None:
        scores["champion"] = np.asarray(load_model(settings.tracking_uri, spec.model, str(champion_mv.version)).predict(frame))
    metrics = {name: quality(frame[label], s) for name, s in scores.items()}
    decision = decide(spec, metrics["candidate"], metrics.get("champion"), str(candidate_version),
                      str(champion_mv.version) if champion_mv else None)
    decision.metrics = {**metrics, "eval_days": sorted(set(frame["ds"])) if len(frame) else [],
                        "golden_days": window["golden_days"], "recent_days": window["recent_days"]}
    candidate_mv = client.get_model_version(spec.model, candidate_version)
    flat = {f"eval_{who}_{k}": v for who, m in metrics.items() for k, v in m.items() if np.isfinite(v)}
    if "champion" in scores:
        flat["eval_churn"] = float(np.mean((scores["candidate"] >= 0.5) != (scores["champion"] >= 0.5)))
    with mlflow.start_run(run_id=candidate_mv.run_id):
        mlflow.log_metrics(flat)
        mlflow.log_dict({**asdict(decision), "sentence": decision.sentence}, "decision.json")
        mlflow.log_dict({"slices": slice_table(frame, spec, scores, label)}, "slices.json")
        mlflow.set_tags({"mlgate.decision": "promote" if decision.promote else "refuse",
                         "mlgate.decision_sentence": decision.sentence[:5000]})
    client.set_model_version_tag(spec.model, candidate_version, "mlgate.decision", "promote" if decision.promote else "refuse")
    client.set_model_version_tag(spec.model, candidate_version, "mlgate.reasons", "; ".join(decision.reasons)[:5000])
    client.set_model_version_tag(spec.model, candidate_version, "mlgate.eval_auc", f"{metrics['candidate']['auc']:.6f}")
    return decision


def apply_decision(settings: Settings, spec: Spec, decision: Decision, run: dict, backfill: bool = False) -> bool:
    """Move the aliases if the decision says so; returns whether the champion changed."""
    client = registry.client_for(settings)
    try:
        client.delete_registered_model_alias(spec.model, registry.CHALLENGER)
    except Exception:  # the alias may already be gone after a retry
        pass
    if not decision.promote or backfill:
        return False
    registry.promote(client, spec.model, decision.candidate, decision.champion, {
        "mlgate.promoted_by": f"{run['dag_id']}/{run['run_id']}",
        "mlgate.promoted_because": decision.sentence[:5000],
        "mlgate.promoted_on": dt.date.today().isoformat(),
    })
    return True
