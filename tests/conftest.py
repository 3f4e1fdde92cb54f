"""Test set-up: every test session gets its own mlgate home (lake, MLflow SQLite store,
Airflow home with a SQLite metadata DB), set in the environment before Airflow is
imported anywhere. Nothing outside that temporary folder is touched."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

SESSION_HOME = Path(tempfile.mkdtemp(prefix="mlgate-tests-"))
os.environ.update({
    "MLGATE_HOME": str(SESSION_HOME),
    "MLGATE_LAKE_URI": f"file://{SESSION_HOME / 'lake'}",
    "MLFLOW_TRACKING_URI": f"sqlite:///{SESSION_HOME / 'mlflow.db'}",
    "MLGATE_ARTIFACTS_URI": str(SESSION_HOME / "mlartifacts"),
    "GIT_PYTHON_REFRESH": "quiet",
})
from mlgate.airflow_env import airflow_env  # noqa: E402  (after MLGATE_HOME is set)
from mlgate.settings import load_settings  # noqa: E402

os.environ.update(airflow_env(load_settings()))


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def spec():
    from mlgate.spec import load_spec

    return load_spec("flights")


@pytest.fixture
def lake(tmp_path):
    from mlgate.lake import Lake

    return Lake.from_uri(f"file://{tmp_path / 'lake'}")


@pytest.fixture
def isolated_settings(tmp_path, monkeypatch):
    """Settings (lake, MLflow store) of their own for one test."""
    env = {"MLGATE_HOME": str(tmp_path), "MLGATE_LAKE_URI": f"file://{tmp_path / 'lake'}",
           "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "MLGATE_ARTIFACTS_URI": str(tmp_path / "mlartifacts")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings()


@pytest.fixture(scope="session")
def airflow_db():
    """The session's Airflow metadata DB, migrated once."""
    from mlgate.airflow_env import apply

    apply(load_settings())
    return SESSION_HOME / "airflow" / "airflow.db"


def spec_with(spec, **promotion):
    """A copy of `spec` with other promotion rules (for the tests of the gate)."""
    import copy

    from mlgate.spec import Spec

    raw = copy.deepcopy(spec.raw)
    raw["evaluation"]["promotion"].update(promotion)
    return Spec(name=spec.name, raw=raw, path=spec.path)
