"""The drift report a person reads: the decision and its reasons, the data checks, live
quality with intervals, and one plot per feature (the reference's shares per bin against
the current window's). Written to the lake's reports zone and logged to MLflow: one run per
champion version in the experiment `<model>-monitor`, its metrics one point per monitored
day (the day as step), so the MLflow UI plots live quality, drift and coverage over time."""

from __future__ import annotations

import datetime as dt
import html
import math

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.names import DRIFT_REPORT_FILE, monitor_name
from mlgate.monitor import drift


def bars_svg(
    labels: list[str],
    reference: list[float],
    current: list[float],
    width: int = 360,
    height: int = 120,
) -> str:
    """Reference (grey) and current (blue) shares per bin as side-by-side bars."""
    n = max(1, len(labels))
    top = max([*reference, *current, 1e-9])
    step = width / n
    bars = []
    for i, (label, r, c) in enumerate(zip(labels, reference, current)):
        x = i * step
        for offset, value, colour in ((0.1, r, "#8c959f"), (0.5, c, "#0969da")):
            h = (height - 14) * value / top
            bars.append(
                f'<rect x="{x + offset * step:.1f}" y="{height - 14 - h:.1f}" '
                f'width="{0.4 * step:.1f}" height="{h:.1f}" fill="{colour}">'
                f"<title>{html.escape(label)}: "
                f"{'reference' if colour == '#8c959f' else 'current'} {value:.1%}</title></rect>"
            )
    first, last = (html.escape(labels[0]), html.escape(labels[-1])) if labels else ("", "")
    axis = (
        f'<text x="0" y="{height - 2}" font-size="9">{first}</text>'
        f'<text x="{width}" y="{height - 2}" font-size="9" text-anchor="end">{last}</text>'
    )
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
    return f"{svg}{''.join(bars)}{axis}</svg>"


def _row(cells) -> str:
    return "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"


def verdict_of(report: dict) -> str:
    """The monitor's verdict on a day, in words: "Retraining requested", "... held back"
    (the pause switch or the cool-down) or "No retraining"."""
    if report["retrain"]:
        return "Retraining requested"
    if report.get("alert") == "retrain_paused":
        return "Retraining held back"
    return "No retraining"


def _verdict_parts(report: dict) -> list[str]:
    """The title, the verdict and its reasons (the evidence, then why it stayed quiet)."""
    verdict = verdict_of(report)
    parts = [
        f"<h1>{html.escape(report['model'])}: monitor {report['ds']}</h1>",
        f"<h2>{verdict}</h2>",
        "<ul>",
    ]
    parts += [
        f"<li>{html.escape(r)}</li>"
        for r in report.get("evidence", []) + report.get("quiet_reasons", [])
    ]
    parts.append("</ul>")
    return parts


def _champion_parts(report: dict) -> list[str]:
    """Which champion was monitored and how old its training data is (none without one)."""
    if not report.get("champion"):
        return []
    age = report.get("model_age", {})
    return [
        f"<p>Champion v{report['champion']}, trained on {html.escape(str(age.get('window')))} "
        f"({age.get('days_since_training_data')} days before this day).</p>"
    ]


def _integrity_parts(report: dict) -> list[str]:
    """The data checks' problems, if any."""
    checks = report.get("integrity", {})
    if not checks.get("problems"):
        return []
    return (
        ["<h3>Data checks</h3><ul>"]
        + [f"<li>{html.escape(p)}</li>" for p in checks["problems"]]
        + ["</ul>"]
    )


# the live quality table's columns: (heading, metric, interval bound) per task
LIVE_COLUMNS = {
    "binary": (("AUC", "auc", None), ("observed rate", "positive_rate", "rate")),
    "regression": (("RMSE", "rmse", None), ("MAE", "mae", None), ("mean label", "mean_label", "")),
}


def _live_parts(live: dict) -> list[str]:
    """The live quality table: all rows, then each slice, with intervals, in the task's
    metrics (AUC and rate, or RMSE and MAE)."""
    if not live:
        return []
    columns = LIVE_COLUMNS["regression" if "rmse" in live else "binary"]
    heads = "".join(f"<th>{head}</th>" for head, _, _ in columns)
    parts = [
        f"<h3>Live quality</h3><table><tr><th>rows</th><th>coverage</th>{heads}"
        "<th>mean prediction</th></tr>"
    ]
    for name, q in [("all", live), *sorted((live.get("slices") or {}).items())]:
        parts.append(
            _row(
                [
                    f"{name}: {q.get('labelled_rows', q.get('rows', 0))}",
                    f"{live.get('coverage', 0):.0%}",
                    *(_interval(q, key, bound) for _, key, bound in columns),
                    q.get("mean_prediction", ""),
                ]
            )
        )
    parts.append("</table>")
    return parts


