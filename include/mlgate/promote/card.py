"""The promotion card: the decision in one sentence, the reasons, the metric differences
with their intervals, the sanity checks, the slice table, ROC and calibration plots and
the lineage. Logged to the candidate's MLflow run as `promotion_card.html` and
`promotion_card.json`; its Markdown form is what an approver reads in Airflow. The
decision sentence, its reasons and a link to the Airflow run are the description of the
candidate's run and model version in MLflow (`decision_description`).
"""

from __future__ import annotations

import html
import io
import json

import numpy as np

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.promote.stats import finite_or_none

COLOURS = {"promote": "#1a7f37", "refuse": "#cf222e", "ask": "#9a6700"}
# per task: the quality rows of the card and the paired differences it shows
CARD_METRICS = {
    "binary": ("auc", "logloss", "positive_rate", "mean_prediction", "rows"),
    "regression": ("rmse", "mae", "mean_label", "mean_prediction", "bias", "rows"),
}
DIFFS = {"binary": ("auc_diff", "logloss_diff"), "regression": ("rmse_diff", "mae_diff")}


def card_json(spec: Spec, decision) -> dict:
    return {"kind": "mlgate.promotion_card", "model": spec.model, **decision.to_dict()}


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()[buffer.getvalue().find("<svg") :]


def plots_svg(
    labels: np.ndarray, scores: dict[str, np.ndarray], roc: bool = True
) -> dict[str, str]:
    """ROC curves (binary only) and calibration by decile (mean prediction against the
    observed mean) of each scored model, as inline SVG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {"calibration": _calibration_svg(plt, labels, scores)}
    if not roc:
        return out
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(4.2, 4))
    for name, s in scores.items():
        fpr, tpr, _ = roc_curve(labels, s)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend()
    out["roc"] = _svg(fig)
    plt.close(fig)
    return out


def _calibration_svg(plt, labels: np.ndarray, scores: dict[str, np.ndarray]) -> str:
    """Mean prediction against the observed mean (rate) per decile of the predictions."""
    from mlgate.promote.sanity import calibration_by_decile

    fig, ax = plt.subplots(figsize=(4.2, 4))
    low, top = np.inf, -np.inf
    for name, s in scores.items():
        deciles = calibration_by_decile(labels, s)
        x, y = [d["mean_prediction"] for d in deciles], [d["observed_rate"] for d in deciles]
        ax.plot(x, y, marker="o", label=name)
        low, top = min(low, *x, *y), max(top, *x, *y)
    ax.plot([min(low, 0), top], [min(low, 0), top], color="grey", linestyle=":")
    ax.set(xlabel="mean prediction (decile)", ylabel="observed mean", title="Calibration")
    ax.legend()
    page = _svg(fig)
    plt.close(fig)
    return page


def _fmt(value, digits=4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


CARD_STYLE = (
    "body{font-family:sans-serif;max-width:70em;margin:2em auto} "
    "table{border-collapse:collapse;margin:1em 0}\n"
    "td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left} .bad{background:#ffebe9} "
    ".ok td:nth-child(2){color:#1a7f37}\n"
    ".plots svg{width:32em;height:auto}"
)


def _table(header: list[str], body: str) -> str:
    """An HTML table: one header row of `header`, then `body` (rows already rendered)."""
    return "<table><tr>" + "".join(f"<th>{h}</th>" for h in header) + f"</tr>{body}</table>"


def _check_row(c: dict) -> str:
    """One sanity check as a table row."""
    css, result = ("ok", "pass") if c["passed"] else ("bad", "FAIL")
    observed = _fmt(json.dumps(c["observed"], default=str)[:300])
    return (
        f"<tr class='{css}'><td>{c['check']}</td><td>{result}</td>"
        f"<td>{observed}</td><td>{html.escape(c['expected'])}</td></tr>"
    )


def _slice_row(s: dict, metric: str = "auc") -> str:
    """One slice as a table row (red when it regressed); `metric` is auc or rmse."""
    regressed = s.get("regressed")
    p_worse = _fmt(s.get("p_worse_holm"), 3) if s["judged"] else "not judged"
    return (
        f"<tr class='{'bad' if regressed else ''}'>"
        f"<td>{s['slice']}={html.escape(s['value'])}</td><td>{s['rows']}</td>"
        f"<td>{_fmt(s.get(f'champion_{metric}'))}</td>"
        f"<td>{_fmt(s.get(f'candidate_{metric}'))}</td>"
        f"<td>{_fmt(s.get(f'{metric}_diff'))}</td><td>{p_worse}</td>"
        f"<td>{'REGRESSED' if regressed else ''}</td></tr>"
    )


def _churn_sentence(churn: dict | None) -> str:
    """How much the scores moved from the champion's, in one sentence ("" without a champion)."""
    if not churn:
        return ""
    if "flipped_at_base_rate" not in churn:  # a regression: no decisions to flip
        return (
            f"Churn: mean |change| {churn['mean_abs_change']:.4f}, "
            f"95th percentile {churn['p95_abs_change']:.4f}."
        )
    return (
        f"Churn: mean |change| {churn['mean_abs_change']:.4f}, "
        f"decisions flipped at the base rate {churn['flipped_at_base_rate']:.2%}."
    )


