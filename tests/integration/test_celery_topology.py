"""The production topology on this machine's real servers, every part a separate process:
Airflow on PostgreSQL with the CeleryExecutor, a Redis broker and two Celery workers (plus
the API server, scheduler, DAG processor and triggerer); MLflow as a tracking server on
PostgreSQL with its artifacts on S3; the lake on S3 (moto's server). Real 2013 flights are
delivered to the S3 landing zone, every day is ingested and a model trained through
Airflow's REST API, and the test checks what a user would look at: every run succeeded,
both workers ran tasks, the model version is registered on the MLflow server with its
artifacts in the bucket, and the partitions are in the S3 lake. Then two faults on the
same deployment: a worker killed during training (the task is retried on the other one,
with one model version and no MLflow run left RUNNING), and the MLflow server stopped for
45 s during a run (the run still completes).

It makes its own databases (`mlgate_it_<random>_airflow`, `..._mlflow`), its own Redis DB
number and key prefix, its own bucket, and removes them all afterwards, even on failure.
PostgreSQL and Redis come from `MLGATE_IT_POSTGRES` (default
postgresql://postgres@127.0.0.1:5432/postgres, a user that may create databases) and
`MLGATE_IT_REDIS` (default redis://127.0.0.1:6379); when one is not reachable the test
skips and says which, except under CI, where it fails.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import requests
import yaml

from mlgate import simulator
from mlgate.airflow_env import UI_PASSWORD, UI_USER
from mlgate.settings import load_settings
from mlgate.topology import airflow_command, celery_env, mlflow_server_command, new_secrets, worker_env

pytestmark = pytest.mark.slow

POSTGRES = os.environ.get("MLGATE_IT_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("MLGATE_IT_REDIS", "redis://127.0.0.1:6379")
MODEL = "flights_late"
INGEST, TRAIN = f"mlgate_{MODEL}_ingest", f"mlgate_{MODEL}_train"
# six days: labels for the first five (outcomes land a day late); training on day six
# keeps the last two labelled days for evaluation and trains on the three before them
DAYS = simulator.dates("2013-01-01", "2013-01-06")
WORKERS = ("worker1", "worker2")
REDIS_DBS = range(8, 16)  # a free one of these, so the test never shares a DB in use
# An Airflow cluster policy (AIRFLOW_HOME/config/airflow_local_settings.py) of the test's
# deployment: a failed try is retried after 5 s instead of the DAGs' 2 minutes, so that the
# fault tests below wait less. The number of retries stays the DAGs' own.
RETRY_POLICY = '''import datetime as dt


def task_policy(task):
    task.retry_delay = dt.timedelta(seconds=5)
'''


# ---- the servers this test needs ---------------------------------------------


def missing(what: str, error: Exception):
    message = f"{what} is not reachable: {type(error).__name__}: {error}".strip()
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must run the Celery topology test: start the service)")
    pytest.skip(f"{message}; the Celery topology test needs it (set MLGATE_IT_POSTGRES / MLGATE_IT_REDIS)")


def with_database(url: str, name: str, scheme: str | None = None) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(scheme=scheme or parsed.scheme, path=f"/{name}"))


def postgres_admin():
    import psycopg2

    try:
        conn = psycopg2.connect(POSTGRES, connect_timeout=5)
    except psycopg2.Error as exc:
        missing(f"PostgreSQL at {POSTGRES}", exc)
    conn.autocommit = True
    return conn


def redis_client(db: int = 0):
    import redis

    client = redis.Redis.from_url(REDIS, db=db, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        missing(f"Redis at {REDIS}", exc)
    return client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{url}: the process exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(url, timeout=3).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {seconds:.0f} s:\n{log.read_text()[-4000:]}")


def wait_log(text: str, proc: subprocess.Popen, log: Path, seconds: float = 120, after: int = 0) -> None:
    """Wait for `text` in `log` (past its first `after` characters)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{log.name}: the process exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        if text in log.read_text(errors="replace")[after:]:
            return
        time.sleep(0.5)
    pytest.fail(f"{log.name}: no {text!r} within {seconds:.0f} s:\n{log.read_text()[-4000:]}")


