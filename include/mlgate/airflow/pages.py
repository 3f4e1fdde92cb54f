"""The mlgate page of the Airflow UI as plain server-side HTML (no scripts): per model the
champion and its history, the gates' last verdicts, the monitor's verdict and drift trend,
the approvals waiting. It renders what `mlgate.airflow.overview.model_overview` gathered;
`links` turns lake paths and versions into URLs (the plugin's report app, the MLflow UI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1a202c}
h1{font-size:1.5rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #cbd5e0}
h3{font-size:1.05rem;margin-top:1.25rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #e2e8f0;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f7fafc}.ok{color:#276749}.bad{color:#c53030}.ask{color:#b7791f}
.muted{color:#718096}.champion{background:#f0fff4;padding:.75rem;border:1px solid #9ae6b4}
svg{background:#f7fafc;border:1px solid #e2e8f0}
"""


@dataclass(frozen=True)
class Links:
    """How the page links out: `lake(path)` a lake report, `card(model, version)` a
    promotion card, `mlflow_version(model, version)` the MLflow UI's model version,
    `airflow_run(dag_id, run_id)` an Airflow run, `required_actions` Airflow's page of them."""

    lake: Callable[[str], str]
    card: Callable[[str, str], str]
    mlflow_version: Callable[[str, str], str]
    airflow_run: Callable[[str, str], str]
    required_actions: str


def page(title: str, body: str) -> str:
    """A whole HTML page."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def message_page(title: str, text: str) -> str:
    """A page that says one thing (no card for this run, no report for this day...)."""
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")


def _a(url: str | None, text: str) -> str:
    """A link; one to another site (the MLflow UI) opens apart, out of Airflow's frame."""
    if not url:
        return escape(text)
    away = " target='_blank' rel='noopener'" if url.startswith(("http://", "https://")) else ""
    return f"<a href='{escape(url)}'{away}>{escape(text)}</a>"


def _decision(decision: str | None) -> str:
    css = {"promote": "ok", "refuse": "bad", "ask": "ask"}.get(str(decision), "muted")
    return f"<span class='{css}'>{escape(str(decision or '—'))}</span>"


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return escape(str(value))


def trend_svg(trend: list[dict], key: str, label: str, width=560, height=90) -> str:
    """A line of `key` over the days of the monitor's trend (None values are gaps)."""
    points = [(i, t[key]) for i, t in enumerate(trend) if isinstance(t.get(key), (int, float))]
    if not points:
        return f"<p class='muted'>{escape(label)}: no values yet</p>"
    values = [float(v) for _, v in points]
    low, high = min(values + [0.0]), max(values + [1.0 if key != "live_auc" else max(values)])
    span = (high - low) or 1.0
    step = (width - 20) / max(len(trend) - 1, 1)
    coords = " ".join(
        f"{10 + i * step:.1f},{height - 10 - (float(v) - low) / span * (height - 20):.1f}"
        for i, v in points
    )
    return (
        f"<figure><figcaption>{escape(label)} ({escape(trend[0]['ds'])} to "
        f"{escape(trend[-1]['ds'])}; last {_fmt(values[-1])})</figcaption>"
        f"<svg width='{width}' height='{height}' role='img' aria-label='{escape(label)}'>"
        f"<polyline fill='none' stroke='#3182ce' stroke-width='2' points='{coords}'/></svg>"
        "</figure>"
    )


def _champion(model: str, registry: dict, links: Links) -> str:
    champion = registry["champion"]
    if not champion:
        return "<p class='champion'>No champion yet: no candidate has passed the gate.</p>"
    return (
        "<div class='champion'>"
        f"<strong>Champion: {_a(links.mlflow_version(model, champion['version']), 'v' + champion['version'])}</strong>"  # noqa: E501
        f" ({_a(links.card(model, champion['version']), 'promotion card')})"
        f"<br>promoted {_fmt(champion['promoted_at'])} by {_fmt(champion['promoted_by'])}"
        f"<br>why: {_fmt(champion['promoted_because'])}"
        + (f"<br>trained on {_fmt(champion['window'])}" if champion.get("window") else "")
        + (
            f"<br>previous champion: v{escape(registry['previous_champion'])}"
            if registry.get("previous_champion")
            else ""
        )
        + "</div>"
    )