def _quality_rows(m: dict, task: str) -> str:
    """The card's quality table rows: each metric of both models, with the paired
    difference and its interval where there is one."""
    rows = []
    for key in CARD_METRICS[task]:
        cand, champ = m.get("candidate", {}).get(key), (m.get("champion") or {}).get(key)
        diff = m.get(f"{key}_diff")
        rows.append(
            f"<tr><td>{key}</td><td>{_fmt(cand)}</td><td>{_fmt(champ)}</td><td>"
            + (f"{diff['diff']:+.4f} [{diff['low']:+.4f}, {diff['high']:+.4f}]" if diff else "–")
            + "</td></tr>"
        )
    return "".join(rows)


def _plots(spec: Spec, labels: np.ndarray, scores: dict[str, np.ndarray]) -> dict[str, str]:
    """The card's plots: calibration for a regression, ROC too for a binary task with both
    classes (none without rows or scores)."""
    if not scores or not len(labels):
        return {}
    if spec.is_regression:
        return plots_svg(labels, scores, roc=False)
    return plots_svg(labels, scores) if len(np.unique(labels)) == 2 else {}


def _interval_sentence(candidate: dict, key: str) -> str:
    """The candidate's own interval of its main metric, in one sentence."""
    return (
        f"Candidate {key.upper()} interval: {_fmt(candidate.get(f'{key}_low'))} to "
        f"{_fmt(candidate.get(f'{key}_high'))}."
    )


def _methods_sentence(m: dict) -> str:
    """Which method made each interval of the paired differences, in one sentence."""
    parts = [
        f"{key.replace('_diff', '').replace('logloss', 'log loss')}: {m[key]['interval']}"
        for key in (*DIFFS["binary"], *DIFFS["regression"])
        if (m.get(key) or {}).get("interval")
    ]
    return f"Intervals of the differences: {'; '.join(parts)}." if parts else ""


