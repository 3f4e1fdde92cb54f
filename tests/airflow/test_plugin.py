"""The Airflow plugin on a small real state (real days through the gate, one of them
quarantined, a first champion promoted by the gate, a second one promoted and rolled back,
two days scored and a monitor report, in a real MLflow SQLite store and a real lake):

- plain functions: the mlgate page's data and HTML, the tasks' links, the report paths;
- a real `airflow api-server` with the plugin: it loads, its links and views are
  registered, its report app answers 401 without a login, 200 with one, 400/404 on paths
  that try to leave the report zones."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from mlgate import tracking
from mlgate.airflow import links, overview, pages, reports
from mlgate.airflow.local import UI_PASSWORD, UI_USER
from mlgate.ingest import docs
from mlgate.lake.store import Lake
from tests.helpers import (
    airflow,
    airflow_server_env,
    free_port,
    ingest_real_days,
    run_info,
    stop_processes,
    wait_http,
)

pytestmark = pytest.mark.slow
MODEL = "flights_late"
QUARANTINED = "2013-01-25"  # delivered with the carrier codes in lower case
TRAIN_DS = "2013-01-25"


def build_small_world(lake, settings, spec) -> dict:
    """The state the plugin's tests read: days 01-01..01-24 through the gate, 01-25
    quarantined (carrier codes in lower case), v1 trained for 01-25 and promoted by the
    gate (its card on its run), v2 (another seed) promoted and then rolled back, v1 serving
    01-23 and 01-24, and the monitor's report of 01-24."""
    from mlgate.demo import incidents, simulator
    from mlgate.ingest import landing
    from mlgate.monitor.day import monitor_day
    from mlgate.promote import registry
    from mlgate.promote.apply import apply_decision
    from mlgate.promote.evaluate import evaluate_candidate
    from mlgate.score.batch import score_day
    from mlgate.train.candidate import train_candidate

    ingest_real_days(lake, spec, "2013-01-01", "2013-01-24")
    lake.write_landing(
        "flights", QUARANTINED, "flights.csv", incidents.inject("case_change", QUARANTINED)
    )
    simulator.deliver_outcomes(lake, QUARANTINED)
    landing.land_features(lake, spec, QUARANTINED, run_info("ingest"))
    with pytest.raises(landing.GateRejected):
        landing.gate_features(lake, spec, QUARANTINED, run_info("ingest"))

    first = train_candidate(lake, settings, spec, TRAIN_DS, run_info("first"), "test")
    decision = evaluate_candidate(lake, settings, spec, first["version"], first["window"])
    assert apply_decision(lake, settings, spec, decision, run_info("first")), decision.sentence
    second = train_candidate(
        lake, settings, spec, TRAIN_DS, run_info("second"), "test", {"params": {"seed": 7}}
    )
    client = tracking.client(settings)
    registry.promote(
        client,
        MODEL,
        second["version"],
        first["version"],
        {
            tracking.PROMOTED_BY_TAG: "mlgate_flights_late_train/manual__second",
            tracking.PROMOTED_BECAUSE_TAG: "promoted by hand for the plugin's test",
            tracking.PROMOTED_AT_TAG: "2013-01-26T09:00:00Z",
        },
    )
    registry.rollback(client, MODEL, "the second seed serves worse", by="test rollback")
    for ds in ("2013-01-23", "2013-01-24"):
        score_day(lake, settings, spec, ds, run_info("score"))
    report = monitor_day(lake, settings, spec, "2013-01-24", run_info("monitor"))
    return {"first": first, "second": second, "decision": decision, "report": report}


@pytest.fixture(scope="module")
def world(module_settings, spec):
    lake = Lake.from_uri(module_settings.lake_uri)
    return {
        "lake": lake,
        "settings": module_settings,
        "spec": spec,
        **build_small_world(lake, module_settings, spec),
    }


# ---- the page's data ---------------------------------------------------------------------