def short_spec(specs_dir: Path) -> Path:
    """The demo spec with a short training window (three labelled days, two evaluated),
    so that six delivered days make one training; every gate still runs."""
    raw = yaml.safe_load((Path(__file__).resolve().parents[2] / "include" / "specs" / "flights.yaml").read_text())
    raw["training"].update({"window_days": 14, "min_days": 3})
    raw["evaluation"]["recent_days"] = 2
    raw["evaluation"]["first_model"]["min_auc"] = 0.55  # a three-day model is weaker than the demo's
    specs_dir.mkdir(parents=True, exist_ok=True)
    path = specs_dir / "flights.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


class Topology:
    """Starts and stops the processes; every one in its own process group."""

    def __init__(self, home: Path):
        self.home = home
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}
        self.commands: dict[str, tuple[list[str], dict]] = {}

    def start(self, name: str, cmd: list[str], env: dict) -> subprocess.Popen:
        self.logs[name] = self.home / f"{name}.log"
        self.commands[name] = (cmd, env)
        with open(self.logs[name], "ab") as out:  # a restart appends
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[name] = proc
        return proc

    def restart(self, name: str) -> subprocess.Popen:
        """Start `name` again as it was started (after `stop`)."""
        return self.start(name, *self.commands[name])

    def stop(self, name: str, sig=signal.SIGTERM, wait: float = 30) -> None:
        proc = self.procs.pop(name)
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
        try:  # what is left of the group (forked pool processes, task runners)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()

    def stop_all(self, wait: float = 30) -> None:
        """SIGTERM to every group at once, then SIGKILL to what is left after `wait` s."""
        procs, self.procs = self.procs, {}
        for proc in procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in procs.values():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()

    def tail(self, name: str, chars: int = 3000) -> str:
        return f"--- {name} ---\n" + self.logs[name].read_text(errors="replace")[-chars:]


