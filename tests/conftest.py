"""Test set-up: every test session gets its own mlgate home (lake, MLflow SQLite store,
Airflow home with a SQLite metadata DB), set in the environment before Airflow is
imported anywhere. Nothing outside that temporary folder is touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.helpers import chromium_path, free_port, home_env, missing_browser, stop_processes

SESSION_HOME = Path(tempfile.mkdtemp(prefix="mlgate-tests-"))
# airflow_env keeps an AIRFLOW_HOME or AIRFLOW__* setting already in the environment: the
# developer's own (their shell's Airflow) must not reach the tests, which get their own.
for _name in [n for n in os.environ if n == "AIRFLOW_HOME" or n.startswith("AIRFLOW__")]:
    del os.environ[_name]
os.environ.update({**home_env(SESSION_HOME), "GIT_PYTHON_REFRESH": "quiet"})
S3_TEST_BUCKET = "mlgate-tests"
from mlgate.airflow.local import airflow_env  # noqa: E402  (after MLGATE_HOME is set)
from mlgate.config.settings import load_settings  # noqa: E402

os.environ.update(airflow_env(load_settings()))


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(SESSION_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def spec():
    from mlgate.config.spec import load_spec

    return load_spec("flights")


@pytest.fixture
def lake(tmp_path):
    from mlgate.lake.store import Lake

    return Lake.from_uri(f"file://{tmp_path / 'lake'}")


@contextmanager
def _own_home(home: Path):
    """The environment names a home of its own under `home` (lake, MLflow store, artifacts)
    while the block runs; after it, the session's, MLflow's tracking URI included
    (`mlflow.set_tracking_uri`, which `mlgate.tracking.connect` calls, keeps the last URI
    in MLflow's module state and in MLFLOW_TRACKING_URI)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in home_env(home).items():
            patch.setenv(name, value)
        yield load_settings()
    if "mlflow" in sys.modules:
        sys.modules["mlflow"].set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])


@pytest.fixture
def isolated_settings(tmp_path):
    """Settings (lake, MLflow store) of their own for one test, in the environment too."""
    with _own_home(tmp_path) as settings:
        yield settings


@pytest.fixture(scope="module")
def module_settings(request, tmp_path_factory):
    """Settings (lake, MLflow store) of their own for one test module, in the environment
    too while the module runs: a subprocess, a DAG run or `load_settings()` sees them."""
    home = tmp_path_factory.mktemp(request.module.__name__.rsplit(".", 1)[-1])
    with _own_home(home) as settings:
        yield settings


@pytest.fixture(scope="session")
def airflow_db():
    """The session's Airflow metadata DB, migrated once."""
    from mlgate.airflow.local import apply

    apply(load_settings())
    return SESSION_HOME / "airflow" / "airflow.db"


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright: skipped with what to install when
    either is missing (under CI=true it fails instead: `.ci/run` installs chromium)."""
    missing = missing_browser()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser test must run under CI; missing: {missing}")
        pytest.skip(f"the browser test needs {missing}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(
            executable_path=chromium_path(), args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


# ---- S3: moto's server, a real separate process over HTTP --------------------


def _moto_unavailable(why: str):
    if os.environ.get("CI"):
        pytest.fail(f"moto's S3 server must run under CI: {why}")
    pytest.skip(
        f"moto's S3 server is not available here ({why}); "
        "`make install` installs it (dev extras: moto[server])"
    )


@pytest.fixture(scope="session")
def start_moto():
    """`start_moto(**env)` starts `python -m moto.server` on a free port (with `env` added to
    its environment), waits until it answers and returns its URL. Every server is stopped at
    the end of the session. Skips when moto's server cannot start (fails when CI is set)."""
    servers = []

    def start(**env) -> str:
        port = free_port()
        log = SESSION_HOME / f"moto-{port}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        servers.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                _moto_unavailable(
                    f"`python -m moto.server` exited with {proc.returncode}: "
                    f"{log.read_text()[-500:]}"
                )
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                return url
            except OSError:
                time.sleep(0.1)
        _moto_unavailable(f"`python -m moto.server` did not answer on {url} within 30 s")

    yield start
    stop_processes(servers, 10)


@pytest.fixture(scope="session")
def moto_endpoint(start_moto):
    """The session's moto S3 server, with the bucket S3_TEST_BUCKET."""
    import boto3

    url = start_moto()
    boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=S3_TEST_BUCKET)
    return url


@pytest.fixture
def aws_env(monkeypatch):
    """`aws_env(endpoint, **overrides)` points boto3 at `endpoint` with test credentials
    (an override of None unsets a variable), ignoring the user's own AWS config files."""

    def set_env(endpoint: str | None, **overrides) -> None:
        for name in (
            "AWS_PROFILE",
            "AWS_SESSION_TOKEN",
            "AWS_ENDPOINT_URL_S3",
            "AWS_MAX_ATTEMPTS",
            "AWS_RETRY_MODE",
        ):
            monkeypatch.delenv(name, raising=False)
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_CONFIG_FILE": str(SESSION_HOME / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(SESSION_HOME / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            **overrides,
        }
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    return set_env


@pytest.fixture
def s3_lake(moto_endpoint, aws_env):
    """A lake of its own under a fresh prefix of the moto server's bucket."""
    from mlgate.lake.store import Lake

    aws_env(moto_endpoint)
    return Lake.from_uri(f"s3://{S3_TEST_BUCKET}/{uuid.uuid4().hex[:12]}/lake")
