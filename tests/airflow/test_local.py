"""The local Airflow environment keeps what the user set (AIRFLOW_HOME, AIRFLOW__* settings)
and fills in the rest under MLGATE_HOME; the tests never see the developer's own."""

from __future__ import annotations

import os
import subprocess
import sys

from mlgate.airflow.local import airflow_env
from tests.helpers import REPO


def test_a_user_airflow_home_and_settings_are_kept(isolated_settings, tmp_path, monkeypatch):
    own = tmp_path / "my-airflow"
    user = {"AIRFLOW_HOME": str(own), "AIRFLOW__CORE__PARALLELISM": "3", "HOME": "/home/x"}
    env = airflow_env(isolated_settings, environ=user)
    assert env["AIRFLOW_HOME"] == str(own)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{own / 'airflow.db'}"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"].startswith(str(own))
    assert env["AIRFLOW__CORE__PARALLELISM"] == "3"
    assert env["MLGATE_HOME"] == str(isolated_settings.home)  # mlgate's own home stays
    assert "HOME" not in env
    # by default the user's settings are this process's environment
    monkeypatch.setenv("AIRFLOW_HOME", str(own))
    assert airflow_env(isolated_settings)["AIRFLOW_HOME"] == str(own)


def test_without_them_airflow_lives_under_the_mlgate_home(isolated_settings):
    env = airflow_env(isolated_settings, environ={})
    home = isolated_settings.home / "airflow"
    assert env["AIRFLOW_HOME"] == str(home)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home / 'airflow.db'}"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS"].endswith("SQLITE_CONNECT_ARGS")
    assert env["AIRFLOW__CORE__PLUGINS_FOLDER"] == str(REPO / "plugins")


def test_a_user_database_gets_no_sqlite_arguments(isolated_settings):
    conn = "postgresql+psycopg2://airflow@db:5432/airflow"
    env = airflow_env(isolated_settings, environ={"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": conn})
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == conn
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS" not in env


def test_the_developer_airflow_home_does_not_reach_the_tests(tmp_path):
    """The test session's set-up (tests/conftest.py) under a shell with its own Airflow:
    the session still gets an Airflow home of its own."""
    probe = (
        "import os, shutil, tests.conftest as c; "
        "print(os.environ['AIRFLOW_HOME']); print(c.SESSION_HOME); "
        "print(os.environ.get('AIRFLOW__CORE__EXECUTOR', '-')); "
        "shutil.rmtree(c.SESSION_HOME)"
    )
    shell = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "developer-airflow"),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
    }
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=shell,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    home, session, executor = done.stdout.split()
    assert home == os.path.join(session, "airflow")
    assert executor == "-"