def card_html(spec: Spec, decision, labels: np.ndarray, scores: dict[str, np.ndarray]) -> str:
    """The card as one self-contained HTML page."""
    m, metric = decision.metrics, "rmse" if spec.is_regression else "auc"
    checks = _table(
        ["check", "result", "observed", "expected"], "".join(map(_check_row, decision.checks))
    )
    name = metric.upper()
    slice_header = ["slice", "rows", f"champion {name}", f"candidate {name}", "change"]
    slices = _table(
        [*slice_header, "Holm p (worse beyond margin)", ""],
        "".join(_slice_row(s, metric) for s in decision.slices),
    )
    plots = _plots(spec, labels, scores)
    title = f"{spec.model} v{decision.candidate}: promotion card"
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in decision.reasons)
    champion = ("v" + decision.champion) if decision.champion else "–"
    lineage = html.escape(json.dumps(decision.lineage, indent=2, default=str))
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>{CARD_STYLE} h1{{color:{COLOURS[decision.outcome]}}}</style></head><body>
<h1>{html.escape(decision.sentence)}</h1>
<h2>Reasons</h2><ol>{reasons}</ol>
<h2>Quality on the same rows</h2>
<table><tr><th>metric</th><th>candidate v{decision.candidate}</th><th>champion {champion}</th>
<th>difference [{m.get("level", "95%")} interval]</th></tr>{_quality_rows(m, spec.task)}</table>
<p>{_interval_sentence(m.get("candidate", {}), metric)}
{_churn_sentence(m.get("churn"))}
{_methods_sentence(m)}</p>
<h2>Sanity checks (fresh process)</h2>{checks}
<h2>Slices</h2>{slices}
<h2>Plots</h2><div class="plots">{plots.get("roc", "")}{plots.get("calibration", "")}</div>
<h2>Lineage</h2><pre>{lineage}</pre>
</body></html>"""


def card_markdown(decision, links: dict[str, str] | None = None) -> str:
    """The short form an approver reads in Airflow's Required Actions view, ending with
    `links` ({label: URL}: the whole card, the MLflow run, the model version)."""
    m = decision.metrics
    lines = [f"**{decision.sentence}**", "", "Reasons:", *[f"- {r}" for r in decision.reasons], ""]
    for key in (*DIFFS["binary"], *DIFFS["regression"]):
        if m.get(key):
            d = m[key]
            how = f" ({d['interval']})" if d.get("interval") else ""
            lines.append(
                f"- {key.replace('_', ' ')}: {d['diff']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]"
                + how
            )
    flagged = [s for s in decision.slices if s.get("regressed")]
    lines.append(
        f"- slices judged: {sum(s['judged'] for s in decision.slices)}, regressed: {len(flagged)}"
    )
    lines.append(
        f"- evaluation set {decision.lineage.get('evaluation_set', {}).get('version')}, "
        f"candidate run {decision.lineage.get('candidate', {}).get('run_id')} "
        "(promotion_card.html in MLflow)"
    )
    if links:
        lines += ["", "Open: " + " · ".join(f"[{label}]({url})" for label, url in links.items())]
    return "\n".join(lines)


def decision_description(
    settings: Settings, decision, run: dict | str | None, applied: str | None = None
) -> str:
    """The description (Markdown) of the candidate's MLflow run and model version: the
    decision sentence, its reasons, what was done about it (`applied`: promoted, or why
    not) and a link to the Airflow run (`run`: a run dict or a RUN_TAG value)."""
    lines = [f"**{decision.sentence}**", ""]
    if applied:
        lines += [applied, ""]
    lines += ["Reasons:", "", *[f"- {r}" for r in decision.reasons], ""]
    link = tracking.airflow_run_link(settings, run)
    if link:
        lines += [f"Airflow run: {link}", ""]
    lines.append(
        "The promotion card (`promotion_card.html`) is in the artifacts of "
        f"v{decision.candidate}'s run."
    )
    return "\n".join(lines)


def flat_metrics(decision) -> dict:
    """The decision's numbers as MLflow metrics (eval_candidate_auc, eval_auc_diff_low,
    eval_rmse_diff_high, ...); a figure that is not a finite number is left out."""
    out = {}
    for who in ("candidate", "champion"):
        for key, value in (decision.metrics.get(who) or {}).items():
            out[f"eval_{who}_{key}"] = value
    for key in (*DIFFS["binary"], *DIFFS["regression"], "churn"):
        for part, value in (decision.metrics.get(key) or {}).items():
            out[f"eval_{key}_{part}".replace(".", "_")] = value
    return {
        k: float(v)
        for k, v in out.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
    }


def log_card(
    settings: Settings, spec: Spec, decision, labels: np.ndarray, scores: dict[str, np.ndarray]
) -> None:
    """Log the card, the metrics and the decision to the candidate's run and model version,
    and describe both with the decision (Markdown, linking to the Airflow run)."""
    import mlflow

    client = tracking.client(settings)
    mv = client.get_model_version(spec.model, decision.candidate)
    tracking.connect(settings.tracking_uri)
    with mlflow.start_run(run_id=mv.run_id):
        mlflow.log_metrics(flat_metrics(decision))
        mlflow.log_dict(card_json(spec, decision), "promotion_card.json")
        mlflow.log_text(card_html(spec, decision, labels, scores), "promotion_card.html")
        mlflow.set_tags(
            {
                tracking.DECISION_TAG: decision.outcome,
                tracking.DECISION_SENTENCE_TAG: decision.sentence[:5000],
            }
        )
    tags = {
        tracking.DECISION_TAG: decision.outcome,
        tracking.REASONS_TAG: "; ".join(decision.reasons)[:5000],
        tracking.DECISION_SENTENCE_TAG: decision.sentence[:5000],
        tracking.JUDGED_AGAINST_TAG: str(decision.champion or ""),
        tracking.GOLDEN_VERSION_TAG: decision.lineage.get("evaluation_set", {}).get("version", ""),
    }
    key, tag = (
        ("rmse", tracking.EVAL_RMSE_TAG) if spec.is_regression else ("auc", tracking.EVAL_AUC_TAG)
    )
    baseline = finite_or_none(decision.metrics.get("candidate", {}).get(key))
    if baseline is not None:  # the monitor's baseline; a figure that was not computed is not tagged
        tags[tag] = f"{baseline:.6f}"
    for name, value in tags.items():
        client.set_model_version_tag(spec.model, decision.candidate, name, value)
    run = decision.lineage.get("airflow") or mv.tags.get(tracking.RUN_TAG)
    tracking.describe(
        settings, spec.model, decision.candidate, decision_description(settings, decision, run)
    )
