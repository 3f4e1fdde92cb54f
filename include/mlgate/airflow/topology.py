"""The production topology, as environment variables and commands: Airflow on PostgreSQL
with the CeleryExecutor and a Redis broker, MLflow as a tracking server (PostgreSQL
backend, artifacts on S3 proxied by the server), the lake on S3. mlgate itself runs there
unchanged: its settings (`MLGATE_LAKE_URI=s3://...`, `MLFLOW_TRACKING_URI=http://...`)
and the standard AWS variables are all it reads.

The integration test (tests/integration/test_celery_topology.py) starts exactly this on
real PostgreSQL and Redis servers; the README's "Production topology" lists the variables.

- `celery_env(settings, ...)`: `airflow_env(settings)` (home, dags folder, mlgate
  settings) with what the topology changes: executor, metadata DB, broker, result backend,
  the Execution API's URL, and the secrets every component must share.
- `worker_env(env, name, log_server_port)`: one Celery worker's additions, when several
  share a host.
- `airflow_command(...)`, `mlflow_server_command(...)`: the processes to start;
  `mlflow_server_env(...)`: the MLflow server's database, which stays off its command line.
- `new_secrets()`: a fresh JWT secret, API secret key and Fernet key (never logged).

No secret goes on a command line: the secrets and every URL that holds a password (the
metadata DB, the broker, the MLflow server's database) are environment variables.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys

from mlgate.airflow.local import airflow_env
from mlgate.config.settings import Settings

# SQLite-only settings of the embedded default that a PostgreSQL metadata DB must not get
_SQLITE_ONLY = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC",
)
WORKER_NAME_VARIABLE = "MLGATE_WORKER_HOSTNAME"


def new_secrets() -> dict[str, str]:
    """Fresh shared secrets: `jwt_secret` (the API server checks the tokens that the
    scheduler gives each task), `api_secret_key`, and `fernet_key` (connections and
    variables encrypted in the metadata DB). Every component must get the same values."""
    from cryptography.fernet import Fernet

    return {
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
        "fernet_key": Fernet.generate_key().decode(),
    }


def celery_env(
    settings: Settings,
    *,
    database_uri: str,
    broker_url: str,
    api_url: str,
    jwt_secret: str,
    api_secret_key: str,
    fernet_key: str,
    result_backend: str | None = None,
    worker_concurrency: int = 2,
) -> dict[str, str]:
    """The environment of every Airflow component (API server, scheduler, DAG processor,
    triggerer, Celery workers) of the production topology.

    `database_uri`: the metadata DB, `postgresql+psycopg2://user@host:5432/airflow`
    (Airflow derives its async engine, `postgresql+asyncpg`, from it). `broker_url`:
    `redis://host:6379/0`. `api_url`: the API server as the workers reach it (its
    `/execution/` API is where tasks report). `result_backend`: Celery's task results,
    by default in the metadata DB (`db+` and `database_uri`). The mlgate settings
    (lake, tracking URI, specs) come from `settings`, as in `airflow_env`."""
    # from the arguments alone: not this process's AIRFLOW_HOME or AIRFLOW__* settings
    env = {k: v for k, v in airflow_env(settings, environ={}).items() if k not in _SQLITE_ONLY}
    api_url = api_url.rstrip("/")
    env.update(
        {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_uri,
            "AIRFLOW__CELERY__BROKER_URL": broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": result_backend or f"db+{database_uri}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": jwt_secret,
            "AIRFLOW__API__SECRET_KEY": api_secret_key,
            "AIRFLOW__CORE__FERNET_KEY": fernet_key,
        }
    )
    return env


def worker_hostname() -> str:
    """Airflow's `[core] hostname_callable` for workers: `MLGATE_WORKER_HOSTNAME` when set
    (several workers on one host, each named in its task instances' `hostname`), else
    the host's FQDN as Airflow's default."""
    return os.environ.get(WORKER_NAME_VARIABLE) or socket.getfqdn()


def worker_env(env: dict[str, str], name: str, log_server_port: int) -> dict[str, str]:
    """`env` for one Celery worker among several on the same host: its name in the task
    instances (see `worker_hostname`) and its own port for serving task logs."""
    return {
        **env,
        WORKER_NAME_VARIABLE: name,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "mlgate.airflow.topology.worker_hostname",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_server_port),
    }


def airflow_command(*args: str) -> list[str]:
    """`airflow ARGS` with this interpreter, e.g. `airflow_command("celery", "worker",
    "--celery-hostname", "worker1@%h")`."""
    return [sys.executable, "-m", "airflow", *args]


def mlflow_server_command(
    artifacts_destination: str,
    *,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    app_name: str | None = None,
) -> list[str]:
    """`mlflow server` that serves the artifacts itself from `artifacts_destination`
    (`s3://bucket/mlflow`): new experiments get `mlflow-artifacts:/` locations, clients upload
    and download through the server, and only the server needs the S3 settings (the AWS
    variables, or `MLFLOW_S3_ENDPOINT_URL` for MinIO or moto). Its database comes from
    `mlflow_server_env`, in the environment: never on the command line, which `ps` shows to
    every user of the host. `app_name="basic-auth"`: with MLflow's login (its settings from
    `MLFLOW_AUTH_CONFIG_PATH` and `MLFLOW_AUTH_ADMIN_USERNAME` / `_PASSWORD`)."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--serve-artifacts",
        "--artifacts-destination",
        artifacts_destination,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        *(["--app-name", app_name] if app_name else []),
    ]


def mlflow_server_env(backend_store_uri: str) -> dict[str, str]:
    """The environment that gives `mlflow server` its database,
    `postgresql+psycopg2://user:password@host:5432/mlflow` (name the driver: SQLAlchemy 2.1's
    default for `postgresql://` is psycopg 3). In the environment, as the production compose
    file does, because the URL holds the database password."""
    return {"MLFLOW_BACKEND_STORE_URI": backend_store_uri}
