"""The mlgate plugin in a real browser (Debian's `chromium`, driven by Playwright's Python
package through `executable_path`): a real train run in a real Airflow (`airflow dags test`
on 24 real days, the first model promoted by the gate), a real API server with the plugin.

It logs into Airflow, opens the train run, follows its promotion-card link and reads the
decision sentence, follows the evaluate task's "Promotion card" extra link, opens the mlgate
page from the navigation and reads the champion's history; on an ingest run whose gate
quarantined the day, it finds the validate task's "Data Docs" link among its extra links and
follows it to the failing day's page. The report app answers 401 without a login.
Screenshots go to a folder the test prints.

Without chromium or Playwright the test is skipped and says what to install (under
CI=true it fails instead: `.ci/run` installs chromium)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from mlgate.lake.store import Lake
from tests.airflow.test_plugin import api_server, login
from tests.helpers import (
    free_port,
    ingest_real_days,
    logged_in_page,
    stop_processes,
    wait_http,
)

pytestmark = pytest.mark.slow
MODEL = "flights_late"
TRAIN = f"mlgate_{MODEL}_train"
INGEST = f"mlgate_{MODEL}_ingest"
BAD_DAY = "2013-01-25"  # delivered with the carrier codes in lower case: quarantined


@pytest.fixture(scope="module")
def airflow_with_a_train_run(browser, module_settings, spec):
    """An API server on a home where the train DAG ran for 2013-01-25 (a real Airflow run,
    through `airflow dags test`) on the real days 01-01..01-24."""
    from mlgate.airflow import dagkit
    from mlgate.demo import incidents

    # the MLflow UI on the same store; the plugin's links to MLflow point at it
    mlflow_port = free_port()
    mlflow_log = module_settings.home / "mlflow-ui.log"
    with open(mlflow_log, "w") as out:
        mlflow_ui = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri"]
            + [module_settings.tracking_uri, "--host", "127.0.0.1", "--port", str(mlflow_port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    mlflow_url = f"http://127.0.0.1:{mlflow_port}"
    settings = dataclasses.replace(module_settings, mlflow_ui_url=mlflow_url)
    lake = Lake.from_uri(settings.lake_uri)
    ingest_real_days(lake, spec, "2013-01-01", "2013-01-24")
    lake.write_landing("flights", BAD_DAY, "flights.csv", incidents.inject("case_change", BAD_DAY))
    with api_server(settings, settings.home) as server:

        def dag_test(dag_id: str, ds: str, conf: dict):
            day = dagkit.day_start(spec, ds).isoformat()
            return subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "airflow",
                    "dags",
                    "test",
                    dag_id,
                    day,
                    "-c",
                    json.dumps(conf),
                ],
                env=server["env"],
                capture_output=True,
                text=True,
                timeout=600,
            )

        done = dag_test(TRAIN, "2013-01-25", {"gray_zone": "refuse", "trigger": "test"})
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        dag_test(INGEST, BAD_DAY, {})  # the gate quarantines the day: the run fails
        assert lake.exists("quarantine", MODEL, BAD_DAY)
        token = login(server["base"])

        def only_run(dag_id):
            runs = requests.get(
                f"{server['base']}/api/v2/dags/{dag_id}/dagRuns",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            ).json()["dag_runs"]
            assert len(runs) == 1, runs
            return runs[0]

        assert only_run(INGEST)["state"] == "failed"
        wait_http(f"{mlflow_url}/health", mlflow_ui, mlflow_log)
        try:
            yield {
                **server,
                "token": token,
                "run_id": only_run(TRAIN)["dag_run_id"],
                "ingest_run_id": only_run(INGEST)["dag_run_id"],
                "mlflow": mlflow_url,
            }
        finally:
            stop_processes([mlflow_ui], 30)


def task_api(server, dag_id: str, run_id: str, task_id: str, endpoint: str) -> dict:
    """The REST API's answer (200) at `endpoint` of a task instance (`links`: its extra links,
    `xcomEntries/return_value`), asked with the test's login."""
    run = quote(run_id, safe="")
    ti = f"{server['base']}/api/v2/dags/{dag_id}/dagRuns/{run}/taskInstances/{task_id}"
    answer = requests.get(
        f"{ti}/{endpoint}", headers={"Authorization": f"Bearer {server['token']}"}, timeout=60
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def shots():
    folder = Path(tempfile.mkdtemp(prefix="mlgate-browser-"))
    print(f"\nscreenshots of the browser test: {folder}")
    return folder


def test_a_user_follows_the_promotion_card_and_reads_the_champion_s_history(
    browser, airflow_with_a_train_run, shots
):
    server = airflow_with_a_train_run
    base, run_id = server["base"], server["run_id"]
    assert requests.get(f"{base}/mlgate/", timeout=30).status_code == 401  # no login: no page
    links = task_api(server, TRAIN, run_id, "evaluate", "links")["extra_links"]
    card_link = links["Promotion card"]
    assert card_link and card_link.startswith(f"/mlgate/models/{MODEL}/versions/")
    assert links["Model version"].startswith("http")
    decision = task_api(server, TRAIN, run_id, "evaluate", "xcomEntries/return_value")["value"]
    sentence = (
        decision["sentence"] if isinstance(decision, dict) else json.loads(decision)["sentence"]
    )

    page = logged_in_page(browser, base)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(shots / "1-logged-in.png"))

    page.goto(f"{base}/dags/{TRAIN}/runs/{quote(run_id, safe='')}", wait_until="networkidle")
    page.get_by_text("Promotion card", exact=True).first.click()
    frame = page.frame_locator("iframe").first
    frame.locator("body").get_by_text(sentence[:60]).first.wait_for(timeout=60_000)
    page.screenshot(path=str(shots / "2-train-run-promotion-card.png"), full_page=True)

    page.goto(f"{base}{card_link}", wait_until="networkidle")  # the evaluate task's link
    assert sentence[:60] in page.inner_text("body")
    page.screenshot(path=str(shots / "3-evaluate-extra-link-card.png"), full_page=True)

    page.goto(f"{base}/", wait_until="networkidle")
    page.get_by_text("mlgate", exact=True).first.click()
    frame = page.frame_locator("iframe").first
    frame.locator("h2", has_text=MODEL).wait_for(timeout=60_000)
    text = frame.locator("body").inner_text()
    assert "Champion: v" in text and "Champion history" in text, text[:2000]
    assert "promoted v" in text and f"{TRAIN}/{run_id}" in text, text[:2000]
    page.screenshot(path=str(shots / "4-mlgate-page.png"), full_page=True)
    page.close()


