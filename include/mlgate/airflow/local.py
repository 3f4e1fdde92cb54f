"""The Airflow environment of the demo, `make up` and the tests: a home under
MLGATE_HOME (unless the user set AIRFLOW_HOME), the project's dags/ and plugins/ folders,
SQLite metadata, no examples; the user's own AIRFLOW__* settings win. Must be applied
before Airflow is imported."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from mlgate.config.settings import PACKAGE_DIR, Settings

DAGS_FOLDER = Path(
    os.environ.get("MLGATE_DAGS_FOLDER") or PACKAGE_DIR.parent.parent / "dags"
).resolve()
PLUGINS_FOLDER = (PACKAGE_DIR.parent.parent / "plugins").resolve()  # registers the timetable
UI_USER, UI_PASSWORD = "admin", "admin"
# SQLite metadata DB shared by the scheduler, the API server and CLI commands: wait for a
# lock (60 s) instead of failing after sqlite3's default 5 s ("database is locked").
SQLITE_CONNECT_ARGS = {"timeout": 60}


def airflow_env(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables for a local Airflow on the mlgate home (SimpleAuthManager,
    login admin/admin: local use only, the production compose file sets its own).

    What the user already set in `environ` (by default this process's environment) wins:
    an `AIRFLOW_HOME` (the home, its SQLite DB and password file go there instead of
    MLGATE_HOME/airflow) and any `AIRFLOW__SECTION__KEY`. Pass `environ={}` for an
    environment made from `settings` alone (an isolated Airflow)."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("AIRFLOW_HOME") or settings.home / "airflow")
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{UI_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
            home / "simple_auth_manager_passwords.json"
        ),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "MLGATE_HOME": str(settings.home),
        "MLGATE_LAKE_URI": settings.lake_uri,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLGATE_MLFLOW_UI_URL": settings.mlflow_ui_url,  # the plugin's links to MLflow
        "GIT_PYTHON_REFRESH": "quiet",
        # unset with a tracking server: the server places the artifacts (see settings)
        **({"MLGATE_ARTIFACTS_URI": settings.artifacts_uri} if settings.artifacts_uri else {}),
        **({"MLGATE_DASK_SCHEDULER": settings.dask_scheduler} if settings.dask_scheduler else {}),
    }
    env.update({k: v for k, v in environ.items() if k.startswith("AIRFLOW__") and v})
    if env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite"):
        connect_args = "mlgate.airflow.local.SQLITE_CONNECT_ARGS"
        for key in ("SQL_ALCHEMY_CONNECT_ARGS", "SQL_ALCHEMY_CONNECT_ARGS_ASYNC"):
            env.setdefault(f"AIRFLOW__DATABASE__{key}", connect_args)
    return env


def apply(settings: Settings) -> dict[str, str]:
    """Put the environment in place for this process and its children, write the
    UI password file (unless the user names their own), and migrate the metadata database."""
    env = airflow_env(settings)
    os.environ.update(env)
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    passwords = Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
    if home == settings.home / "airflow" or not passwords.exists():  # never the user's own
        passwords.write_text(f'{{"{UI_USER}": "{UI_PASSWORD}"}}')
    db = home / "airflow.db"
    if env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] != f"sqlite:///{db}" or not db.exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return env