@pytest.fixture(scope="module")
def topology(start_moto, tmp_path_factory):
    timings: dict[str, float] = {}
    started = time.monotonic()
    admin = postgres_admin()
    redis_free = [db for db in REDIS_DBS if redis_client(db).dbsize() == 0]
    if not redis_free:
        pytest.fail(f"Redis at {REDIS}: none of the DBs {REDIS_DBS.start}..{REDIS_DBS.stop - 1} is empty")
    name = f"mlgate_it_{uuid.uuid4().hex[:10]}"
    redis_db, key_prefix = random.choice(redis_free), f"{name}:"
    databases = {part: f"{name}_{part}" for part in ("airflow", "mlflow")}
    home = tmp_path_factory.mktemp("celery-topology")
    top = Topology(home)
    patch = pytest.MonkeyPatch()
    created: list[str] = []
    try:
        with admin.cursor() as cur:
            for db in databases.values():
                cur.execute(f'CREATE DATABASE "{db}"')
                created.append(db)

        # S3: moto's server; the lake and MLflow's artifacts in a bucket of their own
        import boto3

        moto = start_moto()
        aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL": moto, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_CONFIG_FILE": str(home / "no-aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials")}
        for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
            patch.delenv(key, raising=False)
        for key, value in aws.items():
            patch.setenv(key, value)
        bucket = name.replace("_", "-")
        boto3.client("s3").create_bucket(Bucket=bucket)

        # a clean environment: nothing of the test session's own Airflow, MLflow or AWS settings
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MLGATE_", "MLFLOW_", "AWS_"))}
        base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
        base.update(aws)

        # MLflow: a tracking server on PostgreSQL serving the artifacts from S3
        mlflow_port = free_port()
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        proc = top.start("mlflow", mlflow_server_command(with_database(POSTGRES, databases["mlflow"], "postgresql+psycopg2"), f"s3://{bucket}/mlflow",
                                                         port=mlflow_port), {**base, "MLFLOW_S3_ENDPOINT_URL": moto})
        wait_http(f"{mlflow_url}/health", proc, top.logs["mlflow"])
        timings["mlflow server up"] = time.monotonic() - started

        # Airflow: every component with the same environment
        specs_dir = home / "specs"
        short_spec(specs_dir)
        settings = load_settings({"MLGATE_HOME": str(home), "MLGATE_LAKE_URI": f"s3://{bucket}/lake",
                                  "MLFLOW_TRACKING_URI": mlflow_url, "MLGATE_SPECS_DIR": str(specs_dir)})
        assert settings.artifacts_uri is None  # the server places the artifacts
        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        env = {**base, **celery_env(settings, database_uri=with_database(POSTGRES, databases["airflow"], "postgresql+psycopg2"),
                                    broker_url=f"{REDIS.rstrip('/')}/{redis_db}", api_url=api_url, worker_concurrency=2,
                                    **new_secrets()),
               "MLGATE_SPECS_DIR": str(specs_dir),
               "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": key_prefix,
               # the test drives every run: no run of the DAGs' own @daily schedules (today's,
               # whose sensor would wait hours for a delivery that never comes)
               "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
               "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
               # a task whose worker died is failed (and retried) after 30 s without a heartbeat
               # (tasks heartbeat every 5 s), not 5 minutes
               "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
               "AIRFLOW__CORE__PARALLELISM": "8",
               "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port())}
        airflow_home = Path(env["AIRFLOW_HOME"])
        (airflow_home / "config").mkdir(parents=True)
        (airflow_home / "config" / "airflow_local_settings.py").write_text(RETRY_POLICY)
        Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).write_text(f'{{"{UI_USER}": "{UI_PASSWORD}"}}')
        for args in (("db", "migrate"), ("dags", "reserialize")):
            done = subprocess.run(airflow_command(*args), env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stderr[-3000:]}"
            timings[f"airflow {args[0]} {args[1]}"] = time.monotonic() - started
        proc = top.start("api-server", airflow_command("api-server", "--host", "127.0.0.1", "--port", str(api_port)), env)
        wait_http(f"{api_url}/api/v2/monitor/health", proc, top.logs["api-server"])
        for component in ("scheduler", "dag-processor", "triggerer"):
            top.start(component, airflow_command(component), env)
        for worker in WORKERS:
            top.start(worker, airflow_command("celery", "worker", "--celery-hostname", f"{worker}@%h",
                                              "--pid", str(home / f"{worker}.pid")),
                      worker_env(env, worker, free_port()))
        for worker in WORKERS:
            wait_log(" ready.", top.procs[worker], top.logs[worker])
        timings["all processes up"] = time.monotonic() - started

        from mlgate.lake import Lake

        yield {"api": api_url, "mlflow": mlflow_url, "bucket": bucket, "env": env, "home": home, "top": top,
               "lake": Lake.from_uri(settings.lake_uri), "timings": timings, "started": started,
               "redis_db": redis_db, "key_prefix": key_prefix}
    finally:
        top.stop_all()
        with admin.cursor() as cur:
            for db in created:
                cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin.close()
        client = redis_client(redis_db)
        for key in client.scan_iter(match=f"{key_prefix}*", count=1000):
            client.delete(key)
        patch.undo()


# ---- the REST API -------------------------------------------------------------


def login(api: str) -> dict:
    answer = requests.post(f"{api}/auth/token", json={"username": UI_USER, "password": UI_PASSWORD}, timeout=10)
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def trigger(api: str, auth: dict, dag_id: str, ds: str, conf: dict) -> str:
    answer = requests.post(f"{api}/api/v2/dags/{dag_id}/dagRuns", headers=auth, timeout=30,
                           json={"logical_date": f"{ds}T00:00:00Z", "conf": conf})
    assert answer.status_code == 200, answer.text
    return answer.json()["dag_run_id"]


def task_instances(api: str, auth: dict, dag_id: str = "~", run_id: str = "~") -> list[dict]:
    answer = requests.get(f"{api}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", headers=auth, timeout=30,
                          params={"limit": 1000})
    answer.raise_for_status()
    return answer.json()["task_instances"]


