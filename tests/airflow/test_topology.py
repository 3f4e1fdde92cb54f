"""The production topology's environment: the Celery executor, the workers, the MLflow server."""

from mlgate.airflow.topology import (
    celery_env,
    mlflow_server_command,
    mlflow_server_env,
    new_secrets,
    worker_env,
    worker_hostname,
)
from mlgate.config.settings import load_settings


def test_the_celery_topology_environment(tmp_path):
    settings = load_settings(
        {
            "MLGATE_HOME": str(tmp_path),
            "MLGATE_LAKE_URI": "s3://lake/x",
            "MLFLOW_TRACKING_URI": "http://mlflow:5000",
        }
    )
    keys = new_secrets()
    assert keys != new_secrets() and all(len(v) >= 32 for v in keys.values())
    env = celery_env(
        settings,
        database_uri="postgresql+psycopg2://airflow@db:5432/airflow",
        broker_url="redis://redis:6379/0",
        api_url="http://api:8080/",
        **keys,
    )
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert (
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        == "postgresql+psycopg2://airflow@db:5432/airflow"
    )
    assert (
        env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql+psycopg2://airflow@db:5432/airflow"
    )
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api:8080/execution/"
    assert (
        env["AIRFLOW__API_AUTH__JWT_SECRET"] == keys["jwt_secret"]
        and env["AIRFLOW__CORE__FERNET_KEY"] == keys["fernet_key"]
    )
    assert not any(
        k.startswith("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS") for k in env
    )  # SQLite's lock timeout
    assert (
        env["MLGATE_LAKE_URI"] == "s3://lake/x"
        and env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    )
    assert "MLGATE_ARTIFACTS_URI" not in env

    one = worker_env(env, "worker1", 8801)
    assert (
        one["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] == "8801"
        and "MLGATE_WORKER_HOSTNAME" not in env
    )


def test_worker_hostname(monkeypatch):
    import socket

    monkeypatch.delenv("MLGATE_WORKER_HOSTNAME", raising=False)
    assert worker_hostname() == socket.getfqdn()
    monkeypatch.setenv("MLGATE_WORKER_HOSTNAME", "worker2")
    assert worker_hostname() == "worker2"


def test_the_mlflow_server_serves_the_artifacts_from_s3():
    cmd = mlflow_server_command("s3://bucket/mlflow", port=5001)
    assert cmd[1:4] == ["-m", "mlflow", "server"]
    assert (
        cmd[cmd.index("--artifacts-destination") + 1] == "s3://bucket/mlflow"
        and "--serve-artifacts" in cmd
    )
    assert cmd[cmd.index("--port") + 1] == "5001" and "--app-name" not in cmd
    assert mlflow_server_command("s3://bucket/mlflow", app_name="basic-auth")[-2:] == [
        "--app-name",
        "basic-auth",
    ]


def test_the_mlflow_server_database_password_stays_off_the_command_line():
    """`ps` shows every process's command line to every user of the host: the database URL,
    which holds the password, goes in the server's environment (as in docker-compose.yaml)."""
    url = "postgresql+psycopg2://mlflow:SECRET-pw@db:5432/mlflow"
    assert mlflow_server_env(url) == {"MLFLOW_BACKEND_STORE_URI": url}
    assert not any(
        "SECRET-pw" in arg or "--backend-store-uri" in arg
        for arg in mlflow_server_command("s3://bucket/mlflow")
    )
