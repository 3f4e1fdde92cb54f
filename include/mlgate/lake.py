"""The data lake: daily partitions under one base URI, committed atomically.

Layout: `<zone>/<feed or model>/ds=YYYY-MM-DD/<files>`. A partition is written to a
temporary folder and renamed into place, so a reader never sees half of one. Each
committed partition carries `_lineage.json` (content hashes, row counts, run ids).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

ZONES = ("landing", "raw", "quarantine", "validated", "predictions", "outcomes", "golden", "reports")
LINEAGE_FILE = "_lineage.json"
_DS_RE = re.compile(r"^ds=(\d{4}-\d{2}-\d{2})$")


class LakeError(RuntimeError):
    """A lake operation failed; the message says what and where."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def frame_to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Serialise a frame to Parquet deterministically (same frame, same bytes)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="snappy")
    return buffer.getvalue()


@dataclass(frozen=True)
class Lake:
    """A lake rooted at a `file://` URI (S3 comes with the production topology)."""

    root: Path

    @classmethod
    def from_uri(cls, uri: str) -> "Lake":
        parsed = urlparse(uri)
        if parsed.scheme in ("", "file"):
            return cls(Path(parsed.path if parsed.scheme else uri).resolve())
        raise LakeError(
            f"lake URI {uri!r}: scheme {parsed.scheme!r} is not supported yet; "
            "use file:///path (set MLGATE_LAKE_URI)"
        )

    @property
    def uri(self) -> str:
        return f"file://{self.root}"

    # ---- paths -------------------------------------------------------------
    def partition_dir(self, zone: str, name: str, ds: str) -> Path:
        if zone not in ZONES:
            raise LakeError(f"unknown lake zone {zone!r}; zones are {', '.join(ZONES)}")
        return self.root / zone / name / f"ds={ds}"

    def file_path(self, zone: str, name: str, ds: str, filename: str) -> Path:
        return self.partition_dir(zone, name, ds) / filename

    def exists(self, zone: str, name: str, ds: str, filename: str | None = None) -> bool:
        path = self.partition_dir(zone, name, ds)
        return (path / filename).is_file() if filename else (path / LINEAGE_FILE).is_file()

    def list_partitions(self, zone: str, name: str) -> list[str]:
        """Committed partition dates of `zone/name`, sorted."""
        base = self.root / zone / name
        if not base.is_dir():
            return []
        dates = []
        for child in base.iterdir():
            match = _DS_RE.match(child.name)
            if match and (child / LINEAGE_FILE).is_file():
                dates.append(match.group(1))
        return sorted(dates)

    # ---- write -------------------------------------------------------------
    def commit_partition(
        self, zone: str, name: str, ds: str, files: dict[str, bytes], lineage: dict
    ) -> dict:
        """Write `files` and their lineage as one partition, atomically.

        Content hashes are added to the lineage. Committing the same content again
        leaves the existing partition untouched and returns its lineage.
        """
        target = self.partition_dir(zone, name, ds)
        hashes = {fname: sha256_bytes(data) for fname, data in sorted(files.items())}
        current = self.read_lineage(zone, name, ds)
        if current is not None and current.get("files") == hashes:
            return current
        lineage = {**lineage, "zone": zone, "name": name, "ds": ds, "files": hashes}
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".tmp-ds={ds}-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            for fname, data in files.items():
                (staging / fname).write_bytes(data)
            (staging / LINEAGE_FILE).write_text(json.dumps(lineage, indent=2, sort_keys=True, default=str))
            if target.exists():
                trash = target.parent / f".old-ds={ds}-{uuid.uuid4().hex}"
                os.replace(target, trash)
                os.replace(staging, target)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return lineage

    def commit_frame(self, zone: str, name: str, ds: str, filename: str, frame: pd.DataFrame, lineage: dict) -> dict:
        """Commit one frame as Parquet, with its row count in the lineage."""
        return self.commit_partition(
            zone, name, ds, {filename: frame_to_parquet_bytes(frame)}, {**lineage, "rows": int(len(frame))}
        )

    def remove_partition(self, zone: str, name: str, ds: str) -> bool:
        """Take a committed partition out of a zone (renamed away first, so readers never
        see half of it). Returns whether there was one."""
        target = self.partition_dir(zone, name, ds)
        if not target.is_dir():
            return False
        trash = target.parent / f".old-ds={ds}-{uuid.uuid4().hex}"
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def copy_partition(self, src_zone: str, dst_zone: str, name: str, ds: str, extra_files: dict[str, bytes], lineage: dict) -> dict:
        """Copy a committed partition to another zone (the source is kept), adding files."""
        src = self.partition_dir(src_zone, name, ds)
        if not src.is_dir():
            raise LakeError(f"no partition {src_zone}/{name}/ds={ds} to copy")
        files = {p.name: p.read_bytes() for p in src.iterdir() if p.is_file() and p.name != LINEAGE_FILE}
        files.update(extra_files)
        return self.commit_partition(dst_zone, name, ds, files, lineage)

    def write_landing(self, feed: str, ds: str, filename: str, data: bytes) -> Path:
        """Deliver a file into the landing zone (what an upstream system does)."""
        self.commit_partition("landing", feed, ds, {filename: data}, {"delivered_by": "upstream"})
        return self.file_path("landing", feed, ds, filename)

    # ---- control objects (locks) ------------------------------------------
    def _control_path(self, key: str) -> Path:
        if not re.fullmatch(r"[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*", key) or ".." in key:
            raise LakeError(f"control key {key!r}: use letters, digits and _.=- separated by /")
        return self.root / "_control" / key

    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Create the control object `key` only if it does not exist (atomic); returns
        whether this call created it. Used for locks that several workers share."""
        path = self._control_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return True

    def read_control(self, key: str) -> bytes | None:
        """The control object `key`, or None when there is none."""
        path = self._control_path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def delete_control(self, key: str) -> None:
        """Remove the control object `key` (no error when it is already gone)."""
        self._control_path(key).unlink(missing_ok=True)

    # ---- read --------------------------------------------------------------
    def read_bytes(self, zone: str, name: str, ds: str, filename: str) -> bytes:
        path = self.file_path(zone, name, ds, filename)
        if not path.is_file():
            raise LakeError(f"missing file {zone}/{name}/ds={ds}/{filename} in the lake at {self.root}")
        return path.read_bytes()

    def read_lineage(self, zone: str, name: str, ds: str) -> dict | None:
        path = self.partition_dir(zone, name, ds) / LINEAGE_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def read_frame(self, zone: str, name: str, ds: str, filename: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.read_bytes(zone, name, ds, filename)))

    def read_frames(self, zone: str, name: str, dates: list[str], filename: str) -> pd.DataFrame:
        """Concatenate the Parquet files of several partitions (missing ones are an error)."""
        frames = [self.read_frame(zone, name, ds, filename) for ds in dates]
        if not frames:
            raise LakeError(f"no partitions of {zone}/{name} to read")
        return pd.concat(frames, ignore_index=True)

    def write_report(self, name: str, ds: str, files: dict[str, bytes], lineage: dict) -> Path:
        """Commit a report partition under reports/<name>/ds=<ds>/."""
        self.commit_partition("reports", name, ds, files, lineage)
        return self.partition_dir("reports", name, ds)