def test_the_registry_story_tells_who_promoted_what_when_why_and_the_rollback(world):
    story = overview.registry_story(world["settings"], MODEL)
    v1, v2 = world["first"]["version"], world["second"]["version"]
    assert story["champion"]["version"] == v1 and story["lineage"] == [v1]
    assert story["champion"]["promoted_because"] == world["decision"].sentence
    assert story["champion"]["promoted_by"].startswith("test/first")
    kinds = [(e["kind"], e["version"]) for e in story["history"]]
    assert ("promoted", v1) in kinds and ("promoted", v2) in kinds and ("rolled back", v2) in kinds
    rollback = next(e for e in story["history"] if e["kind"] == "rolled back")
    assert rollback["to"] == v1 and rollback["why"] == "the second seed serves worse"
    hand = next(e for e in story["history"] if e["kind"] == "promoted" and e["version"] == v2)
    assert hand["by"] == "mlgate_flights_late_train/manual__second"
    assert [c["version"] for c in story["candidates"]] == [v2, v1]  # newest first
    assert story["candidates"][1]["decision"] == world["decision"].outcome


def test_the_gate_verdicts_name_the_quarantined_day_its_failed_check_and_its_page(world):
    gates = overview.gate_verdicts(world["lake"], world["spec"], limit=40)
    jailed = next(g for g in gates if g["ds"] == QUARANTINED and g["feed"] == "features")
    assert jailed["passed"] is False and jailed["quarantined"]
    assert any("carrier" in reason for reason in jailed["reasons"]), jailed["reasons"]
    passed = next(g for g in gates if g["ds"] == "2013-01-24" and g["feed"] == "features")
    assert passed["passed"] is True and not passed["quarantined"] and passed["rows"] > 500
    assert passed["page"] and passed["page"].endswith(".html")
    assert reports.read_report(world["lake"], passed["page"]).lstrip().lower().startswith(b"<")


def test_the_monitor_story_holds_the_last_verdict_and_the_trend(world):
    story = overview.monitor_story(world["lake"], world["spec"])
    last = story["last"]
    assert last["ds"] == "2013-01-24" and last["champion"] == world["first"]["version"]
    assert last["retrain"] is world["report"]["retrain"]
    assert last["page"] == f"reports/{MODEL}-monitor/ds=2013-01-24/drift_report.html"
    assert [t["ds"] for t in story["trend"]] == ["2013-01-24"]


def test_the_page_renders_the_champion_history_and_the_pending_approval(world):
    pending = [
        {
            "dag_id": f"mlgate_{MODEL}_train",
            "run_id": "manual__x",
            "task_id": "approve",
            "subject": f"Promote {MODEL} v9? (gray zone)",
            "created_at": "2013-01-26T10:00:00+00:00",
        },
        {"dag_id": "mlgate_other_train", "run_id": "r", "task_id": "approve", "subject": "no"},
    ]
    data = overview.model_overview(world["lake"], world["settings"], world["spec"], pending)
    assert [p["subject"] for p in data["pending"]] == [f"Promote {MODEL} v9? (gray zone)"]
    html = pages.overview_page(
        [data],
        pages.Links(
            lake=lambda p: f"/mlgate/lake/{p}",
            card=lambda m, v: f"/card/{m}/{v}",
            mlflow_version=lambda m, v: f"http://mlflow/{m}/{v}",
            airflow_run=lambda d, r: f"/dags/{d}/runs/{r}",
            required_actions="/required_actions",
        ),
    )
    v1 = world["first"]["version"]
    assert f"Champion: <a href='http://mlflow/{MODEL}/{v1}' target='_blank'" in html
    assert "rolled back" in html and "the second seed serves worse" in html
    assert "Promote flights_late v9? (gray zone)" in html and "/required_actions" in html
    assert f"/mlgate/lake/quarantine/{MODEL}/ds={QUARANTINED}" in html or QUARANTINED in html
    assert "<script" not in html


# ---- the links -------------------------------------------------------------------------


