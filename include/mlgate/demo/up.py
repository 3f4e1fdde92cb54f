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
    settings = load_settings()
    env = {
        **os.environ,
        **apply(settings),
        "AIRFLOW__API__PORT": str(airflow_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{airflow_port}",
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    procs = [
        subprocess.Popen([sys.executable, "-m", "airflow", "standalone"], env=env),
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
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    return 0
