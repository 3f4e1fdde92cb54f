"""Ingest: land a day's delivery into raw, pass it through the gate, and commit it to
validated or to quarantine (with the reason). Outcomes become labels; golden days are
copied to the golden zone once labelled.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from mlgate.config.spec import Spec
from mlgate.ingest import docs, gate, history
from mlgate.ingest.labels import labelled_rows, with_label
from mlgate.lake.names import (
    DATA_DOCS_PAGE,
    FEATURES_FILE,
    GATE_RESULT_FILE,
    GOLDEN_FILE,
    LABELS_FILE,
    REASON_FILE,
    gate_report_name,
    outcomes_name,
)
from mlgate.lake.store import Lake, LakeError, sha256_bytes


class GateRejected(RuntimeError):
    """The gate rejected a partition; the message is the readable summary."""

    def __init__(self, result: gate.GateResult):
        super().__init__(result.summary())
        self.result = result


def landed(lake: Lake, spec: Spec, ds: str, feed: str = "features") -> bool:
    """Whether the upstream has delivered `feed` for `ds` (what the sensor waits for)."""
    source = spec.features_feed if feed == "features" else spec.outcomes_feed
    return lake.exists("landing", source["feed"], ds, source["file"])


def land_features(lake: Lake, spec: Spec, ds: str, run: dict) -> dict:
    """Copy the day's features delivery from landing to raw, with hash and row count."""
    source = spec.features_feed
    data = lake.read_bytes("landing", source["feed"], ds, source["file"])
    rows = max(0, data.count(b"\n") - 1)
    return lake.commit_partition(
        "raw",
        spec.model,
        ds,
        {source["file"]: data},
        {**run, "source": f"landing/{source['feed']}", "rows_approx": rows},
    )


def history_days(dates: list[str], ds: str, days: int) -> list[str]:
    """The dates among `dates` in the `days` before `ds`."""
    day = dt.date.fromisoformat(ds)
    return [d for d in dates if 0 < (day - dt.date.fromisoformat(d)).days <= days]


def profile_for(spec: Spec, feed: str, frames: dict[str, pd.DataFrame]) -> dict:
    """The history profile of accepted `frames` {ds: frame} of a feed, with the columns
    the spec's contract judges against history."""
    rules = spec.contract(feed).history
    numeric = list(rules["distribution_columns"])
    categorical = list(rules["new_category_columns"])
    slices = spec.slices if feed == "features" else []
    # the label's daily positive rate is a binary notion: a regression's label is guarded by
    # its outcome column's range and empty share in the contract
    label = spec.section("label")["name"] if feed == "outcomes" and not spec.is_regression else None
    contract = spec.contract(feed)
    nullable = (
        [c.name for c in contract.columns if c.nullable]
        if rules["null_share_margin"] is not None
        else []
    )
    return history.build(
        frames, numeric, slices, categorical, label, rules["nonzero_columns"], nullable
    )


def delivered_profile(spec: Spec, feed: str, available: list[str], ds: str, read_day) -> dict:
    """The history profile of the days among `available` in the contract's `history.days`
    before `ds`, each as delivered by `read_day(day)` (None: not readable, left out) and
    taken as accepted; an outcomes day gets its label."""
    frames = {}
    for day in history_days(available, ds, int(spec.contract(feed).history["days"])):
        frame = read_day(day)
        if frame is not None:
            frames[day] = frame if feed == "features" else with_label(spec)(frame)
    return profile_for(spec, feed, frames)


def lake_profile(lake: Lake, spec: Spec, feed: str, ds: str) -> dict:
    """The history profile of the accepted partitions of `feed` before `ds`."""
    zone, filename = (
        ("validated", FEATURES_FILE) if feed == "features" else ("outcomes", LABELS_FILE)
    )
    days = int(spec.contract(feed).history["days"])
    dates = history_days(lake.list_partitions(zone, spec.model), ds, days)
    return profile_for(
        spec, feed, {d: lake.read_frame(zone, spec.model, d, filename) for d in dates}
    )


def features_inputs(spec: Spec, ds: str, profile: dict | None) -> gate.GateInputs:
    keys = spec.section("keys")
    return gate.GateInputs(
        ds=ds,
        history=profile,
        date_columns=keys.get("date_columns"),
        timestamp=(spec.timestamp_column, keys["timezone"]),
    )


def validate_features(spec: Spec, data: bytes, filename: str, ds: str, profile: dict | None):
    """Run the spec's features gate on one delivered file; returns (result, frame)."""
    return gate.validate_bytes(
        data,
        filename,
        spec.contract("features"),
        features_inputs(spec, ds, profile),
        suite_name=f"{spec.model}.features",
    )


def validate_outcomes(
    spec: Spec, data: bytes, filename: str, ds: str, profile: dict | None, features_rows: int | None
):
    """Run the spec's outcomes gate (with the derived label, its coverage of the day's
    feature rows and its positive rate against history); returns (result, frame with label)."""
    rule = spec.section("label")
    inputs = gate.GateInputs(
        ds=ds, history=profile, label=rule["name"], expected_rows=features_rows, label_rule=rule
    )
    return gate.validate_bytes(
        data,
        filename,
        spec.contract("outcomes"),
        inputs,
        suite_name=f"{spec.model}.outcomes",
        derive=with_label(spec),
    )


