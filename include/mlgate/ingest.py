"""Ingest: land a day's delivery into raw, pass it through the gate, and commit it to
validated or to quarantine (with the reason). Outcomes become labels; golden days are
copied to the golden zone once labelled.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from mlgate import gate
from mlgate.features import derive_label
from mlgate.lake import Lake, LakeError, sha256_bytes
from mlgate.spec import Spec

FEATURES_FILE = "features.parquet"
LABELS_FILE = "labels.parquet"
GOLDEN_FILE = "golden.parquet"
REASON_FILE = "_reason.json"


class GateRejected(RuntimeError):
    """The gate rejected a partition; the message is the readable summary."""

    def __init__(self, result: gate.GateResult):
        super().__init__(result.summary())
        self.result = result


def outcomes_name(spec: Spec) -> str:
    """Lake name of the model's outcomes quarantine (features use the model name)."""
    return f"{spec.model}-outcomes"


def landed(lake: Lake, spec: Spec, ds: str, feed: str = "features") -> bool:
    """Whether the upstream has delivered `feed` for `ds` (what the sensor waits for)."""
    source = spec.features_feed if feed == "features" else spec.outcomes_feed
    return lake.exists("landing", source["feed"], ds, source["file"])


def land_features(lake: Lake, spec: Spec, ds: str, run: dict) -> dict:
    """Copy the day's features delivery from landing to raw, with hash and row count."""
    source = spec.features_feed
    data = lake.read_bytes("landing", source["feed"], ds, source["file"])
    rows = max(0, data.count(b"\n") - 1)
    return lake.commit_partition("raw", spec.model, ds, {source["file"]: data},
                                 {**run, "source": f"landing/{source['feed']}", "rows_approx": rows})


def validated_history(lake: Lake, spec: Spec, ds: str) -> dict[str, int]:
    """Row counts of accepted partitions before `ds` within the contract's history window."""
    window = int(spec.contract("features").row_count.get("history_days", 28))
    day = dt.date.fromisoformat(ds)
    history = {}
    for d in lake.list_partitions("validated", spec.model):
        age = (day - dt.date.fromisoformat(d)).days
        if 0 < age <= window:
            lineage = lake.read_lineage("validated", spec.model, d)
            history[d] = int(lineage["rows"])
    return history


def validate_features(spec: Spec, data: bytes, filename: str, ds: str, history: dict[str, int]):
    """Run the spec's features gate on one delivered file; returns (result, frame)."""
    return gate.validate_bytes(data, filename, spec.contract("features"), ds, history,
                               spec.section("keys").get("date_columns"), suite_name=f"{spec.model}.features")


def gate_features(lake: Lake, spec: Spec, ds: str, run: dict, accept_reason: str | None = None) -> gate.GateResult:
    """Validate the raw partition. Pass: commit to validated. Fail: copy to quarantine
    with the reason (raw is kept) and raise GateRejected, unless an operator accepted
    the batch on purpose with `accept_reason`."""
    source = spec.features_feed
    data = lake.read_bytes("raw", spec.model, ds, source["file"])
    result, frame = validate_features(spec, data, source["file"], ds, validated_history(lake, spec, ds))
    lineage = {**run, "source": f"raw/{spec.model}/ds={ds}/{source['file']}", "source_sha256": sha256_bytes(data),
               "gate": result.to_dict()}
    if not result.success and not (accept_reason and frame is not None):
        lake.copy_partition("raw", "quarantine", spec.model, ds,
                            {REASON_FILE: json.dumps({**result.to_dict(), "what_to_do": gate.WHAT_TO_DO}, indent=2).encode()},
                            lineage)
        raise GateRejected(result)
    if not result.success:
        lineage["accepted_despite_gate"] = accept_reason
    lake.commit_frame("validated", spec.model, ds, FEATURES_FILE, frame, lineage)
    return result


def land_outcomes(lake: Lake, spec: Spec, ds: str, run: dict) -> dict | None:
    """Turn the outcomes delivered for `ds` into labels (None when not delivered yet).
    A rejected outcomes file goes to quarantine and raises GateRejected."""
    source = spec.outcomes_feed
    if not landed(lake, spec, ds, "outcomes"):
        return None
    data = lake.read_bytes("landing", source["feed"], ds, source["file"])
    result, frame = gate.validate_bytes(data, source["file"], spec.contract("outcomes"), ds,
                                        suite_name=f"{spec.model}.outcomes")
    lineage = {**run, "source": f"landing/{source['feed']}/ds={ds}/{source['file']}", "source_sha256": sha256_bytes(data),
               "gate": result.to_dict()}
    if not result.success:
        lake.commit_partition("quarantine", outcomes_name(spec), ds,
                              {source["file"]: data, REASON_FILE: json.dumps(result.to_dict(), indent=2).encode()}, lineage)
        raise GateRejected(result)
    labels = frame.copy()
    labels[spec.section("label")["name"]] = derive_label(frame, spec)
    committed = lake.commit_frame("outcomes", spec.model, ds, LABELS_FILE, labels, lineage)
    if ds in spec.golden_days and lake.exists("validated", spec.model, ds):
        commit_golden(lake, spec, ds, run)  # a quarantined golden day stays out of the golden set
    return committed


def labelled_frame(lake: Lake, spec: Spec, dates: list[str], zone: str = "validated") -> pd.DataFrame:
    """Validated features of `dates` joined with their labels (days without both are
    skipped), with a `ds` column."""
    label = spec.section("label")["name"]
    parts = []
    for ds in dates:
        if not (lake.exists(zone, spec.model, ds) and lake.exists("outcomes", spec.model, ds)):
            continue
        features = lake.read_frame(zone, spec.model, ds, FEATURES_FILE)
        labels = lake.read_frame("outcomes", spec.model, ds, LABELS_FILE)[[spec.id_column, label]]
        joined = features.merge(labels, on=spec.id_column, how="inner", validate="one_to_one")
        parts.append(joined.assign(ds=ds))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def commit_golden(lake: Lake, spec: Spec, ds: str, run: dict) -> dict:
    """Freeze a golden day: its validated features with their labels, content-hashed."""
    frame = labelled_frame(lake, spec, [ds])
    if frame.empty:
        raise LakeError(f"golden day {ds} has no validated features with labels yet")
    return lake.commit_frame("golden", spec.model, ds, GOLDEN_FILE, frame,
                             {**run, "provenance": f"validated/{spec.model} + outcomes/{spec.model}, ds={ds}"})