def test_the_train_tasks_link_to_the_run_the_version_and_the_card(world):
    settings, lake, first = world["settings"], world["lake"], world["first"]
    xcom = {"train_candidate": first}.get
    found = links.task_links(settings, lake, f"mlgate_{MODEL}_train", "r", "evaluate", xcom)
    experiment = tracking.client(settings).get_run(first["run_id"]).info.experiment_id
    assert found == {
        "MLflow run": f"{settings.mlflow_ui_url}/#/experiments/{experiment}/runs/{first['run_id']}"
        + links.ML_VIEW,
        "Model version": f"{settings.mlflow_ui_url}/#/models/{MODEL}/versions/{first['version']}"
        + links.ML_VIEW,
        "Promotion card": f"/mlgate/models/{MODEL}/versions/{first['version']}/card",
    }
    # train_candidate has no card link (the card comes with the evaluation)
    early = links.task_links(settings, lake, f"mlgate_{MODEL}_train", "r", "train_candidate", xcom)
    assert set(early) == {"MLflow run", "Model version"}
    # v2 was never judged: no card; a skipped training (no XCom): no link at all
    second = {"train_candidate": world["second"]}.get
    assert "Promotion card" not in links.task_links(
        settings, lake, f"mlgate_{MODEL}_train", "r", "promote", second
    )
    assert links.task_links(settings, lake, f"mlgate_{MODEL}_train", "r", "evaluate", {}.get) == {}
    assert links.task_links(settings, lake, "some_other_dag", "r", "evaluate", xcom) == {}
    assert b"<" in links.card_html(settings, MODEL, first["version"])
    assert links.card_html(settings, MODEL, world["second"]["version"]) is None


def test_the_ingest_and_monitor_tasks_link_to_the_day_s_data_docs_and_drift_report(world):
    settings, lake = world["settings"], world["lake"]
    ingest, monitor = f"mlgate_{MODEL}_ingest", f"mlgate_{MODEL}_monitor"

    def day(ds):
        return lambda spec: ds

    jailed = links.task_links(settings, lake, ingest, "r", "validate", {}.get, day(QUARANTINED))
    assert jailed["Data Docs"].startswith("/mlgate/lake/")
    assert reports.read_report(lake, jailed["Data Docs"].removeprefix("/mlgate/lake/"))
    assert set(jailed) == {"Data Docs"}
    assert (
        links.task_links(settings, lake, ingest, "r", "validate", {}.get, day("2013-05-01")) == {}
    )
    assert links.task_links(settings, lake, ingest, "r", "land", {}.get, day(QUARANTINED)) == {}

    measured = {"measure": {"ds": "2013-01-24"}}.get
    found = links.task_links(settings, lake, monitor, "r", "measure", measured)
    assert found["Drift report"] == (
        f"/mlgate/lake/reports/{MODEL}-monitor/ds=2013-01-24/drift_report.html"
    )
    assert found["MLflow run"].endswith(f"/runs/{world['report']['mlflow_run_id']}{links.ML_VIEW}")
    assert (
        links.task_links(settings, lake, monitor, "r", "measure", {}.get, day("2013-01-10")) == {}
    )


def test_a_run_s_day_is_read_as_the_dags_read_it(spec):
    import pendulum

    midnight = pendulum.datetime(2013, 1, 25, tz="America/New_York").in_timezone("UTC")
    assert links.day_of_run(spec, {}, midnight) == "2013-01-25"
    assert links.day_of_run(spec, {"ds": "2013-03-05"}, midnight) == "2013-03-05"
    assert links.day_of_run(spec, {"ds": "../../etc"}, midnight) is None
    assert links.day_of_run(spec, None, None) is None
    assert links.parse_dag_id(f"mlgate_{MODEL}_train") == (MODEL, "train")
    assert links.parse_dag_id("mlgate_x_unknown") is None


