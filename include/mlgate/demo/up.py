"""`mlgate up` / `make up`: Airflow standalone and the MLflow UI on the demo's state."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from mlgate.airflow.local import UI_PASSWORD, UI_USER, apply
from mlgate.config.settings import load_settings


def run_up(airflow_port: int = 8080, mlflow_port: int = 5000) -> int:
    """Start both UIs on the demo's state until Ctrl-C (or SIGTERM), then stop both."""
    settings = load_settings()
    signal.signal(signal.SIGTERM, _stop)
    env = {
        **os.environ,
        **apply(settings),
        "AIRFLOW__API__PORT": str(airflow_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{airflow_port}",
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "airflow", "standalone"], env=env, start_new_session=True
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "ui",
                "--backend-store-uri",
                settings.tracking_uri,
                "--host",
                "127.0.0.1",
                "--port",
                str(mlflow_port),
            ],
            env=env,
            start_new_session=True,
        ),
    ]
    print(
        f"Airflow UI: http://localhost:{airflow_port} (login {UI_USER} / {UI_PASSWORD})\n"
        f"MLflow UI:  http://localhost:{mlflow_port}\nCtrl-C stops both.",
        flush=True,
    )
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop_all(procs)
    return 0


def stop_all(procs, seconds: float = 60) -> None:
    """Stop each process with everything it started (its own process group: the scheduler,
    the triggerer, the API server, the workers): SIGINT, as Ctrl-C would, then SIGKILL for
    whatever is left after `seconds`."""
    for p in procs:
        _signal_group(p, signal.SIGINT)
    for p in procs:
        try:
            p.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            pass
        _signal_group(p, signal.SIGKILL)  # what outlived its parent, or the parent itself
        p.wait()


def _signal_group(proc, signum) -> None:
    try:
        os.killpg(proc.pid, signum)
    except ProcessLookupError:  # the whole group has ended
        pass


def _stop(signum, frame):
    """SIGTERM stops `mlgate up` as Ctrl-C does: its Airflow and MLflow go with it."""
    raise KeyboardInterrupt