def _history(model: str, registry: dict, links: Links) -> str:
    rows = []
    for event in registry["history"]:
        version = _a(links.mlflow_version(model, event["version"]), "v" + event["version"])
        if event["kind"] == "promoted":
            what = f"promoted {version} ({_decision(event['decision'])})"
            who = _fmt(event["by"])
        else:
            to = f" to v{escape(event['to'])}" if event.get("to") else ""
            what = f"<span class='bad'>rolled back</span> from {version}{to}"
            who = "rollback"
        rows.append(
            f"<tr><td>{_fmt(event['at'])}</td><td>{what}</td><td>{who}</td>"
            f"<td>{_fmt(event['why'])}</td></tr>"
        )
    if not rows:
        return "<p class='muted'>No promotion yet.</p>"
    return (
        "<table><tr><th>when</th><th>what</th><th>who</th><th>why</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _candidates(model: str, registry: dict, links: Links) -> str:
    rows = [
        f"<tr><td>{_a(links.mlflow_version(model, c['version']), 'v' + c['version'])}</td>"
        f"<td>{_fmt(c['created'])}</td><td>{_fmt(c['window'])}</td>"
        f"<td>{_decision(c['decision'])}</td>"
        f"<td>{'promoted' if c['promoted'] else _fmt(c['not_promoted'])}</td>"
        f"<td>{_a(links.card(model, c['version']), 'card')}</td></tr>"
        for c in registry["candidates"]
    ]
    if not rows:
        return "<p class='muted'>No candidate yet.</p>"
    return (
        "<table><tr><th>version</th><th>registered</th><th>trained on</th><th>decision</th>"
        "<th>outcome</th><th></th></tr>" + "".join(rows) + "</table>"
    )


def _gates(gates: list[dict], links: Links) -> str:
    rows = []
    for g in gates:
        if g["passed"] and g["quarantined"]:
            verdict = "<span class='ok'>passed</span> after a re-delivery (quarantined before)"
        elif g["passed"]:
            verdict = "<span class='ok'>passed</span>"
        elif g["passed"] is None:
            verdict = "<span class='muted'>unknown</span>"
        else:
            verdict = "<span class='bad'>quarantined</span>"
        reasons = "<br>".join(escape(r) for r in g["reasons"]) or ""
        page_link = _a(links.lake(g["page"]), "Data Docs") if g["page"] else ""
        rows.append(
            f"<tr><td>{escape(g['ds'])}</td><td>{escape(g['feed'])}</td><td>{verdict}</td>"
            f"<td>{_fmt(g['rows'])}</td><td>{reasons}</td><td>{page_link}</td></tr>"
        )
    if not rows:
        return "<p class='muted'>No day through the data gate yet.</p>"
    return (
        "<table><tr><th>day</th><th>feed</th><th>verdict</th><th>rows</th><th>failed checks</th>"
        "<th></th></tr>" + "".join(rows) + "</table>"
    )


def _monitor(monitor: dict, links: Links) -> str:
    last = monitor["last"]
    if last is None:
        return "<p class='muted'>No monitor report yet.</p>"
    if last["retrain"]:
        verdict = "<span class='bad'>retraining requested</span>: " + escape(
            "; ".join(last["reasons"])
        )
    else:
        verdict = "<span class='ok'>no retraining needed</span>" + (
            ": " + escape("; ".join(last["quiet_reasons"])) if last["quiet_reasons"] else ""
        )
    out = (
        f"<p>Last report {escape(last['ds'])} (champion v{_fmt(last['champion'])}): {verdict}"
        + (f"<br>drifted inputs: {escape(', '.join(last['drifted']))}" if last["drifted"] else "")
        + (f"<br>alert: {escape(str(last['alert']))}" if last["alert"] else "")
        + (" <br>automatic retraining is paused" if last["paused"] else "")
        + (f"<br>{_a(links.lake(last['page']), 'drift report')}" if last["page"] else "")
        + "</p>"
    )
    trend = monitor["trend"]
    return (
        out
        + trend_svg(trend, "drifted_importance", "drift: share of the importance on drifted inputs")
        + trend_svg(trend, "live_auc", "live AUC")
        + trend_svg(trend, "coverage", "label coverage")
    )


def _pending(pending: list[dict], links: Links) -> str:
    if not pending:
        return "<p class='muted'>No approval waiting.</p>"
    items = "".join(
        f"<li>{escape(p['subject'])} — waiting since {_fmt(p['created_at'])} "
        f"({_a(links.airflow_run(p['dag_id'], p['run_id']), 'the run')}, "
        f"<a href='{escape(links.required_actions)}'>Required Actions</a>)</li>"
        for p in pending
    )
    return f"<ul>{items}</ul>"


def overview_page(overviews: list[dict], links: Links) -> str:
    """The mlgate page: a section per model (see mlgate.airflow.overview.model_overview)."""
    sections = []
    for o in overviews:
        model, registry = o["model"], o["registry"]
        sections.append(
            f"<section id='{escape(model)}'><h2>{escape(model)}</h2>"
            + _champion(model, registry, links)
            + f"<h3>Approvals waiting</h3>{_pending(o['pending'], links)}"
            + f"<h3>Champion history</h3>{_history(model, registry, links)}"
            + f"<h3>Promotion gate: last candidates</h3>{_candidates(model, registry, links)}"
            + f"<h3>Data gate: last days</h3>{_gates(o['gates'], links)}"
            + f"<h3>Monitor</h3>{_monitor(o['monitor'], links)}"
            + "</section>"
        )
    body = "<h1>mlgate</h1>" + (
        "".join(sections) or "<p>No model: no spec loads from the specs folder.</p>"
    )
    return page("mlgate", body)