def _drift_row(f: dict) -> str:
    """One feature's (or the predictions') drift as a table row, with its plot."""
    plot = bars_svg(f["bins"], f["reference_shares"], f["current_shares"])
    return (
        f"<tr><td>{html.escape(f['name'])}</td><td>{f['method']}</td>"
        f"<td>{f['statistic']:.4f}</td><td>{f['threshold']:.4f}</td><td>{f['p_value']:.3g}</td>"
        f"<td>{f['importance']:.1%}</td><td>{'DRIFT' if f['drifted'] else ''}</td>"
        f"<td>{plot}</td></tr>"
    )


def _drift_parts(d: dict | None) -> list[str]:
    """The drift heading and one row per feature (and the predictions)."""
    if not d:
        return []
    parts = [
        f"<h3>Drift: {html.escape(drift.verdict_text(d))}; "
        f"{d['drifted_importance']:.0%} of the model's importance drifted "
        f"(retraining counts it from {d['min_drifted_share']:.0%}; "
        f"false-alarm rate {d['false_alarm_rate']}, "
        f"{d['rows']} rows against {d['reference_rows']})</h3>",
        "<table><tr><th>feature</th><th>method</th><th>statistic</th><th>threshold</th><th>p</th>"
        "<th>importance</th><th></th><th>reference (grey) against current (blue)</th></tr>",
    ]
    parts += [
        _drift_row(f) for f in d["features"] + ([d["predictions"]] if d.get("predictions") else [])
    ]
    parts.append("</table>")
    return parts


