"""A lake of real flights at volume, for benchmarks: the 2013 days landed N times over (the
simulator at `scale`, mlgate.ingest.replay.scale_day) and taken through ingest as the ingest
DAG takes them: landing to raw, the GX gate to validated (or quarantine), the outcomes
through their gate to labels. Nothing bypasses the gate."""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlgate.config.spec import Spec, load_spec
from mlgate.demo import simulator
from mlgate.ingest import landing
from mlgate.lake.store import Lake


@dataclass(frozen=True)
class IngestedDay:
    """One day of a scaled lake: its validated rows and the time its two gates took."""

    ds: str
    rows: int
    features_gate_seconds: float
    outcomes_gate_seconds: float


def build_scaled_lake(
    lake: Lake,
    first: str,
    last: str,
    scale: int,
    spec: Spec | None = None,
    run: dict | None = None,
) -> list[IngestedDay]:
    """Land the real days `first`..`last` at `scale` and ingest each through the real gates.
    A day the gate rejects stops the build with GateRejected (the day is in quarantine)."""
    spec = simulator.check_spec(spec or load_spec(simulator.DEMO_SPEC))
    run = run or {"dag_id": "scaled_lake", "run_id": f"scale-{scale}", "try_number": 1}
    ingested = []
    for ds in simulator.simulate(lake, first, last, spec=spec, scale=scale):
        landing.land_features(lake, spec, ds, run)
        began = time.perf_counter()
        landing.gate_features(lake, spec, ds, run)
        gated = time.perf_counter()
        landing.land_outcomes(lake, spec, ds, run)
        done = time.perf_counter()
        rows = lake.read_lineage("validated", spec.model, ds)["rows"]
        ingested.append(IngestedDay(ds, rows, gated - began, done - gated))
    return ingested
