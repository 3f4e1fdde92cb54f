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
45 s during a run (the run still completes). Last, what a user can read of it all (logs,
process output and command lines, the REST API, MLflow, the bucket) holds none of the
deployment's secrets: each one is a marker of its own (`deployment_secrets`), really used
(MLflow runs with its login, as in production; the database and broker URLs carry
passwords; the AWS secret key signs every S3 request).

It makes its own databases (`mlgate_it_<random>_airflow`, `..._mlflow`), its own Redis DB
number and key prefix, its own bucket, and removes them all afterwards, even on failure.
PostgreSQL and Redis come from `MLGATE_IT_POSTGRES` (default
postgresql://postgres@127.0.0.1:5432/postgres, a user that may create databases) and
`MLGATE_IT_REDIS` (default redis://127.0.0.1:6379); when one is not reachable the test
skips and says which, except under CI, where it fails.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
import requests
import yaml

from mlgate.airflow.local import UI_USER
from mlgate.airflow.topology import (
    airflow_command,
    celery_env,
    mlflow_server_command,
    mlflow_server_env,
    worker_env,
)
from mlgate.config.settings import load_settings
from mlgate.demo import simulator
from mlgate.lake.names import dates
from tests.helpers import REPO, free_port, wait_http

pytestmark = pytest.mark.slow

POSTGRES = os.environ.get("MLGATE_IT_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("MLGATE_IT_REDIS", "redis://127.0.0.1:6379")
MODEL = "flights_late"
INGEST, TRAIN = f"mlgate_{MODEL}_ingest", f"mlgate_{MODEL}_train"
# six days: labels for the first five (outcomes land a day late); training on day six
# keeps the last two labelled days for evaluation and trains on the three before them
DAYS = dates("2013-01-01", "2013-01-06")
WORKERS = ("worker1", "worker2")
REDIS_DBS = range(8, 16)  # a free one of these, so the test never shares a DB in use
# An Airflow cluster policy (AIRFLOW_HOME/config/airflow_local_settings.py) of the test's
# deployment: a failed try is retried after 5 s instead of the DAGs' 2 minutes, so that the
# fault tests below wait less. The number of retries stays the DAGs' own.
RETRY_POLICY = """import datetime as dt


def task_policy(task):
    task.retry_delay = dt.timedelta(seconds=5)
"""


# ---- the deployment's secrets: each a marker of its own --------------------------


def marker() -> str:
    return f"SECRET-{uuid.uuid4().hex}"


def fernet_marker() -> tuple[str, str]:
    """A valid Fernet key (32 url-safe base64 bytes) that carries a marker: (key, marker)."""
    mark = marker()  # 39 characters of the base64 alphabet
    key = f"{mark}fkeA="  # 43 characters (the last one's 2 spare bits 0) and the padding
    from cryptography.fernet import Fernet

    Fernet(key)  # refuses anything but a 32-byte key
    return key, mark


MLFLOW_ADMIN = "admin"


# MLflow's basic-auth app as production runs it (docker/mlflow/basic_auth.ini), its users in a
# SQLite file of the test's home; checked logins are cached (a password hash per request is slow)
def mlflow_auth_config(db: Path) -> str:
    """The deployment's own MLflow login settings (docker/mlflow/basic_auth.ini), with the
    user store in the test's folder."""
    text = (REPO / "docker" / "mlflow" / "basic_auth.ini").read_text()
    lines = [
        f"database_uri = sqlite:///{db}" if line.startswith("database_uri") else line
        for line in text.splitlines()
    ]
    assert f"admin_username = {MLFLOW_ADMIN}" in lines
    return "\n".join(lines) + "\n"


def deployment_secrets() -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The secrets of the test's deployment, each a fresh marker `SECRET-<uuid>` (the Fernet
    key carries one): `(values, markers, unmarked)`, `markers` being what to look for, and
    `unmarked` saying why a secret could not be given a marker. Each one is really used:
    moto takes any AWS secret key (it is still what boto3 signs with); PostgreSQL under trust
    auth takes the URLs' password without checking it; Redis takes any password for a user
    `default` that has none (with `AUTH default <password>`); the rest are the Airflow
    components' shared secrets, the Airflow and MLflow logins and MLflow's session key."""
    values = {
        name: marker()
        for name in (
            "aws_secret_access_key",
            "airflow_jwt_secret",
            "airflow_api_secret_key",
            "airflow_ui_password",
            "mlflow_password",
            "mlflow_flask_secret_key",
        )
    }
    markers = dict(values)
    values["airflow_fernet_key"], markers["airflow_fernet_key"] = fernet_marker()
    unmarked = {}
    if urlparse(POSTGRES).password:
        unmarked["postgres_password"] = "MLGATE_IT_POSTGRES has a password of its own"
    else:
        values["postgres_password"] = markers["postgres_password"] = marker()
    if urlparse(REDIS).password:
        unmarked["redis_password"] = "MLGATE_IT_REDIS has a password of its own"
    else:
        import redis

        candidate = marker()
        try:  # the server's config is left alone: a password it would refuse is not used
            redis.Redis.from_url(
                with_password(REDIS, candidate, "default"), socket_connect_timeout=5
            ).ping()
            values["redis_password"] = markers["redis_password"] = candidate
        except redis.RedisError as exc:
            unmarked["redis_password"] = f"Redis refuses a password for its user 'default' ({exc})"
    return values, markers, unmarked


def moto_log(url: str) -> Path | None:
    """The output of the moto server at `url` (tests/conftest.py's start_moto writes it)."""
    log = Path(os.environ["MLGATE_HOME"]) / f"moto-{urlparse(url).port}.log"
    return log if log.exists() else None


def with_password(url: str, password: str, user: str) -> str:
    """`url` with `password` (and `user` when it names none) in its userinfo."""
    parsed = urlparse(url)
    host = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
    return urlunparse(parsed._replace(netloc=f"{parsed.username or user}:{password}@{host}"))


# ---- the servers this test needs ---------------------------------------------


def missing(what: str, error: Exception):
    message = f"{what} is not reachable: {type(error).__name__}: {error}".strip()
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must run the Celery topology test: start the service)")
    pytest.skip(
        f"{message}; the Celery topology test needs it (set MLGATE_IT_POSTGRES / MLGATE_IT_REDIS)"
    )


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


def wait_log(
    text: str, proc: subprocess.Popen, log: Path, seconds: float = 120, after: int = 0
) -> None:
    """Wait for `text` in `log` (past its first `after` characters)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"{log.name}: the process exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
            )
        if text in log.read_text(errors="replace")[after:]:
            return
        time.sleep(0.5)
    pytest.fail(f"{log.name}: no {text!r} within {seconds:.0f} s:\n{log.read_text()[-4000:]}")


def short_spec(specs_dir: Path) -> Path:
    """The demo spec with a short training window (three labelled days, two evaluated),
    so that six delivered days make one training; every gate still runs."""
    raw = yaml.safe_load((REPO / "include" / "specs" / "flights.yaml").read_text())
    raw["training"].update({"window_days": 14, "min_days": 3})
    raw["evaluation"]["recent_days"] = 2
    raw["evaluation"]["first_model"]["min_auc"] = (
        0.55  # a three-day model is weaker than the demo's
    )
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
            proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
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
        pytest.fail(
            f"Redis at {REDIS}: none of the DBs {REDIS_DBS.start}..{REDIS_DBS.stop - 1} is empty"
        )
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

        # The deployment's secrets, each a marker of its own that test_no_secret_... looks for
        # everywhere a user can read; each is really used (see `deployment_secrets`).
        secret, markers, unmarked = deployment_secrets()
        postgres_url = (
            with_password(POSTGRES, secret["postgres_password"], "postgres")
            if "postgres_password" in secret
            else POSTGRES
        )
        redis_url = (
            with_password(REDIS, secret["redis_password"], "default")
            if "redis_password" in secret
            else REDIS
        )

        # S3: moto's server; the lake and MLflow's artifacts in a bucket of their own
        import boto3

        moto = start_moto()
        aws = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": secret["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": moto,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        }
        # the MLflow server's login (basic-auth, as in production), for every client
        mlflow_login = {
            "MLFLOW_TRACKING_USERNAME": MLFLOW_ADMIN,
            "MLFLOW_TRACKING_PASSWORD": secret["mlflow_password"],
        }
        for key in (
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL_S3",
            "AWS_MAX_ATTEMPTS",
            "AWS_RETRY_MODE",
            "MLFLOW_TRACKING_TOKEN",
        ):
            patch.delenv(key, raising=False)
        for key, value in {**aws, **mlflow_login}.items():
            patch.setenv(key, value)
        bucket = name.replace("_", "-")
        boto3.client("s3").create_bucket(Bucket=bucket)

        # a clean environment: nothing of the test session's own Airflow, MLflow or AWS settings
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "MLGATE_", "MLFLOW_", "AWS_"))
        }
        base["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{base.get('PATH', '')}"
        base.update(aws)
        base.update(mlflow_login)

        # MLflow: a tracking server on PostgreSQL serving the artifacts from S3, with a login
        mlflow_port = free_port()
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        auth_config = home / "mlflow-auth.ini"
        auth_config.write_text(mlflow_auth_config(home / "mlflow-auth.db"))
        server_env = {
            **base,
            "MLFLOW_S3_ENDPOINT_URL": moto,
            "MLFLOW_AUTH_CONFIG_PATH": str(auth_config),
            "MLFLOW_AUTH_ADMIN_USERNAME": MLFLOW_ADMIN,
            "MLFLOW_AUTH_ADMIN_PASSWORD": secret["mlflow_password"],
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secret["mlflow_flask_secret_key"],
        }
        server_env.update(
            mlflow_server_env(
                with_database(postgres_url, databases["mlflow"], "postgresql+psycopg2")
            )
        )
        proc = top.start(
            "mlflow",
            mlflow_server_command(f"s3://{bucket}/mlflow", port=mlflow_port, app_name="basic-auth"),
            server_env,
        )
        wait_http(f"{mlflow_url}/health", proc, top.logs["mlflow"])
        timings["mlflow server up"] = time.monotonic() - started

        # Airflow: every component with the same environment
        specs_dir = home / "specs"
        short_spec(specs_dir)
        settings = load_settings(
            {
                "MLGATE_HOME": str(home),
                "MLGATE_LAKE_URI": f"s3://{bucket}/lake",
                "MLFLOW_TRACKING_URI": mlflow_url,
                "MLGATE_SPECS_DIR": str(specs_dir),
            }
        )
        assert settings.artifacts_uri is None  # the server places the artifacts
        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        env = {
            **base,
            **celery_env(
                settings,
                database_uri=with_database(
                    postgres_url, databases["airflow"], "postgresql+psycopg2"
                ),
                broker_url=f"{redis_url.rstrip('/')}/{redis_db}",
                api_url=api_url,
                worker_concurrency=2,
                jwt_secret=secret["airflow_jwt_secret"],
                api_secret_key=secret["airflow_api_secret_key"],
                fernet_key=secret["airflow_fernet_key"],
            ),
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
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        }
        airflow_home = Path(env["AIRFLOW_HOME"])
        (airflow_home / "config").mkdir(parents=True)
        (airflow_home / "config" / "airflow_local_settings.py").write_text(RETRY_POLICY)
        Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).write_text(
            json.dumps({UI_USER: secret["airflow_ui_password"]})
        )
        for args in (("db", "migrate"), ("dags", "reserialize")):
            done = subprocess.run(
                airflow_command(*args), env=env, capture_output=True, text=True, timeout=600
            )
            (home / f"airflow-{'-'.join(args)}.log").write_text(
                done.stdout + done.stderr
            )  # looked at for secrets too
            assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stderr[-3000:]}"
            timings[f"airflow {args[0]} {args[1]}"] = time.monotonic() - started
        proc = top.start(
            "api-server",
            airflow_command("api-server", "--host", "127.0.0.1", "--port", str(api_port)),
            env,
        )
        wait_http(f"{api_url}/api/v2/monitor/health", proc, top.logs["api-server"])
        for component in ("scheduler", "dag-processor", "triggerer"):
            top.start(component, airflow_command(component), env)
        for worker in WORKERS:
            top.start(
                worker,
                airflow_command(
                    "celery",
                    "worker",
                    "--celery-hostname",
                    f"{worker}@%h",
                    "--pid",
                    str(home / f"{worker}.pid"),
                ),
                worker_env(env, worker, free_port()),
            )
        for worker in WORKERS:
            wait_log(" ready.", top.procs[worker], top.logs[worker])
        timings["all processes up"] = time.monotonic() - started

        from mlgate.lake.store import Lake

        yield {
            "api": api_url,
            "mlflow": mlflow_url,
            "bucket": bucket,
            "env": env,
            "home": home,
            "top": top,
            "lake": Lake.from_uri(settings.lake_uri),
            "timings": timings,
            "started": started,
            "redis_db": redis_db,
            "key_prefix": key_prefix,
            "ui_password": secret["airflow_ui_password"],
            "markers": markers,
            "unmarked": unmarked,
            "moto_log": moto_log(moto),
        }
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


def login(ctx: dict) -> dict:
    answer = requests.post(
        f"{ctx['api']}/auth/token",
        json={"username": UI_USER, "password": ctx["ui_password"]},
        timeout=10,
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def day_start(ds: str) -> str:
    """The logical date of day `ds`'s run: local midnight in the spec's zone (ISO)."""
    from mlgate.airflow import dagkit
    from mlgate.config.spec import load_spec

    return dagkit.day_start(load_spec("flights"), ds).isoformat()


def trigger(api: str, auth: dict, dag_id: str, ds: str, conf: dict) -> str:
    answer = requests.post(
        f"{api}/api/v2/dags/{dag_id}/dagRuns",
        headers=auth,
        timeout=30,
        json={"logical_date": day_start(ds), "conf": conf},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["dag_run_id"]


def task_instances(api: str, auth: dict, dag_id: str = "~", run_id: str = "~") -> list[dict]:
    answer = requests.get(
        f"{api}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
        headers=auth,
        timeout=30,
        params={"limit": 1000},
    )
    answer.raise_for_status()
    return answer.json()["task_instances"]


def diagnose(ctx: dict, auth: dict, dag_id: str, run_id: str) -> str:
    """The run's task states and the log of each failed task, with the process logs."""
    lines = []
    logs = Path(ctx["env"]["AIRFLOW_HOME"]) / "logs"
    for ti in task_instances(ctx["api"], auth, dag_id, run_id):
        lines.append(
            f"{ti['task_id']}: {ti['state']} (try {ti['try_number']}, on {ti['hostname']})"
        )
        if ti["state"] not in ("success", "skipped"):
            for log in sorted(
                logs.glob(f"dag_id={dag_id}/run_id={run_id}/task_id={ti['task_id']}/*.log")
            ):
                lines.append(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")
    top = ctx["top"]
    return "\n".join(lines + [top.tail(name, 2000) for name in ("scheduler", *WORKERS)])


def wait_runs(
    ctx: dict, auth: dict, dag_id: str, run_ids: list[str], seconds: float
) -> dict[str, dict]:
    deadline, runs = time.monotonic() + seconds, {}
    while time.monotonic() < deadline:
        for run_id in run_ids:
            answer = requests.get(
                f"{ctx['api']}/api/v2/dags/{dag_id}/dagRuns/{run_id}", headers=auth, timeout=30
            )
            answer.raise_for_status()
            runs[run_id] = answer.json()
        failed = [r for r, run in runs.items() if run["state"] == "failed"]
        if failed:
            pytest.fail(
                f"{dag_id} run {failed[0]} failed:\n{diagnose(ctx, auth, dag_id, failed[0])}"
            )
        if all(run["state"] == "success" for run in runs.values()):
            return runs
        time.sleep(2)
    pending = next(r for r, run in runs.items() if run["state"] != "success")
    pytest.fail(
        f"{dag_id} runs not done after {seconds:.0f} s: "
        f"{ {r: run['state'] for r, run in runs.items()} }\n"
        f"{diagnose(ctx, auth, dag_id, pending)}"
    )


# ---- the test -------------------------------------------------------------------


@pytest.fixture(scope="module")
def ingested(topology):
    """The six days delivered to the S3 landing zone and ingested through the REST API:
    the ingest DAG's run ids (in date order) and the runs as the API shows them."""
    ctx, api = topology, topology["api"]
    for ds in DAYS:
        simulator.deliver_features(ctx["lake"], ds)
        simulator.deliver_outcomes(ctx["lake"], ds)
    auth = login(ctx)
    for dag_id in (INGEST, TRAIN):
        requests.patch(
            f"{api}/api/v2/dags/{dag_id}", json={"is_paused": False}, headers=auth, timeout=30
        ).raise_for_status()
    t0 = time.monotonic()
    # triggered in date order; the ingest DAG's max_active_runs=1 runs them one at a time
    run_ids = [trigger(api, auth, INGEST, ds, {}) for ds in DAYS]
    runs = wait_runs(ctx, auth, INGEST, run_ids, seconds=900)
    ctx["timings"][f"ingest ({len(DAYS)} days)"] = time.monotonic() - t0
    return {"run_ids": run_ids, "runs": runs}


@pytest.fixture(scope="module")
def trained(topology, ingested):
    """The train DAG run on the last ingested day (the first champion): its run id."""
    ctx = topology
    auth = login(ctx)
    t0 = time.monotonic()
    train_run = trigger(ctx["api"], auth, TRAIN, DAYS[-1], {"gray_zone": "refuse", "overrides": {}})
    wait_runs(ctx, auth, TRAIN, [train_run], seconds=900)
    ctx["timings"]["train"] = time.monotonic() - t0
    return train_run


def test_the_flights_dags_run_on_celery_workers_with_postgres_an_mlflow_server_and_s3(
    topology, ingested, trained, capsys
):
    import boto3
    from mlflow.tracking import MlflowClient

    from mlgate.lake.store import Lake
    from mlgate.tracking import RUN_TAG

    ctx, api = topology, topology["api"]
    timings, ingest_runs = ctx["timings"], ingested["run_ids"]
    auth = login(ctx)
    starts = [ingested["runs"][r]["start_date"] for r in ingest_runs]
    assert starts == sorted(starts), "ingest runs must run in date order"
    train_run = trained

    # every task ran on one of the two Celery workers, and both ran some
    tis = [ti for ti in task_instances(api, auth) if ti["dag_id"] in (INGEST, TRAIN)]
    ran = [ti for ti in tis if ti["state"] == "success"]
    per_worker = collections.Counter(ti["hostname"] for ti in ran)
    retried = [
        f"{ti['dag_id']}.{ti['task_id']} try {ti['try_number']}"
        for ti in tis
        if ti["try_number"] > 1
    ]
    assert len(ran) == 4 * len(DAYS) + 5, {
        ti["task_id"]: ti["state"] for ti in tis if ti["dag_id"] == TRAIN
    }
    assert set(per_worker) == set(WORKERS) and min(per_worker.values()) >= 1, per_worker
    train_tis = {ti["task_id"]: ti["state"] for ti in tis if ti["dag_id"] == TRAIN}
    assert train_tis == {
        "train_candidate": "success",
        "evaluate": "success",
        "route": "success",
        "approve": "skipped",
        "promote": "success",
        "release_challenger": "success",
    }, train_tis

    # the model: registered on the MLflow server, its artifacts in the bucket through the server
    client = MlflowClient(tracking_uri=ctx["mlflow"], registry_uri=ctx["mlflow"])
    versions = client.search_model_versions(f"name='{MODEL}'")
    assert len(versions) == 1, [(v.version, v.tags) for v in versions]
    version = versions[0]
    assert (
        version.tags[RUN_TAG] == f"{TRAIN}/{train_run}"
        and version.tags["mlgate.decision"] == "promote"
    )
    assert client.get_model_version_by_alias(MODEL, "champion").version == version.version
    run = client.get_run(version.run_id)
    assert run.info.status == "FINISHED"
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.artifact_location.startswith("mlflow-artifacts:"), (
        experiment.artifact_location
    )
    keys = [
        o["Key"]
        for page in boto3.client("s3")
        .get_paginator("list_objects_v2")
        .paginate(Bucket=ctx["bucket"], Prefix="mlflow/")
        for o in page.get("Contents", [])
    ]
    assert any(k.endswith(f"{version.run_id}/artifacts/lineage.json") for k in keys), keys[:20]
    assert any(k.endswith(f"{version.run_id}/artifacts/promotion_card.json") for k in keys), keys[
        :20
    ]
    assert any(k.endswith("/artifacts/MLmodel") for k in keys), keys[:20]
    assert not (ctx["home"] / "mlartifacts").exists() and not (ctx["home"] / "mlruns").exists()

    # the lake on S3, read from here as any other client would
    s3_lake = Lake.from_uri(f"s3://{ctx['bucket']}/lake")
    assert s3_lake.list_partitions("validated", MODEL) == DAYS
    assert s3_lake.list_partitions("outcomes", MODEL) == DAYS[:-1]
    lineage = s3_lake.read_lineage("validated", MODEL, DAYS[0])
    assert lineage["dag_id"] == INGEST and lineage["run_id"] == ingest_runs[0]
    assert s3_lake.exists("raw", MODEL, DAYS[0]) and not s3_lake.list_partitions(
        "quarantine", MODEL
    )

    # the broker's keys are all under the test's prefix (the teardown deletes exactly those)
    broker_keys = [k.decode() for k in redis_client(ctx["redis_db"]).scan_iter(count=1000)]
    assert broker_keys and all(k.startswith(ctx["key_prefix"]) for k in broker_keys), broker_keys[
        :10
    ]

    timings["total (with set-up)"] = time.monotonic() - ctx["started"]
    with capsys.disabled():
        print(
            f"\n[celery topology] tasks per worker: {dict(sorted(per_worker.items()))}; "
            f"retried: {retried or 'none'}; model v{version.version} ({len(keys)} objects under s3://{ctx['bucket']}/mlflow/)"
        )
        print("[celery topology] " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))


# ---- faults -------------------------------------------------------------------------


def tries(api: str, auth: dict, dag_id: str, run_id: str, task_id: str) -> list[dict]:
    answer = requests.get(
        f"{api}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/tries",
        headers=auth,
        timeout=30,
    )
    answer.raise_for_status()
    return sorted(answer.json()["task_instances"], key=lambda t: t["try_number"])


def candidate_runs(client, key: str) -> list:
    """The MLflow runs of the train DAG run `key` (dag_id/run_id), any status."""
    experiment = client.get_experiment_by_name(MODEL)
    if experiment is None:  # no candidate has started yet
        return []
    return client.search_runs(
        [experiment.experiment_id], filter_string=f"tags.`mlgate.airflow_run` = '{key}'"
    )


def unfinished_runs(client) -> list[str]:
    experiment = client.get_experiment_by_name(MODEL)
    return [
        f"{r.info.run_id} {r.info.status} {r.data.tags.get('mlgate.airflow_run')}"
        for r in client.search_runs([experiment.experiment_id], max_results=1000)
        if r.info.status == "RUNNING"
    ]


def test_a_worker_killed_while_training_the_task_is_retried_on_the_other_without_a_duplicate(
    topology, ingested, capsys
):
    """SIGKILL to a Celery worker's whole process group (the worker, its pool and the task
    runner: a machine lost) while `train_candidate` is inside its MLflow run. The scheduler
    fails the task once its heartbeats stop, the retry runs on the other worker, and the
    run ends with one model version and no MLflow run left RUNNING."""
    from mlflow.tracking import MlflowClient

    from mlgate.tracking import RUN_TAG

    ctx, api, top = topology, topology["api"], topology["top"]
    auth = login(ctx)
    client = MlflowClient(tracking_uri=ctx["mlflow"], registry_uri=ctx["mlflow"])
    # another seed: the same data and settings would reuse the version the first test trained
    conf = {"gray_zone": "refuse", "overrides": {"params": {"seed": 7}}}
    run_id = trigger(api, auth, TRAIN, "2013-01-07", conf)
    key = f"{TRAIN}/{run_id}"
    deadline = time.monotonic() + 300
    while (
        time.monotonic() < deadline
    ):  # the candidate's MLflow run has started: training is done, logging is on
        if any(r.info.status == "RUNNING" for r in candidate_runs(client, key)):
            break
        time.sleep(0.2)
    else:
        pytest.fail(
            f"train_candidate never started its MLflow run:\n{diagnose(ctx, auth, TRAIN, run_id)}"
        )
    victim = next(
        t for t in task_instances(api, auth, TRAIN, run_id) if t["task_id"] == "train_candidate"
    )["hostname"]
    assert victim in WORKERS
    survivor = next(w for w in WORKERS if w != victim)
    killed_at = time.monotonic()
    top.stop(victim, signal.SIGKILL)

    wait_runs(ctx, auth, TRAIN, [run_id], seconds=600)
    recovered = time.monotonic() - killed_at
    history = [
        (t["try_number"], t["hostname"], t["state"])
        for t in tries(api, auth, TRAIN, run_id, "train_candidate")
    ]
    assert history[0][:2] == (1, victim) and history[0][2] == "failed", history
    assert history[-1] == (2, survivor, "success"), history
    versions = [
        v for v in client.search_model_versions(f"name='{MODEL}'") if v.tags.get(RUN_TAG) == key
    ]
    assert len(versions) == 1, [(v.version, v.run_id) for v in versions]
    assert not unfinished_runs(client), unfinished_runs(client)
    statuses = sorted(r.info.status for r in candidate_runs(client, key))

    size = top.logs[victim].stat().st_size  # the lost worker comes back and joins again
    top.restart(victim)
    wait_log(" ready.", top.procs[victim], top.logs[victim], after=size)
    with capsys.disabled():
        print(
            f"\n[celery topology] {victim} killed in train_candidate's MLflow run; "
            f"tries {history}; run succeeded {recovered:.0f} s after the kill; "
            f"MLflow runs of the DAG run: {statuses}; "
            f"one version, v{versions[0].version}"
        )


def test_the_mlflow_server_down_for_a_while_the_run_still_completes(topology, ingested, capsys):
    """The MLflow server stops while `train_candidate` runs and comes back 45 s later (same
    database and bucket): the tasks wait or retry, the run succeeds, with one model version
    and no MLflow run left RUNNING."""
    from mlflow.tracking import MlflowClient

    from mlgate.tracking import RUN_TAG

    ctx, api, top = topology, topology["api"], topology["top"]
    auth = login(ctx)
    client = MlflowClient(tracking_uri=ctx["mlflow"], registry_uri=ctx["mlflow"])
    conf = {"gray_zone": "refuse", "overrides": {"params": {"seed": 8}}}  # a training of its own
    run_id = trigger(api, auth, TRAIN, "2013-01-08", conf)
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
    history = {
        t: [(x["try_number"], x["state"]) for x in tries(api, auth, TRAIN, run_id, t)]
        for t in ("train_candidate", "evaluate", "promote")
    }
    key = f"{TRAIN}/{run_id}"
    versions = [
        v for v in client.search_model_versions(f"name='{MODEL}'") if v.tags.get(RUN_TAG) == key
    ]
    assert len(versions) == 1, [(v.version, v.run_id) for v in versions]
    assert not unfinished_runs(client), unfinished_runs(client)
    with capsys.disabled():
        print(
            f"\n[celery topology] MLflow server down 45 s during train_candidate; tries {history}; "
            f"run succeeded {recovered:.0f} s after the stop; v{versions[0].version} "
            f"({versions[0].tags.get('mlgate.decision')})"
        )


# ---- secrets ------------------------------------------------------------------------

# what is read as text among the files a user can download (MLflow's `MLmodel` has no suffix)
TEXT_SUFFIXES = {".json", ".html", ".yaml", ".yml", ".txt", ".csv", ".log", ".md", ".ini", ".py"}


class SecretScan:
    """Looks for every marker, and the encoded forms it travels in (MLflow's login as an HTTP
    basic-auth header), in what it is shown; counts what it looked at, per place."""

    def __init__(self, markers: dict[str, str]):
        self.forms = {name: [mark.encode()] for name, mark in markers.items()}
        if "mlflow_password" in markers:
            self.forms["mlflow_password"].append(
                base64.b64encode(f"{MLFLOW_ADMIN}:{markers['mlflow_password']}".encode())
            )
        self.counts: collections.Counter = collections.Counter()
        self.sizes: collections.Counter = collections.Counter()
        self.leaks: list[str] = []

    def found(self, content: str | bytes) -> set[str]:
        data = content if isinstance(content, bytes) else content.encode("utf-8", "replace")
        return {name for name, forms in self.forms.items() if any(form in data for form in forms)}

    def look(self, place: str, item: str, content: str | bytes) -> None:
        data = content if isinstance(content, bytes) else content.encode("utf-8", "replace")
        self.counts[place] += 1
        self.sizes[place] += len(data)
        for name in sorted(self.found(data)):
            form = next(f for f in self.forms[name] if f in data)
            at = data.find(form)
            context = data[max(0, at - 160) : at + len(form) + 40].decode("utf-8", "replace")
            self.leaks.append(f"{name} in {place}: {item}: ...{context}...")


def topology_processes(top: Topology) -> dict[int, str]:
    """Every live process of the topology (each component started its own session), by pid:
    its command name."""
    sessions = {proc.pid: name for name, proc in top.procs.items()}
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[3]) in sessions:  # state, ppid, pgrp, session
            found[int(entry.name)] = sessions[int(fields[3])]
    return found


def read_proc(pid: int, what: str) -> bytes | None:
    try:
        return (Path("/proc") / str(pid) / what).read_bytes()
    except OSError:
        return None


def quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def test_no_secret_of_the_deployment_is_readable_where_users_look(
    topology, ingested, trained, tmp_path, capsys
):
    """Issue #6: the deployment's secrets come from the environment only, and never show in
    the task logs (on disk and through the REST API), the processes' output and command
    lines, the XComs and rendered fields, the MLflow runs (params, tags, metric names,
    datasets), models and their text artifacts, nor anywhere in the S3 bucket (the lake's
    reports and lineage, the artifact store). Runs on whatever the module's runs left
    (after the fault tests: three train runs, one with a killed try); each place must have
    been looked at, and the markers must be found where they belong: in the processes'
    environments (and the UI password file)."""
    import boto3
    import mlflow
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    ctx, api, top = topology, topology["api"], topology["top"]
    auth = login(ctx)
    scan = SecretScan(ctx["markers"])
    t0 = time.monotonic()

    # where they belong: the environment of the processes, and the UI's password file
    procs = topology_processes(top)
    environments = b"\0".join(read_proc(pid, "environ") or b"" for pid in procs)
    passwords = Path(ctx["env"]["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read_text()
    assert scan.found(environments) | scan.found(passwords) == set(ctx["markers"]), (
        "the grep does not find "
        f"{set(ctx['markers']) - scan.found(environments) - scan.found(passwords)} "
        "where they are set"
    )
    assert scan.found(passwords) == {"airflow_ui_password"}
    assert (
        login(ctx)
        and requests.post(
            f"{api}/auth/token", json={"username": UI_USER, "password": "admin"}, timeout=10
        ).status_code
        == 401
    )  # the marker is the password in use

    # processes: their command lines (`ps` shows them to every user of the host) and output
    for pid, name in procs.items():
        cmdline = read_proc(pid, "cmdline")
        if cmdline is not None:
            scan.look(
                "process command lines",
                f"{name} pid {pid}: {cmdline[:100]!r}",
                cmdline.replace(b"\0", b" "),
            )
    for log in sorted(
        [*ctx["home"].glob("*.log"), *([ctx["moto_log"]] if ctx["moto_log"] else [])]
    ):
        scan.look("process output (stdout/stderr)", log.name, log.read_bytes())

    # Airflow's log folder: every task try's log, and the components' own
    logs = Path(ctx["env"]["AIRFLOW_HOME"]) / "logs"
    for path in sorted(p for p in logs.rglob("*") if p.is_file()):
        place = (
            "Airflow log folder: task logs"
            if "dag_id=" in path.parts[len(logs.parts)]
            else "Airflow log folder: components"
        )
        scan.look(place, str(path.relative_to(logs)), path.read_bytes())

    # Airflow's REST API: every try's log, task instances (rendered fields), XComs, runs, events
    tis = task_instances(api, auth)
    for ti in tis:
        scan.look(
            "Airflow REST: task instances (rendered fields)",
            f"{ti['dag_id']}/{ti['dag_run_id']}/{ti['task_id']}",
            json.dumps(ti),
        )
        for number in range(1, ti["try_number"] + 1):
            answer = requests.get(
                f"{api}/api/v2/dags/{ti['dag_id']}/dagRuns/{quoted(ti['dag_run_id'])}/taskInstances/"
                f"{ti['task_id']}/logs/{number}",
                params={"full_content": "true"},
                headers={**auth, "Accept": "application/json"},
                timeout=60,
            )
            answer.raise_for_status()
            assert answer.json()["content"], (
                f"empty log: {ti['dag_id']}/{ti['dag_run_id']}/{ti['task_id']} try {number}"
            )
            scan.look(
                "Airflow REST: task logs",
                f"{ti['dag_id']}/{ti['dag_run_id']}/{ti['task_id']} try {number}",
                answer.text,
            )
    answer = requests.get(
        f"{api}/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries",
        params={"limit": 1000},
        headers=auth,
        timeout=30,
    )
    answer.raise_for_status()
    for entry in answer.json()["xcom_entries"]:
        value = requests.get(
            f"{api}/api/v2/dags/{entry['dag_id']}/dagRuns/{quoted(entry['run_id'])}/taskInstances/"
            f"{entry['task_id']}/xcomEntries/{quoted(entry['key'])}",
            params={"map_index": entry["map_index"]},
            headers=auth,
            timeout=30,
        )
        value.raise_for_status()
        scan.look(
            "Airflow REST: XComs",
            f"{entry['dag_id']}/{entry['run_id']}/{entry['task_id']}/{entry['key']}",
            value.text,
        )
    for path in (
        "dags/~/dagRuns",
        "eventLogs",
        "config",
        "connections",
        "variables",
        "importErrors",
        f"dags/{INGEST}/details",
        f"dags/{TRAIN}/details",
    ):
        answer = requests.get(
            f"{api}/api/v2/{path}",
            params={"limit": 1000} if "details" not in path else None,
            headers=auth,
            timeout=30,
        )
        scan.look(
            "Airflow REST: runs (conf), event log, config, connections, variables",
            f"{path} ({answer.status_code})",
            answer.text,
        )

    # MLflow, through its server: experiments, runs, logged and registered models, artifacts
    client = MlflowClient(tracking_uri=ctx["mlflow"], registry_uri=ctx["mlflow"])
    experiments = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in experiments]
    place = "MLflow: params, tags, metric names, datasets, model versions"
    for exp in experiments:
        scan.look(
            place,
            f"experiment {exp.name}",
            json.dumps({"name": exp.name, "tags": exp.tags, "location": exp.artifact_location}),
        )
    runs = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000)
    for run in runs:
        datasets = [
            {"dataset": dict(d.dataset), "tags": {t.key: t.value for t in d.tags}}
            for d in run.inputs.dataset_inputs
        ]
        scan.look(
            place,
            f"run {run.info.run_id} ({run.info.status})",
            json.dumps(
                {
                    "name": run.info.run_name,
                    "params": run.data.params,
                    "tags": run.data.tags,
                    "metrics": sorted(run.data.metrics),
                    "datasets": datasets,
                },
                default=str,
            ),
        )
    logged = client.search_logged_models(experiment_ids=ids)
    for model in logged:
        scan.look(
            place,
            f"logged model {model.model_id}",
            json.dumps(
                {
                    "name": model.name,
                    "params": model.params,
                    "tags": model.tags,
                    "metrics": sorted(m.key for m in model.metrics or []),
                    "location": model.artifact_location,
                }
            ),
        )
    for registered in client.search_registered_models():
        scan.look(
            place,
            f"registered model {registered.name}",
            json.dumps(
                {
                    "tags": registered.tags,
                    "description": registered.description,
                    "aliases": registered.aliases,
                },
                default=str,
            ),
        )
    versions = client.search_model_versions(f"name='{MODEL}'")
    for version in versions:
        scan.look(
            place,
            f"{MODEL} v{version.version}",
            json.dumps(
                {
                    "tags": version.tags,
                    "description": version.description,
                    "source": version.source,
                    "aliases": version.aliases,
                }
            ),
        )
    downloads = {
        f"run {r.info.run_id}": {"run_id": r.info.run_id}
        for r in runs
        if client.list_artifacts(r.info.run_id)
    }
    downloads.update(
        {
            f"{MODEL} v{v.version}": {
                "artifact_uri": client.get_model_version_download_uri(MODEL, v.version)
            }
            for v in versions
        }
    )
    binary = 0
    for n, (what, where) in enumerate(downloads.items()):
        folder = Path(
            mlflow.artifacts.download_artifacts(
                **where, dst_path=str(tmp_path / f"artifacts-{n}"), tracking_uri=ctx["mlflow"]
            )
        )
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.suffix.lower() in TEXT_SUFFIXES or path.name == "MLmodel":
                scan.look(
                    "MLflow: text artifacts (downloaded through the server)",
                    f"{what}: {path.relative_to(folder)}",
                    path.read_bytes(),
                )
            else:
                binary += 1

    # the bucket, read from moto as any S3 client would: the lake (reports, lineage, data) and
    # the MLflow artifact store
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=ctx["bucket"]):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            place = (
                "S3 lake: lineage (_lineage.json)"
                if key.endswith("_lineage.json")
                else "S3 lake: reports zone"
                if key.startswith("lake/reports/")
                else "S3 lake: other zones"
                if key.startswith("lake/")
                else "S3: MLflow artifact store"
            )
            scan.look(place, key, s3.get_object(Bucket=ctx["bucket"], Key=key)["Body"].read())

    seconds = time.monotonic() - t0
    with capsys.disabled():
        print(
            f"\n[celery topology] secrets: looked for {len(ctx['markers'])} markers "
            f"({', '.join(sorted(ctx['markers']))}) in {sum(scan.counts.values())} items, "
            f"{sum(scan.sizes.values()) / 1e6:.1f} MB, in {seconds:.0f} s:"
        )
        for place in sorted(scan.counts):
            print(f"  {place}: {scan.counts[place]} ({scan.sizes[place] / 1e3:.0f} kB)")
        print(
            f"  (MLflow: {len(runs)} runs, {len(logged)} logged models, {len(versions)} versions; "
            f"{binary} binary artifacts not read)"
        )
        for name, why in ctx["unmarked"].items():
            print(f"  not marked: {name}: {why}")
        print(f"  found: {len(scan.leaks)}" + "".join(f"\n    {leak}" for leak in scan.leaks))
    expected = {
        "process command lines",
        "process output (stdout/stderr)",
        "Airflow log folder: task logs",
        "Airflow REST: task instances (rendered fields)",
        "Airflow REST: task logs",
        "Airflow REST: XComs",
        "Airflow REST: runs (conf), event log, config, connections, variables",
        "MLflow: params, tags, metric names, datasets, model versions",
        "MLflow: text artifacts (downloaded through the server)",
        "S3 lake: lineage (_lineage.json)",
        "S3 lake: reports zone",
        "S3 lake: other zones",
        "S3: MLflow artifact store",
    }
    assert not expected - set(scan.counts), f"nothing looked at in {expected - set(scan.counts)}"
    assert not scan.leaks, "secrets readable:\n" + "\n".join(scan.leaks)


