"""The Airflow environment of the demo, `make up` and the tests: a home under
MLGATE_HOME, the project's dags/ and plugins/ folders, SQLite metadata, no examples. Must be applied
before Airflow is imported."""

from __future__ import annotations

import os
import subprocess
import sys
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


def airflow_env(settings: Settings) -> dict[str, str]:
    """Environment variables for a local Airflow on the mlgate home (SimpleAuthManager,
    login admin/admin: local use only, the production compose file sets its own)."""
    home = settings.home / "airflow"
    connect_args = "mlgate.airflow.local.SQLITE_CONNECT_ARGS"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS": connect_args,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS_ASYNC": connect_args,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{UI_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(
            home / "simple_auth_manager_passwords.json"
        ),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "MLGATE_HOME": str(settings.home),
        "MLGATE_LAKE_URI": settings.lake_uri,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "GIT_PYTHON_REFRESH": "quiet",
        # unset with a tracking server: the server places the artifacts (see settings)
        **({"MLGATE_ARTIFACTS_URI": settings.artifacts_uri} if settings.artifacts_uri else {}),
    }


def apply(settings: Settings) -> dict[str, str]:
    """Put the environment in place for this process and its children, write the
    UI password file, and migrate the metadata database."""
    env = airflow_env(settings)
    os.environ.update(env)
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).write_text(
        f'{{"{UI_USER}": "{UI_PASSWORD}"}}'
    )
    if not (home / "airflow.db").exists():
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            check=True,
            env=os.environ.copy(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return env
