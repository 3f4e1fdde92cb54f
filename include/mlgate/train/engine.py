"""Where a window is trained, as the spec's `training.engine` says: `local` in this process
(streamed from the lake, `train.booster.train_from_lake`) or `dask` on the Dask cluster whose
scheduler MLGATE_DASK_SCHEDULER names (`train.dask_engine`). Both return (booster, schema,
info) with the contract of `train.booster.train_booster`."""

from __future__ import annotations

from mlgate.config.settings import Settings
from mlgate.config.spec import Spec
from mlgate.lake.store import Lake

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
    lake: Lake, settings: Settings, spec: Spec, days: list[str], overrides: dict | None = None
):
    """Train on the validated, labelled `days` with the spec's engine; returns
    (booster, schema, info)."""
    if spec.section("training")["engine"] == "dask":
        from mlgate.train.dask_engine import train_on_dask

        with dask_client(dask_scheduler(settings, spec)) as client:
            return train_on_dask(client, lake, spec, days, overrides)
    from mlgate.train.booster import train_from_lake

    return train_from_lake(lake, spec, days, overrides)