def report_html(report: dict) -> str:
    """The report as one self-contained HTML page."""
    parts = (
        _verdict_parts(report)
        + _champion_parts(report)
        + _integrity_parts(report)
        + _live_parts(report.get("live") or {})
        + _drift_parts(report.get("drift"))
        + _decision_parts(report.get("decisions"))
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>mlgate monitor</title>"
        "<style>body{font-family:sans-serif;max-width:70em}"
        "td,th{padding:2px 8px;text-align:left}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )


def _decision_parts(decisions: dict | None) -> list[str]:
    """What live evidence decided this day (a gray zone settled, the watch of a new
    champion) and the gate's decisions judged in hindsight."""
    if not decisions:
        return []
    from mlgate.monitor.evidence import summary_lines

    items = [f"<li>{html.escape(line)}</li>" for line in summary_lines(decisions)]
    return ["<h3>Decisions on live labels</h3><ul>", *items, "</ul>"]


def _interval(q: dict, key: str, bound: str | None = None) -> str:
    """`q[key]` with its interval (`bound`_low to `bound`_high) when there is one."""
    bound = key if bound is None else bound
    if key not in q or q[key] is None or q[key] != q[key]:
        return ""
    low, high = q.get(f"{bound}_low"), q.get(f"{bound}_high")
    return f"{q[key]:.4f} ({low:.4f} to {high:.4f})" if low is not None else f"{q[key]:.4f}"


# the live figures the monitor plots in MLflow, as `live_<name>`
LIVE_METRICS = (
    "auc",
    "auc_low",
    "auc_high",
    "rmse",
    "rmse_low",
    "rmse_high",
    "mae",
    "coverage",
    "labelled_rows",
    "mean_prediction",
    "positive_rate",
    "mean_label",
    "bias",
)
EPOCH = dt.date(1970, 1, 1)


def day_step(ds: str) -> int:
    """A day as an MLflow step: days since 1970-01-01 (evenly spaced, the same for every
    re-run of the day)."""
    return (dt.date.fromisoformat(ds) - EPOCH).days


def day_timestamp(ds: str) -> int:
    """Midnight UTC of a day in milliseconds: the metrics' timestamp, so the MLflow UI's
    "Time (wall)" axis reads the monitored dates."""
    midnight = dt.datetime.combine(dt.date.fromisoformat(ds), dt.time(), dt.timezone.utc)
    return int(midnight.timestamp() * 1000)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def day_metrics(report: dict) -> dict[str, float]:
    """The day's figures as MLflow metrics: the verdict (retrain, evidence), the drift
    (drift, drifted_importance: the share of the model's importance that drifted,
    drifted_features), the live quality (`live_auc`, `live_coverage`, ... with their
    intervals), the quarantined days, the champion's age, and the share of the gate's
    decisions right in hindsight (`decisions_right_share`, `decisions_wrong`). A figure
    that was not computed is left out."""
    out = {"retrain": float(report["retrain"]), "evidence": float(len(report["evidence"]))}
    if report.get("drift"):
        d = report["drift"]
        out.update(
            drift=float(d["drift"]),
            drifted_importance=d["drifted_importance"],
            drifted_features=float(len(d.get("drifted", []))),
        )
    for key in LIVE_METRICS:
        out[f"live_{key}"] = (report.get("live") or {}).get(key)
    out["quarantined_days"] = len((report.get("days") or {}).get("quarantined", []))
    summary = ((report.get("decisions") or {}).get("hindsight") or {}).get("summary") or {}
    out["decisions_right_share"] = summary.get("share")
    out["decisions_wrong"] = summary.get("wrong") if summary.get("judged") else None
    out["days_since_training_data"] = (report.get("model_age") or {}).get(
        "days_since_training_data"
    )
    return {k: float(v) for k, v in out.items() if _finite(v)}


def monitor_run(settings: Settings, spec: Spec, version: str) -> str:
    """The long-lived MLflow run that monitors champion `version` ("monitor: <model> v<N>" in
    `<model>-monitor`), found by its tags, made the first time. The monitor DAG runs one
    day at a time (max_active_runs=1), so two days never race to make it; should two exist,
    the oldest is used."""
    experiment_id = tracking.ensure_experiment(settings, spec, monitor_name(spec.model))
    client = tracking.client(settings)
    tags = {
        tracking.KIND_TAG: tracking.MONITOR_KIND,
        tracking.MODEL_TAG: spec.model,
        tracking.MONITOR_CHAMPION_TAG: str(version),
    }
    found = client.search_runs(
        [experiment_id],
        " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items()),
        order_by=["attributes.start_time ASC"],
        max_results=1,
    )
    if found:
        return found[0].info.run_id
    return client.create_run(
        experiment_id, tags=tags, run_name=f"monitor: {spec.model} v{version}"
    ).info.run_id


def log_day_metrics(client, run_id: str, ds: str, metrics: dict[str, float]) -> dict:
    """Log the day's figures at its step, each only if that step is not in its history yet:
    MLflow keeps every point logged, two at one step included, so a re-run or a backfill of
    a day adds nothing and the first figures of the day stay. Returns the figures a re-run
    measured differently: {name: {"mlflow": kept, "now": measured}}."""
    from mlflow.entities import Metric

    step, stamp, new, kept = day_step(ds), day_timestamp(ds), [], {}
    for key, value in metrics.items():
        there = [m.value for m in client.get_metric_history(run_id, key) if m.step == step]
        if not there:
            new.append(Metric(key, value, stamp, step))
        elif not math.isclose(there[0], value, rel_tol=1e-9, abs_tol=1e-12):
            kept[key] = {"mlflow": there[0], "now": value}
    if new:
        client.log_batch(run_id, metrics=new)
    return kept


def monitor_description(settings: Settings, report: dict, run: dict | None) -> str:
    """The monitor run's description (Markdown): its latest day's verdict and reasons, a
    link to that day's Airflow run, and how to read the run."""
    verdict = verdict_of(report).lower()
    lines = [
        f"**{report['model']} v{report['champion']}, monitored {report['ds']}: {verdict}.**",
        "",
        *[f"- {r}" for r in report.get("evidence", []) + report.get("quiet_reasons", [])],
        "",
    ]
    link = tracking.airflow_run_link(settings, run)
    if link:
        lines.append(f"Airflow run of {report['ds']}: {link}")
    lines.append(
        "One run per champion version: each monitored day's figures (live quality, drift, "
        "label coverage) are its metrics, with the day as step (days since 1970-01-01) and "
        f"its date as timestamp; each day's report is `monitor/ds=<day>/{DRIFT_REPORT_FILE}`."
    )
    return "\n".join(lines)


def log_to_mlflow(
    settings: Settings, spec: Spec, report: dict, page: str, run: dict | None = None
) -> tuple[str | None, dict]:
    """Log the day to the champion's monitor run (`monitor_run`): its figures at the day's
    step (`log_day_metrics`), its report as `monitor/ds=<day>/drift_report.html`, and, when it
    is the latest day monitored, the run's tags and description. Returns the run id (None
    without a champion: nothing is monitored) and the figures MLflow kept from an earlier
    run of the day."""
    if not report.get("champion"):
        return None, {}
    client = tracking.client(settings)
    run_id = monitor_run(settings, spec, report["champion"])
    kept = log_day_metrics(client, run_id, report["ds"], day_metrics(report))
    client.log_text(run_id, page, f"monitor/ds={report['ds']}/{DRIFT_REPORT_FILE}")
    latest = client.get_run(run_id).data.tags.get(tracking.MONITOR_DS_TAG)
    if latest is None or report["ds"] >= latest:
        client.set_tag(run_id, tracking.MONITOR_DS_TAG, report["ds"])
        client.set_tag(run_id, tracking.RETRAIN_TAG, str(report["retrain"]).lower())
        client.set_tag(
            run_id, tracking.DESCRIPTION_TAG, monitor_description(settings, report, run)[:5000]
        )
    client.set_terminated(run_id, "FINISHED")
    return run_id, kept