def gate_features(
    lake: Lake, spec: Spec, ds: str, run: dict, accept_reason: str | None = None
) -> gate.GateResult:
    """Validate the raw partition. Pass: commit to validated. Fail: copy to quarantine
    with the reason (raw is kept) and raise GateRejected, unless an operator accepted
    the batch on purpose with `accept_reason`."""
    source = spec.features_feed
    data = lake.read_bytes("raw", spec.model, ds, source["file"])
    result, frame = validate_features(
        spec, data, source["file"], ds, lake_profile(lake, spec, "features", ds)
    )
    lineage = {
        **run,
        "source": f"raw/{spec.model}/ds={ds}/{source['file']}",
        "source_sha256": sha256_bytes(data),
        "gate": result.to_dict(),
    }
    quarantine_page = write_gate_report(lake, spec, "features", ds, result, lineage)
    rejected = not result.success and not (accept_reason and frame is not None)
    if rejected:
        reason = json.dumps({**result.to_dict(), "what_to_do": gate.WHAT_TO_DO}, indent=2)
        lake.copy_partition(
            "raw",
            "quarantine",
            spec.model,
            ds,
            {
                REASON_FILE: reason.encode(),
                **docs.quarantine_files(
                    lake, spec.model, "features", ds, quarantine_page, lineage["source_sha256"]
                ),
            },
            lineage,
        )
        lake.remove_partition(
            "validated", spec.model, ds
        )  # a re-delivery that fails replaces an earlier pass
    else:
        if not result.success:
            lineage["accepted_despite_gate"] = accept_reason
        lake.commit_frame("validated", spec.model, ds, FEATURES_FILE, frame, lineage)
    docs.write_index(lake, spec.model, "features", ds)
    if rejected:
        raise GateRejected(result)
    return result


def write_gate_report(
    lake: Lake, spec: Spec, feed: str, ds: str, result: gate.GateResult, lineage: dict
) -> bytes:
    """The gate's verdict as JSON and as a GX Data Docs page, in reports/<model>-gate-<feed>/
    (see `docs` for the layout); returns the page made for quarantine, where a rejected day
    keeps it."""
    pages = docs.pages(lake, spec.model, feed, result)
    files = {
        GATE_RESULT_FILE: json.dumps(result.to_dict(), indent=2).encode(),
        DATA_DOCS_PAGE: pages[docs.report_page(spec.model, feed, ds)],
    }
    lake.write_report(gate_report_name(spec.model, feed), ds, files, lineage)
    return pages[docs.quarantine_page(spec.model, feed, ds)]


def land_outcomes(lake: Lake, spec: Spec, ds: str, run: dict) -> dict | None:
    """Turn the outcomes delivered for `ds` into labels (None when not delivered yet).
    A rejected outcomes file goes to quarantine and raises GateRejected."""
    source = spec.outcomes_feed
    if not landed(lake, spec, ds, "outcomes"):
        return None
    data = lake.read_bytes("landing", source["feed"], ds, source["file"])
    features = lake.read_lineage("validated", spec.model, ds)
    result, frame = validate_outcomes(
        spec,
        data,
        source["file"],
        ds,
        lake_profile(lake, spec, "outcomes", ds),
        features["rows"] if features else None,
    )
    lineage = {
        **run,
        "source": f"landing/{source['feed']}/ds={ds}/{source['file']}",
        "source_sha256": sha256_bytes(data),
        "gate": result.to_dict(),
    }
    quarantine_page = write_gate_report(lake, spec, "outcomes", ds, result, lineage)
    if not result.success:
        lake.commit_partition(
            "quarantine",
            outcomes_name(spec.model),
            ds,
            {
                source["file"]: data,
                REASON_FILE: json.dumps(result.to_dict(), indent=2).encode(),
                **docs.quarantine_files(
                    lake, spec.model, "outcomes", ds, quarantine_page, lineage["source_sha256"]
                ),
            },
            lineage,
        )
    else:
        committed = lake.commit_frame("outcomes", spec.model, ds, LABELS_FILE, frame, lineage)
    docs.write_index(lake, spec.model, "outcomes", ds)
    if not result.success:
        raise GateRejected(result)
    if ds in spec.golden_days and lake.exists("validated", spec.model, ds):
        commit_golden(lake, spec, ds, run)  # a quarantined golden day stays out of the golden set
    return committed


def labelled_frame(
    lake: Lake, spec: Spec, dates: list[str], zone: str = "validated", read: dict | None = None
) -> pd.DataFrame:
    """Validated features of `dates` joined with their labels (days without both are
    skipped, rows without a label too), with a `ds` column. `read`, when given, gets the
    sha256 of each file read: {(zone, ds): {filename: sha256}}."""
    label = spec.section("label")["name"]
    read = {} if read is None else read
    parts = []
    for ds in dates:
        if not (lake.exists(zone, spec.model, ds) and lake.exists("outcomes", spec.model, ds)):
            continue
        features, features_sha = lake.read_frame_verified(zone, spec.model, ds, FEATURES_FILE)
        labels, labels_sha = lake.read_frame_verified("outcomes", spec.model, ds, LABELS_FILE)
        read[zone, ds], read["outcomes", ds] = (
            {FEATURES_FILE: features_sha},
            {LABELS_FILE: labels_sha},
        )
        labels = labels[[spec.id_column, label]]
        joined = features.merge(labels, on=spec.id_column, how="inner", validate="one_to_one")
        parts.append(labelled_rows(joined, spec).assign(ds=ds))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def commit_golden(lake: Lake, spec: Spec, ds: str, run: dict) -> dict:
    """Freeze a golden day: its validated features with their labels, content-hashed."""
    frame = labelled_frame(lake, spec, [ds])
    if frame.empty:
        raise LakeError(f"golden day {ds} has no validated features with labels yet")
    return lake.commit_frame(
        "golden",
        spec.model,
        ds,
        GOLDEN_FILE,
        frame,
        {**run, "provenance": f"validated/{spec.model} + outcomes/{spec.model}, ds={ds}"},
    )