def test_only_the_service_account_moves_an_alias(topology):
    """With the deployment's MLflow login settings, a person's account (created by the admin,
    permission READ by default) cannot move `@champion` outside the gate; mlgate's service
    account can."""
    mlflow, env = topology["mlflow"], topology["env"]
    service = (env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"])
    api = f"{mlflow}/api/2.0/mlflow"
    person = ("scientist", "a-long-enough-password-1")
    requests.post(
        f"{api}/users/create",
        json={"username": person[0], "password": person[1]},
        auth=service,
        timeout=30,
    ).raise_for_status()
    model = "permission-probe"
    requests.post(
        f"{api}/registered-models/create", json={"name": model}, auth=service, timeout=30
    ).raise_for_status()
    requests.post(
        f"{api}/model-versions/create",
        json={"name": model, "source": f"s3://{topology['bucket']}/probe"},
        auth=service,
        timeout=30,
    ).raise_for_status()
    alias = {"name": model, "alias": "champion", "version": "1"}
    refused = requests.post(f"{api}/registered-models/alias", json=alias, auth=person, timeout=30)
    assert refused.status_code == 403, refused.text
    readable = requests.get(
        f"{api}/registered-models/get", params={"name": model}, auth=person, timeout=30
    )
    assert readable.status_code == 200 and "aliases" not in readable.json()["registered_model"]
    moved = requests.post(f"{api}/registered-models/alias", json=alias, auth=service, timeout=30)
    assert moved.status_code == 200, moved.text
