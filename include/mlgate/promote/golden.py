"""The evaluation set as versioned data: the golden days (frozen in the lake's golden
zone, held out of every training window) plus the most recent labelled days.

Its manifest lists every day with the content hashes of its features and labels and
where the labels came from; the manifest's hash is the set's version. Evaluation checks
that no evaluation row was trained on, that every label came from the outcomes feed (not
from a model), and that the set did not change while the two models were scored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pandas as pd

from mlgate.config.spec import Spec
from mlgate.ingest.landing import labelled_frame
from mlgate.lake.names import FEATURES_FILE, GOLDEN_FILE
from mlgate.lake.store import Lake


class EvaluationError(RuntimeError):
    """The evaluation cannot be trusted; the message says why and what to do."""


@dataclass(frozen=True)
class EvaluationSet:
    frame: pd.DataFrame  # the judged columns: key, label, ds, eval_set (golden/recent), slices
    manifest: dict  # version, days with hashes and label provenance

    @property
    def version(self) -> str:
        return self.manifest["version"]


def _label_provenance(lake: Lake, spec: Spec, ds: str, read: dict) -> dict:
    lineage = lake.read_lineage("outcomes", spec.model, ds) or {}
    return {
        "labels_from": lineage.get("source"),
        "labels_sha256": lineage.get("source_sha256"),
        "labels_files": read.get(("outcomes", ds), lineage.get("files")),
        "labels_accepted_reason": lineage.get("accepted_reason"),
    }


def manifest_for(
    lake: Lake, spec: Spec, golden_days: list[str], recent_days: list[str], read: dict | None = None
) -> dict:
    """The evaluation set's manifest. Its file hashes are those of the bytes read, in
    `read` {(zone, ds): {filename: sha256}} (each checked against its lineage as it was
    read); without `read` (or for a day not read), those of the partitions' lineage."""
    read = read or {}
    days = []
    for zone, which, dates in (
        ("golden", "golden", golden_days),
        ("validated", "recent", recent_days),
    ):
        for ds in dates:
            lineage = lake.read_lineage(zone, spec.model, ds) or {}
            days.append(
                {
                    "ds": ds,
                    "set": which,
                    "files": read.get((zone, ds), lineage.get("files")),
                    "rows": lineage.get("rows"),
                    **_label_provenance(lake, spec, ds, read),
                }
            )
    digest = hashlib.sha256(json.dumps(days, sort_keys=True).encode()).hexdigest()
    return {"version": digest[:16], "sha256": digest, "days": days}


def judged_columns(spec: Spec) -> list[str]:
    """The evaluation set's columns the judgment needs: the key, the label, the day, the
    set (golden or recent) and the slice columns (never the whole feature frame)."""
    wanted = [spec.id_column, spec.section("label")["name"], "ds", "eval_set", *spec.slices]
    return list(dict.fromkeys(wanted))


def evaluation_days(
    lake: Lake, spec: Spec, golden_days: list[str], recent_days: list[str], read: dict
) -> Iterator[pd.DataFrame]:
    """The evaluation set one day at a time, as read (golden days, then recent labelled
    days), each with its `eval_set` column; the sha256 of every file read goes to `read`."""
    for d in golden_days:
        frame, digest = lake.read_frame_verified("golden", spec.model, d, GOLDEN_FILE)
        read["golden", d] = {GOLDEN_FILE: digest}
        yield frame.assign(eval_set="golden")
    for d in recent_days:
        frame = labelled_frame(lake, spec, [d], read=read)
        if not frame.empty:
            yield frame.assign(eval_set="recent")


def build_evaluation_set(
    lake: Lake,
    spec: Spec,
    golden_days: list[str],
    recent_days: list[str],
    each_day: Callable[[pd.DataFrame], None] | None = None,
) -> EvaluationSet:
    """Read the golden and recent days day by day, with their manifest, versioned by the
    hashes of what was read; refuses labels that did not come from the outcomes feed. Only
    the judged columns are kept; `each_day`, when given, gets each day's whole frame as it
    is read (to be scored)."""
    parts, read = [], {}
    for day in evaluation_days(lake, spec, golden_days, recent_days, read):
        if each_day is not None:
            each_day(day)
        parts.append(day[[c for c in judged_columns(spec) if c in day.columns]])
    manifest = manifest_for(lake, spec, golden_days, recent_days, read)
    feed = f"landing/{spec.outcomes_feed['feed']}/"
    foreign = [
        d["ds"] for d in manifest["days"] if not str(d["labels_from"] or "").startswith(feed)
    ]
    if foreign:
        raise EvaluationError(
            f"{spec.model}: the labels of {', '.join(foreign)} did not come from the outcomes "
            f"feed ({feed}); evaluating on them could reward a model for agreeing with the "
            "model that produced them. Re-land those days' outcomes from the feed, or take "
            "them out of the evaluation days."
        )
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    return EvaluationSet(frame, manifest)


def verify_unchanged(
    lake: Lake,
    spec: Spec,
    evaluation_set: EvaluationSet,
    golden_days: list[str],
    recent_days: list[str],
) -> None:
    """Raise if the evaluation set's partitions changed since `evaluation_set` was read."""
    now = manifest_for(lake, spec, golden_days, recent_days)
    if now["version"] != evaluation_set.version:
        changed = [a["ds"] for a, b in zip(evaluation_set.manifest["days"], now["days"]) if a != b]
        changed_days = ", ".join(changed) or "the list"
        raise EvaluationError(
            f"{spec.model}: the evaluation set changed while the models were scored (version "
            f"{evaluation_set.version} at the start, {now['version']} now; "
            f"changed days: {changed_days}). "
            "Both models must be judged on the same rows: re-run the evaluation."
        )


def trained_on(lake: Lake, spec: Spec, train_days: list[str], ids: pd.Series) -> list[str]:
    """The ids among `ids` that are in the validated features of `train_days`."""
    wanted = set(ids.astype(str))
    seen: set[str] = set()
    for ds in train_days:
        if lake.exists("validated", spec.model, ds):
            seen |= wanted & set(
                lake.read_frame("validated", spec.model, ds, FEATURES_FILE)[spec.id_column].astype(
                    str
                )
            )
    return sorted(seen)


def check_disjoint(
    lake: Lake, spec: Spec, evaluation_set: EvaluationSet, train_days: list[str], who: str
) -> None:
    """Raise if any evaluation row (by day or by key) is in a model's training window."""
    days = (
        sorted(set(evaluation_set.frame["ds"]) & set(train_days))
        if len(evaluation_set.frame)
        else []
    )
    leaked = (
        trained_on(lake, spec, train_days, evaluation_set.frame[spec.id_column])
        if len(evaluation_set.frame)
        else []
    )
    if days or leaked:
        some_rows = ", ".join(leaked[:3]) + ("..." if len(leaked) > 3 else "")
        on_days = " (days " + ", ".join(days) + ")" if days else ""
        raise EvaluationError(
            f"{spec.model}: {len(leaked)} evaluation rows ({some_rows}) "
            f"are in the {who}'s training window{on_days}; a model cannot be judged "
            "on rows it was trained on. Check evaluation.golden_days and the training window."
        )