def diagnose(ctx: dict, auth: dict, dag_id: str, run_id: str) -> str:
    """The run's task states and the log of each failed task, with the process logs."""
    lines = []
    logs = Path(ctx["env"]["AIRFLOW_HOME"]) / "logs"
    for ti in task_instances(ctx["api"], auth, dag_id, run_id):
        lines.append(f"{ti['task_id']}: {ti['state']} (try {ti['try_number']}, on {ti['hostname']})")
        if ti["state"] not in ("success", "skipped"):
            for log in sorted(logs.glob(f"dag_id={dag_id}/run_id={run_id}/task_id={ti['task_id']}/*.log")):
                lines.append(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")
    top = ctx["top"]
    return "\n".join(lines + [top.tail(name, 2000) for name in ("scheduler", *WORKERS)])


def wait_runs(ctx: dict, auth: dict, dag_id: str, run_ids: list[str], seconds: float) -> dict[str, dict]:
    deadline, runs = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        for run_id in run_ids:
            answer = requests.get(f"{ctx['api']}/api/v2/dags/{dag_id}/dagRuns/{run_id}", headers=auth, timeout=30)
            answer.raise_for_status()
            runs[run_id] = answer.json()
        failed = [r for r, run in runs.items() if run["state"] == "failed"]
        if failed:
            pytest.fail(f"{dag_id} run {failed[0]} failed:\n{diagnose(ctx, auth, dag_id, failed[0])}")
        if all(run["state"] == "success" for run in runs.values()):
            return runs
        time.sleep(2)
    pending = next(r for r, run in runs.items() if run["state"] != "success")
    pytest.fail(f"{dag_id} runs not done after {seconds:.0f} s: { {r: run['state'] for r, run in runs.items()} }\n"
                f"{diagnose(ctx, auth, dag_id, pending)}")


# ---- the test -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ingested(topology):
    """The six days delivered to the S3 landing zone and ingested through the REST API:
    the ingest DAG's run ids (in date order) and the runs as the API shows them."""
    ctx, api = topology, topology["api"]
    for ds in DAYS:
        simulator.deliver_features(ctx["lake"], ds)
        simulator.deliver_outcomes(ctx["lake"], ds)
    auth = login(api)
    for dag_id in (INGEST, TRAIN):
        requests.patch(f"{api}/api/v2/dags/{dag_id}", json={"is_paused": False}, headers=auth, timeout=30).raise_for_status()
    t0 = time.monotonic()
    # triggered in date order; the ingest DAG's max_active_runs=1 runs them one at a time
    run_ids = [trigger(api, auth, INGEST, ds, {}) for ds in DAYS]
    runs = wait_runs(ctx, auth, INGEST, run_ids, seconds=900)
    ctx["timings"][f"ingest ({len(DAYS)} days)"] = time.monotonic() - t0
    return {"run_ids": run_ids, "runs": runs}


def test_the_flights_dags_run_on_celery_workers_with_postgres_an_mlflow_server_and_s3(topology, ingested, capsys):
    import boto3
    from mlflow.tracking import MlflowClient

    from mlgate.lake import Lake
    from mlgate.train import RUN_TAG

    ctx, api = topology, topology["api"]
    timings, ingest_runs = ctx["timings"], ingested["run_ids"]
    auth = login(api)
    starts = [ingested["runs"][r]["start_date"] for r in ingest_runs]
    assert starts == sorted(starts), "ingest runs must run in date order"

    t0 = time.monotonic()
    train_run = trigger(api, auth, TRAIN, DAYS[-1], {"gray_zone": "refuse", "overrides": {}})
    wait_runs(ctx, auth, TRAIN, [train_run], seconds=900)
    timings["train"] = time.monotonic() - t0

    # every task ran on one of the two Celery workers, and both ran some
    tis = [ti for ti in task_instances(api, auth) if ti["dag_id"] in (INGEST, TRAIN)]
    ran = [ti for ti in tis if ti["state"] == "success"]
    per_worker = collections.Counter(ti["hostname"] for ti in ran)
    retried = [f"{ti['dag_id']}.{ti['task_id']} try {ti['try_number']}" for ti in tis if ti["try_number"] > 1]
    assert len(ran) == 4 * len(DAYS) + 4, {ti["task_id"]: ti["state"] for ti in tis if ti["dag_id"] == TRAIN}
    assert set(per_worker) == set(WORKERS) and min(per_worker.values()) >= 1, per_worker
    train_tis = {ti["task_id"]: ti["state"] for ti in tis if ti["dag_id"] == TRAIN}
    assert train_tis == {"train_candidate": "success", "evaluate": "success", "route": "success",
                         "approve": "skipped", "promote": "success"}, train_tis

    # the model: registered on the MLflow server, its artifacts in the bucket through the server
    client = MlflowClient(tracking_uri=ctx["mlflow"], registry_uri=ctx["mlflow"])
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert len(versions) == 1, [(v.version, v.tags) for v in versions]
    version = versions[0]
    assert version.tags[RUN_TAG] == f"{TRAIN}/{train_run}" and version.tags["mlgate.decision"] == "promote"
    assert client.get_model_version_by_alias(MODEL, "champion").version == version.version
    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED"
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.artifact_location.startswith("mlflow-artifacts:"), experiment.artifact_location
    keys = [o["Key"] for page in boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=ctx["bucket"], Prefix="mlflow/")
            for o in page.get("Contents", [])]
    assert any(k.endswith(f"{version.run_id}/artifacts/lineage.json") for k in keys), keys[:20]
    assert any(k.endswith(f"{version.run_id}/artifacts/promotion_card.json") for k in keys), keys[:20]
    assert any(k.endswith("/artifacts/MLmodel") for k in keys), keys[:20]
    assert not (ctx["home"] / "mlartifacts").exists() and not (ctx["home"] / "mlruns").exists()

    # the lake on S3, read from here as any other client would
    s3_lake = Lake.from_uri(f"s3://{ctx['bucket']}/lake")
    assert s3_lake.list_partitions("validated", MODEL) == DAYS
    assert s3_lake.list_partitions("outcomes", MODEL) == DAYS[:-1]
    lineage = s3_lake.read_lineage("validated", MODEL, DAYS[0])
    assert lineage["dag_id"] == INGEST and lineage["run_id"] == ingest_runs[0]
    assert s3_lake.exists("raw", MODEL, DAYS[0]) and not s3_lake.list_partitions("quarantine", MODEL)

    # the broker's keys are all under the test's prefix (the teardown deletes exactly those)
    broker_keys = [k.decode() for k in redis_client(ctx["redis_db"]).scan_iter(count=1000)]
    assert broker_keys and all(k.startswith(ctx["key_prefix"]) for k in broker_keys), broker_keys[:10]

    timings["total (with set-up)"] = time.monotonic() - ctx["started"]
    with capsys.disabled():
        print(f"\n[celery topology] tasks per worker: {dict(sorted(per_worker.items()))}; "
              f"retried: {retried or 'none'}; model v{version.version} ({len(keys)} objects under s3://{ctx['bucket']}/mlflow/)")
        print("[celery topology] " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))