def test_a_user_follows_the_data_docs_link_of_a_quarantined_day(
    browser, airflow_with_a_train_run, shots
):
    server = airflow_with_a_train_run
    base, run_id = server["base"], server["ingest_run_id"]
    links = task_api(server, INGEST, run_id, "validate", "links")["extra_links"]
    docs = links["Data Docs"]  # the failed task returned nothing
    # the failing day's page, kept in quarantine beside _reason.json
    assert docs == f"/mlgate/lake/quarantine/{MODEL}/ds={BAD_DAY}/validation.html", docs
    assert requests.get(f"{base}{docs}", timeout=30).status_code == 401

    page = logged_in_page(browser, base)
    page.goto(
        f"{base}/dags/{INGEST}/runs/{quote(run_id, safe='')}/tasks/validate/details",
        wait_until="networkidle",
    )
    page.get_by_text("Data Docs", exact=True).first.wait_for(timeout=60_000)  # "Extra Links"
    page.screenshot(path=str(shots / "5-quarantined-validate-task-links.png"))
    page.goto(f"{base}{docs}", wait_until="networkidle")
    # styled from the lake's own static files (no CDN here): GX's font and the local sheet
    styled = page.evaluate(
        "() => [getComputedStyle(document.body).fontFamily,"
        " document.fonts.check('16px \"HK Grotesk\"'),"
        " getComputedStyle(document.querySelector('table')).borderCollapse]"
    )
    assert "HK Grotesk" in styled[0] and styled[1] is True and styled[2] == "collapse", styled
    page.get_by_text("Failed Only", exact=True).first.click()  # the page's own filter
    rows = page.locator("tr:visible")
    failed = rows.filter(has=page.locator(".fa-times, .fa-times-circle"))
    assert failed.count() >= 1 and "belong to this set" in " ".join(failed.all_inner_texts())
    assert rows.filter(has=page.locator(".fa-check, .fa-check-circle")).count() == 0
    failed.first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "6-quarantined-day-data-docs.png"), full_page=False)
    page.close()


def test_a_data_scientist_reads_the_decision_in_mlflow_and_follows_the_link_back_to_airflow(
    browser, airflow_with_a_train_run, shots
):
    server = airflow_with_a_train_run
    base, run_id = server["base"], server["run_id"]
    mlflow_run = task_api(server, TRAIN, run_id, "evaluate", "links")["extra_links"]["MLflow run"]
    assert mlflow_run.startswith(f"{server['mlflow']}/#/experiments/"), mlflow_run
    value = task_api(server, TRAIN, run_id, "evaluate", "xcomEntries/return_value")["value"]
    sentence = (value if isinstance(value, dict) else json.loads(value))["sentence"]

    page = logged_in_page(browser, base)
    page.goto(mlflow_run)  # the evaluate task's "MLflow run" link
    page.get_by_text(sentence[:50]).first.wait_for(timeout=60_000)  # the run's description
    back = page.locator(f"a[href='{base}/dags/{TRAIN}/runs/{quote(run_id, safe='')}']")
    back.first.wait_for(timeout=30_000)
    page.screenshot(path=str(shots / "7-mlflow-run-description.png"), full_page=True)
    with page.context.expect_page() as opened:  # MLflow opens a description's link in a tab
        back.first.click()
    airflow_page = opened.value
    airflow_page.wait_for_load_state()
    airflow_page.wait_for_url(f"{base}/dags/{TRAIN}/runs/**", timeout=60_000)
    airflow_page.wait_for_load_state("networkidle")
    airflow_page.screenshot(path=str(shots / "8-back-in-airflow.png"))
    body = airflow_page.inner_text("body")
    assert TRAIN in body and "train_candidate" in body, body[:2000]
    page.goto(server["mlflow"])
    page.wait_for_timeout(3000)
    page.screenshot(path=str(shots / "9-mlflow-home.png"))
    page.close()
