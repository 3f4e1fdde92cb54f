"""Settings from environment variables, with safe local defaults.

| variable              | default                                   |
|-----------------------|-------------------------------------------|
| MLGATE_HOME           | ./.mlgate (the demo's state)              |
| MLGATE_LAKE_URI       | file://$MLGATE_HOME/lake, or s3://bucket/prefix |
| MLFLOW_TRACKING_URI   | sqlite:///$MLGATE_HOME/mlflow.db          |
| MLGATE_ARTIFACTS_URI  | $MLGATE_HOME/mlartifacts (new experiments)|
| MLGATE_SPECS_DIR      | include/specs next to the package         |
| MLGATE_DASK_SCHEDULER | unset; the Dask scheduler's address       |
| MLGATE_AIRFLOW_URL    | AIRFLOW__API__BASE_URL, else http://localhost:8080 |
| MLGATE_MLFLOW_UI_URL  | the tracking server when http(s), else http://localhost:5000 |

MLGATE_MLFLOW_UI_URL is where a person's browser reaches the MLflow UI (`make up` serves it
on port 5000): the Airflow plugin's links to runs and model versions start with it.

With an http(s) MLFLOW_TRACKING_URI (an `mlflow server`) and MLGATE_ARTIFACTS_URI unset,
new experiments get the server's artifact location (`--artifacts-destination`, proxied to
the clients as `mlflow-artifacts:/`): only the server needs the artifact store's credentials.

A spec with `training.engine: dask` trains on the Dask cluster whose scheduler is at
MLGATE_DASK_SCHEDULER (`tcp://dask-scheduler:8786` in docker/docker-compose.yaml).

MLGATE_AIRFLOW_URL is the Airflow UI as a person's browser reaches it: the MLflow runs and
model versions link back to their Airflow run there (`<url>/dags/<dag_id>/runs/<run_id>`,
Airflow 3's UI route). Unset, it is Airflow's own `[api] base_url` (AIRFLOW__API__BASE_URL,
which `mlgate up` sets); set it when that one names a host only the workers reach.

An S3 lake reads the standard AWS variables through boto3 (endpoint, region,
credentials, retries): see `mlgate.lake.s3.s3_client`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # include/mlgate
DEFAULT_SPECS_DIR = PACKAGE_DIR.parent / "specs"
DEFAULT_AIRFLOW_URL = "http://localhost:8080"  # `airflow standalone`, `mlgate up`, docker


@dataclass(frozen=True)
class Settings:
    home: Path
    lake_uri: str
    tracking_uri: str
    artifacts_uri: str | None  # None: the tracking server places new experiments' artifacts
    specs_dir: Path
    dask_scheduler: str | None = None  # a spec with training.engine: dask trains there
    airflow_url: str = DEFAULT_AIRFLOW_URL  # the Airflow UI, for links back from MLflow
    mlflow_ui_url: str = "http://localhost:5000"  # the MLflow UI, for links from Airflow


def load_settings(env: dict | None = None) -> Settings:
    """Read the settings from the environment (or from `env` when given)."""
    env = os.environ if env is None else env
    home = Path(env.get("MLGATE_HOME") or Path.cwd() / ".mlgate").resolve()
    tracking_uri = env.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
    return Settings(
        home=home,
        lake_uri=env.get("MLGATE_LAKE_URI") or f"file://{home / 'lake'}",
        tracking_uri=tracking_uri,
        artifacts_uri=env.get("MLGATE_ARTIFACTS_URI")
        or (None if is_tracking_server(tracking_uri) else str(home / "mlartifacts")),
        specs_dir=Path(env.get("MLGATE_SPECS_DIR") or DEFAULT_SPECS_DIR).resolve(),
        dask_scheduler=env.get("MLGATE_DASK_SCHEDULER") or None,
        airflow_url=(
            env.get("MLGATE_AIRFLOW_URL")
            or env.get("AIRFLOW__API__BASE_URL")
            or DEFAULT_AIRFLOW_URL
        ).rstrip("/"),
        mlflow_ui_url=(
            env.get("MLGATE_MLFLOW_UI_URL")
            or (tracking_uri if is_tracking_server(tracking_uri) else "http://localhost:5000")
        ).rstrip("/"),
    )


def is_tracking_server(tracking_uri: str) -> bool:
    """True for an MLflow tracking server (http or https): it stores the artifacts of new
    experiments where it was told to (`mlflow server --artifacts-destination`, served to the
    clients as `mlflow-artifacts:/` URIs), so mlgate leaves their location to it."""
    return tracking_uri.split(":", 1)[0].lower() in ("http", "https")