# ---- faults -------------------------------------------------------------------------


def tries(api: str, auth: dict, dag_id: str, run_id: str, task_id: str) -> list[dict]:
    answer = requests.get(f"{api}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries",
                          headers=auth, timeout=30)
    answer.raise_for_status()
    return sorted(answer.json()["task_instances"], key=lambda t: t["try_number"])


def candidate_runs(client, key: str) -> list:
    """The MLflow runs of the train DAG run `key` (dag_id/run_id), any status."""
    experiment = client.get_experiment_by_name(MODEL)
    if experiment is None:  # no candidate has started yet
        return []
    return client.search_runs([experiment.experiment_id], filter_string=f"tags.`mlgate.airflow_run` = '{key}'")


def unfinished_runs(client) -> list[str]:
    experiment = client.get_experiment_by_name(MODEL)
    return [f"{r.info.run_id} {r.info.status} {r.data.tags.get('mlgate.airflow_run')}"
            for r in client.search_runs([experiment.experiment_id], max_results=1000) if r.info.status == "RUNNING"]


def test_a_worker_killed_while_training_the_task_is_retried_on_the_other_without_a_duplicate(topology, ingested, capsys):
    """SIGKILL to a Celery worker's whole process group (the worker, its pool and the task
    runner: a machine lost) while `train_candidate` is inside its MLflow run. The scheduler
    fails the task once its heartbeats stop, the retry runs on the other worker, and the
    run ends with one model version and no MLflow run left RUNNING."""
    from mlflow.tracking import MlflowClient

    from mlgate.train import RUN_TAG

    ctx, api, top = topology, topology["api"], topology["top"]
    auth = login(api)
    client = MlflowClient(tracking_uri=ctx["mlflow"], registry_uri=ctx["mlflow"])
    run_id = trigger(api, auth, TRAIN, "2013-01-07", {"gray_zone": "refuse", "overrides": {}})
    key = f"{TRAIN}/{run_id}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # the candidate's MLflow run has started: training is done, logging is on
        if any(r.info.status == "RUNNING" for r in candidate_runs(client, key)):
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"train_candidate never started its MLflow run:\n{diagnose(ctx, auth, TRAIN, run_id)}")
    victim = next(t for t in task_instances(api, auth, TRAIN, run_id) if t["task_id"] == "train_candidate")["hostname"]
    assert victim in WORKERS
    survivor = next(w for w in WORKERS if w != victim)
    killed_at = time.monotonic()
    top.stop(victim, signal.SIGKILL)

    wait_runs(ctx, auth, TRAIN, [run_id], seconds=600)
    recovered = time.monotonic() - killed_at
    history = [(t["try_number"], t["hostname"], t["state"]) for t in tries(api, auth, TRAIN, run_id, "train_candidate")]
    assert history[0][:2] == (1, victim) and history[0][2] == "failed", history
    assert history[-1] == (2, survivor, "success"), history
    versions = [v for v in client.search_model_versions(f"name='{MODEL}'") if v.tags.get(RUN_TAG) == key]
    assert len(versions) == 1, [(v.version, v.run_id) for v in versions]
    assert not unfinished_runs(client), unfinished_runs(client)
    statuses = sorted(r.info.status for r in candidate_runs(client, key))

    size = top.logs[victim].stat().st_size  # the lost worker comes back and joins again
    top.restart(victim)
    wait_log(" ready.", top.procs[victim], top.logs[victim], after=size)
    with capsys.disabled():
        print(f"\n[celery topology] {victim} killed in train_candidate's MLflow run; tries {history}; "
              f"run succeeded {recovered:.0f} s after the kill; MLflow runs of the DAG run: {statuses}; "
              f"one version, v{versions[0].version}")


