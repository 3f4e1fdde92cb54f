"""Real Airflow processes on a temporary home: the API server lists the mlgate DAGs
through the REST API (with a login), and the scheduler runs a backfill of the ingest
DAG over three real days; running the same backfill again changes nothing."""

import subprocess
import sys
import time

import pytest
import requests

from mlgate import tracking
from mlgate.airflow.local import UI_PASSWORD, UI_USER
from mlgate.demo import simulator
from mlgate.lake.store import Lake
from tests.helpers import (
    airflow,
    airflow_server_env,
    free_port,
    ingest_real_days,
    run_info,
    wait_http,
)

pytestmark = pytest.mark.slow
MODEL = "flights_late"
INGEST = f"mlgate_{MODEL}_ingest"
DAYS = ["2013-01-01", "2013-01-02", "2013-01-03"]


@pytest.fixture(scope="module")
def servers(module_settings):
    settings, home = module_settings, module_settings.home
    port = free_port()
    env = airflow_server_env(
        settings,
        port,
        AIRFLOW__CORE__PARALLELISM="4",
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="2",
    )
    for args in (("db", "migrate"), ("dags", "reserialize")):
        done = airflow(env, *args, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
    logs = {name: open(home / f"{name}.log", "w") for name in ("api-server", "scheduler")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "airflow", "api-server", "--port", str(port)],
            env=env,
            stdout=logs["api-server"],
            stderr=subprocess.STDOUT,
        )
    ]
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/api/v2/monitor/health", procs[0], home / "api-server.log", seconds=120)
    yield {
        "base": base,
        "env": env,
        "home": home,
        "settings": settings,
        "lake": Lake.from_uri(settings.lake_uri),
        "log": logs["scheduler"],
    }
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    for log in logs.values():
        log.close()


def token(base, password=UI_PASSWORD):
    return requests.post(
        f"{base}/auth/token", json={"username": UI_USER, "password": password}, timeout=10
    )


def test_the_api_needs_a_login_and_lists_the_mlgate_dags(servers):
    base = servers["base"]
    assert requests.get(f"{base}/api/v2/dags", timeout=10).status_code == 401
    assert token(base, "wrong").status_code == 401
    auth = {"Authorization": f"Bearer {token(base).json()['access_token']}"}
    dags = requests.get(
        f"{base}/api/v2/dags", params={"tags": "mlgate", "limit": 100}, headers=auth, timeout=10
    ).json()
    from mlgate.config.spec import load_all_specs

    models = [spec.model for spec in load_all_specs()]
    assert MODEL in models and len(models) >= 2  # the demo's model and flights_delay
    assert {d["dag_id"] for d in dags["dags"]} == {
        f"mlgate_{model}_{k}"
        for model in models
        for k in ("ingest", "train", "score", "monitor", "rollback")
    }
    ingest = next(d for d in dags["dags"] if d["dag_id"] == INGEST)
    assert "mlgate" in [t["name"] for t in ingest["tags"]]


def local_midnight(ds: str) -> str:
    """The logical date of the daily run for day `ds`, as an ISO instant."""
    from mlgate.airflow import dagkit
    from mlgate.config.spec import load_spec

    return dagkit.day_start(load_spec("flights"), ds).isoformat()


def backfill_and_wait(servers, *extra):
    base, env = servers["base"], servers["env"]
    auth = {"Authorization": f"Bearer {token(base).json()['access_token']}"}
    before = requests.get(
        f"{base}/api/v2/backfills", params={"dag_id": INGEST}, headers=auth, timeout=10
    ).json()["backfills"]
    # created while no scheduler writes to the SQLite DB (a concurrent writer makes SQLite
    # refuse the CLI's write at once: "database is locked"), then run by a scheduler
    created = airflow(
        env,
        "backfill",
        "create",
        "--dag-id",
        INGEST,
        "--from-date",
        local_midnight(DAYS[0]),  # the bounds are instants: the days' starts in the spec's zone
        "--to-date",
        local_midnight(DAYS[-1]),
        "--max-active-runs",
        "1",
        *extra,
        timeout=120,
    )  # in date order: each day's gate uses the days before
    assert created.returncode == 0, created.stderr[-2000:]
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "airflow", "scheduler"],
        env=env,
        stdout=servers["log"],
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                backfills = requests.get(
                    f"{base}/api/v2/backfills", params={"dag_id": INGEST}, headers=auth, timeout=10
                ).json()["backfills"]
            except requests.Timeout:  # the API server is busy (a loaded machine): ask again
                backfills = []
            if len(backfills) > len(before) and backfills[-1]["completed_at"]:
                break
            time.sleep(2)
        else:
            log = (servers["home"] / "scheduler.log").read_text()[-3000:]
            pytest.fail(f"backfill did not complete: {log}")
    finally:
        scheduler.terminate()
        try:
            scheduler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            scheduler.kill()
    runs = requests.get(
        f"{base}/api/v2/dags/{INGEST}/dagRuns",
        params={"run_type": "backfill", "limit": 100},
        headers=auth,
        timeout=10,
    ).json()["dag_runs"]
    return {r["logical_date"][:10]: r["state"] for r in runs}


