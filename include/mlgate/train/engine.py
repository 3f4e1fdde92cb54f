"""Where a window is trained, as the spec's `training.engine` says: `local` in this process
(the window's staged days streamed into XGBoost, `train.booster.train_streamed`) or `dask`
on the Dask cluster whose scheduler MLGATE_DASK_SCHEDULER names (`train.dask_engine`). Both
give the same (booster, info) to the same MLflow logging and promotion gate."""

from __future__ import annotations

from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.train.booster import train_streamed
from mlgate.train.window import WindowRows, WindowScan

EXAMPLE_SCHEDULER = "tcp://dask-scheduler:8786"


def dask_scheduler(settings: Settings, spec: Spec) -> str:
    """The scheduler's address a dask-engine spec trains on; refuses an unset setting."""
    if not settings.dask_scheduler:
        raise ValueError(
            f"spec {spec.path.name}: training.engine is dask, but MLGATE_DASK_SCHEDULER is not "
            f"set. Set it to the Dask scheduler's address (for example "
            f"MLGATE_DASK_SCHEDULER={EXAMPLE_SCHEDULER}), or set training.engine: local."
        )
    return settings.dask_scheduler


def dask_client(address: str):
    """A `distributed.Client` of the scheduler at `address`, or an error saying how to start
    one there."""
    from distributed import Client

    try:
        return Client(address, timeout="30s")
    except OSError as exc:
        raise ConnectionError(
            f"no Dask scheduler answers at {address} (MLGATE_DASK_SCHEDULER): {exc}. Start one "
            f"(`dask scheduler`) with its workers (`dask worker {address}`), or fix the setting."
        ) from exc


def fit_window(
    settings: Settings,
    spec: Spec,
    rows: WindowRows,
    scan: WindowScan,
    overrides: dict | None = None,
):
    """Train on the window (its `rows`, and the `scan` that staged them for the local engine)
    with the spec's engine; returns (booster, info)."""
    if spec.section("training")["engine"] == "local":
        return train_streamed(scan, spec, overrides)
    from mlgate.train.dask_engine import train_on_dask

    with dask_client(dask_scheduler(settings, spec)) as client:
        booster, schema, info = train_on_dask(
            client, rows.lake, spec, list(scan.day_rows), overrides
        )
    if schema != scan.schema:  # the window changed between the scan and the workers' reads
        raise RuntimeError(
            f"{spec.model}: the Dask workers read other rows than the window's scan "
            f"(categories {schema.categories} against {scan.schema.categories}); "
            "was a day re-ingested while training? Run the training again."
        )
    return booster, info