# ---- the report paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, status",
    [
        ("../mlflow.db", 400),
        ("reports/../validated/flights_late/ds=2013-01-24/features.parquet", 400),
        ("reports/flights_late-monitor/..", 400),
        ("/etc/passwd", 400),
        ("C:/Windows/win.ini", 400),
        ("reports//x.html", 400),
        ("reports/a b/x.html", 400),
        ("reports\\..\\x", 400),
        ("", 400),
        ("validated/flights_late/ds=2013-01-24/features.parquet", 404),
        ("landing/flights/ds=2013-01-24/flights.csv", 404),
        ("_control/locks/flights_late/promotion", 404),
        ("quarantine/flights_late/ds=2013-01-25/flights.csv", 404),
        ("reports/x", 404),
    ],
)
def test_paths_outside_the_report_zones_are_refused(path, status):
    with pytest.raises(reports.ReportPathError) as refused:
        reports.check_report_path(path)
    assert refused.value.status == status


def test_the_report_zones_are_served_and_a_missing_report_is_404(world):
    lake = world["lake"]
    report = json.loads(
        reports.read_report(lake, f"reports/{MODEL}-monitor/ds=2013-01-24/report.json")
    )
    assert report["ds"] == "2013-01-24"
    reason = json.loads(
        reports.read_report(lake, f"quarantine/{MODEL}/ds={QUARANTINED}/_reason.json")
    )
    assert reason["success"] is False
    for missing in (
        f"reports/{MODEL}-monitor/ds=2013-01-01/report.json",
        f"reports/{MODEL}-gate-features/ds=2013-01-01/nothing.html",
    ):
        with pytest.raises(reports.ReportPathError) as refused:
            reports.read_report(lake, missing)
        assert refused.value.status == 404
    assert reports.content_type("report.json") == "application/json"
    assert reports.content_type("drift_report.html").startswith("text/html")


# ---- a real API server with the plugin ----------------------------------------------------


@contextmanager
def api_server(settings, home: Path):
    """`airflow api-server` with the project's plugins on `settings`' home (its own
    Airflow home and SQLite DB, login admin/admin); yields {base, env}."""
    port = free_port()
    env = airflow_server_env(settings, port)
    for args in (("db", "migrate"), ("dags", "reserialize")):
        done = airflow(env, *args)
        assert done.returncode == 0, done.stderr[-2000:]
    log_path = home / "api-server.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "airflow", "api-server", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/api/v2/monitor/health", proc, log_path, seconds=180)
            yield {"base": base, "env": env, "log": log_path}
        finally:
            stop_processes([proc], 30)