def test_a_backfill_through_the_scheduler_and_again_changes_nothing(servers):
    lake = servers["lake"]
    for ds in DAYS:
        simulator.deliver_features(lake, ds)
    auth = {"Authorization": f"Bearer {token(servers['base']).json()['access_token']}"}
    requests.patch(
        f"{servers['base']}/api/v2/dags/{INGEST}",
        json={"is_paused": False},
        headers=auth,
        timeout=10,
    ).raise_for_status()

    assert backfill_and_wait(servers) == {ds: "success" for ds in DAYS}
    assert lake.list_partitions("validated", MODEL) == DAYS
    first = {ds: lake.read_lineage("validated", MODEL, ds) for ds in DAYS}
    assert all(lineage["run_type"].lower().endswith("backfill") for lineage in first.values())

    assert backfill_and_wait(servers, "--reprocess-behavior", "completed") == {
        ds: "success" for ds in DAYS
    }
    assert {ds: lake.read_lineage("validated", MODEL, ds) for ds in DAYS} == first


TRAIN = f"mlgate_{MODEL}_train"


def test_a_gray_zone_asks_a_person_through_airflow_and_approval_promotes(servers, tmp_path):
    """The first model with its spec's minimum AUC inside the model's interval: the train
    DAG parks `approve` in Required Actions with the promotion card; an approval through
    the REST API promotes the model, tagged with who approved it."""
    import json

    import yaml

    from mlgate.config.spec import load_spec
    from mlgate.promote import registry
    from mlgate.promote.decide import ASK
    from mlgate.promote.evaluate import evaluate_candidate
    from mlgate.train.candidate import train_candidate

    settings, lake, spec = servers["settings"], servers["lake"], load_spec("flights")
    ingest_real_days(lake, spec, "2013-01-01", "2013-01-24")
    # the same data trains the same model: its interval tells where the gray zone is
    probe = train_candidate(lake, settings, spec, "2013-01-25", run_info("probe"), "test")
    auc = evaluate_candidate(
        lake, settings, spec, probe["version"], probe["window"], log=False
    ).metrics["candidate"]
    raw = spec.raw | {
        "evaluation": {
            **spec.raw["evaluation"],
            "first_model": {"min_auc": round(float(auc["auc_low"] + auc["auc_high"]) / 2, 6)},
        }
    }
    (tmp_path / "flights.yaml").write_text(yaml.safe_dump(raw))

    env = {**servers["env"], "MLGATE_SPECS_DIR": str(tmp_path)}
    dag_test = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow",
            "dags",
            "test",
            TRAIN,
            local_midnight("2013-01-25"),  # a bare date is UTC midnight: 24 Jan in New York
            "-c",
            json.dumps({"overrides": {}, "gray_zone": "ask", "trigger": "test"}),
        ],
        env=env,
        stdout=open(servers["home"] / "dags-test.log", "w"),
        stderr=subprocess.STDOUT,
    )
    base = servers["base"]
    auth = {"Authorization": f"Bearer {token(base).json()['access_token']}"}
    try:
        deadline, waiting = time.monotonic() + 300, None
        while time.monotonic() < deadline and dag_test.poll() is None:
            details = requests.get(
                f"{base}/api/v2/dags/{TRAIN}/dagRuns/~/hitlDetails", headers=auth, timeout=10
            ).json()
            waiting = next(
                (d for d in details.get("hitl_details", []) if d["response_received"] is False),
                None,
            )
            if waiting:
                break
            time.sleep(2)
        assert waiting, (
            f"no approval was asked for: {(servers['home'] / 'dags-test.log').read_text()[-4000:]}"
        )
        assert (
            waiting["subject"].startswith(f"Promote {MODEL} v")
            and "straddles the first-model minimum" in waiting["body"]
        )
        assert waiting["defaults"] == ["Reject"]  # no answer in time: no promotion
        # answer once `dags test` has parked the task: an answer that lands while its task
        # runner is still finishing is overwritten by the runner's own AWAITING_INPUT (a race
        # of dag.test() in Airflow 3.3.2, not of the scheduler) and the run waits forever
        log = servers["home"] / "dags-test.log"
        while time.monotonic() < deadline and "Waiting for Human-in-the-loop input" not in (
            log.read_text()
        ):
            time.sleep(1)
        ti = waiting["task_instance"]
        answer = requests.patch(
            f"{base}/api/v2/dags/{TRAIN}/dagRuns/{ti['dag_run_id']}/taskInstances/approve/-1/hitlDetails",
            json={"chosen_options": ["Approve"]},
            headers=auth,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert dag_test.wait(timeout=300) == 0
    finally:
        if dag_test.poll() is None:
            dag_test.kill()
    client = tracking.client(settings)
    champion = registry.alias_version(client, MODEL, tracking.CHAMPION)
    assert champion is not None and champion.tags["mlgate.decision"] == ASK
    assert champion.tags["mlgate.promoted_by"].endswith(f"(approved by {UI_USER})")
    assert champion.tags["mlgate.promoted_because"].startswith(
        f"approved by {UI_USER} in the gray zone: Ask a person about v{champion.version}"
    )