def test_the_mlflow_server_down_for_a_while_the_run_still_completes(topology, ingested, capsys):
    """The MLflow server stops while `train_candidate` runs and comes back 45 s later (same
    database and bucket): the tasks wait or retry, the run succeeds, with one model version
    and no MLflow run left RUNNING."""
    from mlflow.tracking import MlflowClient

    from mlgate.train import RUN_TAG

    ctx, api, top = topology, topology["api"], topology["top"]
    auth = login(api)
    client = MlflowClient(tracking_uri=ctx["mlflow"], registry_uri=ctx["mlflow"])
    run_id = trigger(api, auth, TRAIN, "2013-01-08", {"gray_zone": "refuse", "overrides": {}})
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        states = {t["task_id"]: t["state"] for t in task_instances(api, auth, TRAIN, run_id)}
        if states.get("train_candidate") == "running":
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"train_candidate never ran:\n{diagnose(ctx, auth, TRAIN, run_id)}")
    stopped_at = time.monotonic()
    top.stop("mlflow")
    time.sleep(45)
    proc = top.restart("mlflow")
    wait_http(f"{ctx['mlflow']}/health", proc, top.logs["mlflow"])

    wait_runs(ctx, auth, TRAIN, [run_id], seconds=600)
    recovered = time.monotonic() - stopped_at
    history = {t: [(x["try_number"], x["state"]) for x in tries(api, auth, TRAIN, run_id, t)]
               for t in ("train_candidate", "evaluate", "promote")}
    key = f"{TRAIN}/{run_id}"
    versions = [v for v in client.search_model_versions(f"name='{MODEL}'") if v.tags.get(RUN_TAG) == key]
    assert len(versions) == 1, [(v.version, v.run_id) for v in versions]
    assert not unfinished_runs(client), unfinished_runs(client)
    with capsys.disabled():
        print(f"\n[celery topology] MLflow server down 45 s during train_candidate; tries {history}; "
              f"run succeeded {recovered:.0f} s after the stop; v{versions[0].version} "
              f"({versions[0].tags.get('mlgate.decision')})")