def login(base: str) -> str:
    answer = requests.post(
        f"{base}/auth/token", json={"username": UI_USER, "password": UI_PASSWORD}, timeout=30
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


@pytest.fixture(scope="module")
def server(world):
    with api_server(world["settings"], world["settings"].home) as running:
        yield {**running, "token": login(running["base"])}


def test_the_plugin_loads_and_registers_its_links_views_and_app(server):
    listed = airflow(server["env"], "plugins", "-o", "json")
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "error" not in listed.stderr.lower(), listed.stderr[-2000:]
    mlgate = next(p for p in json.loads(listed.stdout) if p["name"] == "mlgate")
    assert len(mlgate["global_operator_extra_links"]) == 5
    auth = {"Authorization": f"Bearer {server['token']}"}
    plugins = requests.get(f"{server['base']}/api/v2/plugins", headers=auth, timeout=30).json()
    assert plugins.get("import_errors", []) == [] or not plugins["import_errors"]
    ours = next(p for p in plugins["plugins"] if p["name"] == "mlgate")
    assert {v["name"] for v in ours["external_views"]} == {
        "mlgate",
        "Promotion card",
        "Monitor report",
    }
    assert [a["url_prefix"] for a in ours["fastapi_apps"]] == ["/mlgate"]
    assert "mlgate.airflow.timetable.DeliveredDaily" in ours["timetables"]
    errors = requests.get(f"{server['base']}/api/v2/importErrors", headers=auth, timeout=30)
    assert errors.json()["total_entries"] == 0, errors.text


def test_the_report_app_needs_a_login(server, world):
    base, path = server["base"], f"/mlgate/lake/reports/{MODEL}-monitor/ds=2013-01-24/report.json"
    assert requests.get(f"{base}{path}", timeout=30).status_code == 401
    assert requests.get(f"{base}/mlgate/", timeout=30).status_code == 401
    bad = requests.get(f"{base}{path}", cookies={"_token": "not-a-token"}, timeout=30)
    assert bad.status_code in (401, 403)
    ok = requests.get(
        f"{base}{path}", headers={"Authorization": f"Bearer {server['token']}"}, timeout=30
    )
    assert ok.status_code == 200 and ok.json()["ds"] == "2013-01-24"
    assert ok.headers["content-type"].startswith("application/json")
    assert ok.headers["content-security-policy"].startswith("sandbox")  # reports run apart
    # the UI's login cookie is a login too (what the external views' frames send)
    page = requests.get(f"{base}/mlgate/", cookies={"_token": server["token"]}, timeout=60)
    assert page.status_code == 200 and f">v{world['first']['version']}</a></strong>" in page.text
    # the Data Docs' styles and fonts are public (a sandboxed page loads them without the
    # cookie), the pages themselves are not
    static = f"{base}/mlgate/lake/reports/{docs.static_folder()}"
    sheet = requests.get(f"{static}/data-docs.css", timeout=30)
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/css")
    assert sheet.headers["access-control-allow-origin"] == "*"
    assert requests.get(
        f"{static}/../../{MODEL}-monitor/ds=2013-01-24/report.json"
    ).status_code in (
        400,
        401,
        404,
    )
    day_page = f"{base}/mlgate/lake/{docs.quarantine_page(MODEL, 'features', QUARANTINED)}"
    assert requests.get(day_page, timeout=30).status_code == 401


def test_the_report_app_refuses_paths_that_leave_the_report_zones(server):
    import http.client
    from urllib.parse import urlparse

    target = urlparse(server["base"])
    for path, allowed in (
        (
            "/mlgate/lake/reports/%2e%2e/validated/flights_late/ds=2013-01-24/features.parquet",
            (400, 404),
        ),
        ("/mlgate/lake/reports/../../mlflow.db", (400, 404)),
        ("/mlgate/lake/%2Fetc%2Fpasswd", (400, 404)),
        ("/mlgate/lake/validated/flights_late/ds=2013-01-24/features.parquet", (404,)),
        (f"/mlgate/lake/quarantine/{MODEL}/ds={QUARANTINED}/flights.csv", (404,)),
    ):
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        conn.request("GET", path, headers={"Authorization": f"Bearer {server['token']}"})
        answer = conn.getresponse()
        body = answer.read()
        conn.close()
        assert answer.status in allowed, (path, answer.status, body[:300])
        assert b"PAR1" not in body and b"SQLite" not in body


def test_the_card_and_report_views_serve_what_belongs_to_the_run(server, world):
    base, auth = server["base"], {"Authorization": f"Bearer {server['token']}"}
    v1 = world["first"]["version"]
    card = requests.get(
        f"{base}/mlgate/models/{MODEL}/versions/{v1}/card", headers=auth, timeout=60
    )
    assert card.status_code == 200 and world["decision"].sentence.split(":")[0] in card.text
    none = requests.get(
        f"{base}/mlgate/runs/mlgate_{MODEL}_ingest/x/card", headers=auth, timeout=60
    )
    assert none.status_code == 404 and "not an mlgate train DAG" in none.text
    for dag_id, why in (
        (f"mlgate_{MODEL}_train", "not an mlgate monitor DAG"),
        (f"mlgate_{MODEL}_monitor", "no monitor report"),
    ):
        report = requests.get(f"{base}/mlgate/runs/{dag_id}/x/report", headers=auth, timeout=60)
        assert report.status_code == 404 and why in report.text
    missing = requests.get(
        f"{base}/mlgate/runs/mlgate_{MODEL}_train/x/card", headers=auth, timeout=60
    )
    assert missing.status_code == 404 and "trained no candidate" in missing.text
