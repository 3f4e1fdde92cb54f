"""The data lake: daily partitions under one base URI, committed atomically.

Layout: `<zone>/<feed or model>/ds=YYYY-MM-DD/<files>`. Each committed partition carries
`_lineage.json` (the sha256 of each file, row counts, run ids); a partition without one
was never committed and no reader sees it. Committing identical content again changes
nothing, so retried and backfilled tasks are harmless.

`Lake` holds that partition logic (hashes, idempotency, lineage) once, over a store that
reads, lists, deletes and commits a partition its own way. The base URI
(`MLGATE_LAKE_URI`) picks the store:

- `file:///path`: `LocalStore`, a folder. A partition is written to a temporary folder
  and renamed into place.
- `s3://bucket/prefix`: `S3Store` (lake_s3.py), S3 through boto3 (AWS, MinIO, moto's
  server). S3 has no rename: the files go under their content hash
  (`ds=D/<sha256>/<file>`) and the partition's `_lineage.json`, written last, commits it.
  Readers find the files through the lineage, so a re-commit never shows a mix of old and
  new files and a commit that dies half-way leaves the previous partition as it was. A
  file that an upstream puts at `ds=D/<file>` without a lineage is read as it is.
  Endpoint, region and credentials come from the standard AWS environment (see
  `lake_s3.s3_client`); throttling and server errors are retried with backoff.
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
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pandas as pd

if TYPE_CHECKING:
    from mlgate.lake.s3 import S3Store

ZONES = (
    "landing",
    "raw",
    "quarantine",
    "validated",
    "predictions",
    "outcomes",
    "golden",
    "reports",
)
LINEAGE_FILE = "_lineage.json"
CONTROL_PREFIX = "_control"
_DS_RE = re.compile(r"^ds=(\d{4}-\d{2}-\d{2})$")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


class LakeError(RuntimeError):
    """A lake operation failed; the message says what and where."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def frame_to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """Serialise a frame to Parquet deterministically (same frame, same bytes)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="snappy")
    return buffer.getvalue()


def lineage_bytes(lineage: dict) -> bytes:
    """The `_lineage.json` of a partition."""
    return json.dumps(lineage, indent=2, sort_keys=True, default=str).encode()


# ---- stores ----------------------------------------------------------------
# A store addresses objects by keys relative to the lake's base URI ("raw/m/ds=D/a.csv";
# a partition's key is "<zone>/<name>/ds=<ds>") and provides: uri, location(key),
# read(key), committed(prefix), files(partition), read_file(partition, filename),
# publish(partition, files, lineage, previous), unpublish(partition),
# create_exclusive(key, data), delete(key). LocalStore is here, S3Store in lake_s3.py.


@dataclass(frozen=True)
class LocalStore:
    """The lake in a local folder; a partition is committed by renaming a folder."""

    root: Path

    @property
    def uri(self) -> str:
        return f"file://{self.root}"

    def location(self, key: str) -> str:
        return f"file://{self.root / key}"

    def read(self, key: str) -> bytes | None:
        """The object `key`, or None when there is none."""
        try:
            return (self.root / key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def committed(self, prefix: str) -> list[str]:
        """Names of the folders right under `prefix` that hold a lineage file."""
        base = self.root / prefix
        if not base.is_dir():
            return []
        return [child.name for child in base.iterdir() if (child / LINEAGE_FILE).is_file()]

    def files(self, partition: str) -> list[str] | None:
        """File names of a partition (lineage excepted), None when there is no partition."""
        path = self.root / partition
        if not path.is_dir():
            return None
        return sorted(p.name for p in path.iterdir() if p.is_file() and p.name != LINEAGE_FILE)

    def read_file(self, partition: str, filename: str) -> bytes | None:
        return self.read(f"{partition}/{filename}")

    def publish(
        self, partition: str, files: dict[str, bytes], lineage: dict, previous: dict | None
    ) -> None:
        """Write the partition in a temporary folder, then rename it into place."""
        target = self.root / partition
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".tmp-{target.name}-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            for fname, data in files.items():
                (staging / fname).write_bytes(data)
            (staging / LINEAGE_FILE).write_bytes(lineage_bytes(lineage))
            if target.exists():
                trash = target.parent / f".old-{target.name}-{uuid.uuid4().hex}"
                os.replace(target, trash)
                os.replace(staging, target)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                os.replace(staging, target)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def unpublish(self, partition: str) -> bool:
        """Rename the partition away, then delete it; returns whether there was one."""
        target = self.root / partition
        if not target.is_dir():
            return False
        trash = target.parent / f".old-{target.name}-{uuid.uuid4().hex}"
        os.replace(target, trash)
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def create_exclusive(self, key: str, data: bytes) -> bool:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return True

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)


# ---- the lake --------------------------------------------------------------


@dataclass(frozen=True)
class Lake:
    """Daily partitions with lineage, in the store that the base URI names."""

    store: LocalStore | S3Store

    @classmethod
    def from_uri(cls, uri: str) -> "Lake":
        """`file:///path` (or a plain path) or `s3://bucket/prefix`."""
        parsed = urlparse(uri)
        if parsed.scheme in ("", "file"):
            return cls(LocalStore(Path(parsed.path if parsed.scheme else uri).resolve()))
        if parsed.scheme == "s3":
            if not parsed.netloc:
                raise LakeError(
                    f"lake URI {uri!r}: no bucket; use s3://bucket/prefix (set MLGATE_LAKE_URI)"
                )
            from mlgate.lake.s3 import S3Store

            return cls(S3Store(parsed.netloc, parsed.path))
        raise LakeError(
            f"lake URI {uri!r}: scheme {parsed.scheme!r} is not supported; "
            "use file:///path or s3://bucket/prefix (set MLGATE_LAKE_URI)"
        )

    @property
    def uri(self) -> str:
        return self.store.uri

    # ---- where -------------------------------------------------------------
    @staticmethod
    def _zone(zone: str) -> str:
        if zone not in ZONES:
            raise LakeError(f"unknown lake zone {zone!r}; zones are {', '.join(ZONES)}")
        return zone

    def _partition(self, zone: str, name: str, ds: str) -> str:
        """A partition's key; a name or date that could leave its folder is refused."""
        if not _NAME_RE.fullmatch(str(name)) or not _DATE_RE.fullmatch(str(ds)):
            raise LakeError(
                f"partition {zone}/{name!r}/ds={ds!r}: names are letters, digits and _.- "
                "and dates are YYYY-MM-DD; nothing outside the lake's partitions is read or written"
            )
        return f"{self._zone(zone)}/{name}/ds={ds}"

    def location(self, zone: str, name: str | None = None, ds: str | None = None) -> str:
        """URI of a zone, of `zone/name`, or of a partition (`file://...` or `s3://...`)."""
        parts = (
            [self._zone(zone)] + ([name] if name else []) + ([f"ds={ds}"] if name and ds else [])
        )
        return self.store.location("/".join(parts))

    def exists(self, zone: str, name: str, ds: str, filename: str | None = None) -> bool:
        """Whether the partition is committed (or, with `filename`, holds that file)."""
        partition = self._partition(zone, name, ds)
        if filename is None:
            return self.store.read(f"{partition}/{LINEAGE_FILE}") is not None
        return filename in (self.store.files(partition) or [])

    def list_partitions(self, zone: str, name: str) -> list[str]:
        """Committed partition dates of `zone/name`, sorted."""
        children = self.store.committed(f"{zone}/{name}")
        return sorted(match.group(1) for child in children if (match := _DS_RE.match(child)))

    # ---- write -------------------------------------------------------------
    def commit_partition(
        self, zone: str, name: str, ds: str, files: dict[str, bytes], lineage: dict
    ) -> dict:
        """Write `files` and their lineage as one partition, atomically.

        Content hashes are added to the lineage. Committing the same content again
        leaves the existing partition untouched and returns its lineage.
        """
        partition = self._partition(zone, name, ds)
        hashes = {fname: sha256_bytes(data) for fname, data in sorted(files.items())}
        current = self.read_lineage(zone, name, ds)
        if current is not None and current.get("files") == hashes:
            return current
        lineage = {**lineage, "zone": zone, "name": name, "ds": ds, "files": hashes}
        self.store.publish(partition, files, lineage, current)
        return lineage

    def commit_frame(
        self, zone: str, name: str, ds: str, filename: str, frame: pd.DataFrame, lineage: dict
    ) -> dict:
        """Commit one frame as Parquet, with its row count in the lineage."""
        return self.commit_partition(
            zone,
            name,
            ds,
            {filename: frame_to_parquet_bytes(frame)},
            {**lineage, "rows": int(len(frame))},
        )

    def remove_partition(self, zone: str, name: str, ds: str) -> bool:
        """Take a committed partition out of a zone (readers never see half of it).
        Returns whether there was one."""
        return self.store.unpublish(self._partition(zone, name, ds))

    def copy_partition(
        self,
        src_zone: str,
        dst_zone: str,
        name: str,
        ds: str,
        extra_files: dict[str, bytes],
        lineage: dict,
    ) -> dict:
        """Copy a committed partition to another zone (the source is kept), adding files."""
        names = self.store.files(self._partition(src_zone, name, ds))
        if names is None:
            raise LakeError(f"no partition {src_zone}/{name}/ds={ds} to copy")
        files = {fname: self.read_bytes(src_zone, name, ds, fname) for fname in names}
        files.update(extra_files)
        return self.commit_partition(dst_zone, name, ds, files, lineage)

    def write_landing(self, feed: str, ds: str, filename: str, data: bytes) -> str:
        """Deliver a file into the landing zone (what an upstream system does); returns
        the partition's location."""
        self.commit_partition("landing", feed, ds, {filename: data}, {"delivered_by": "upstream"})
        return self.location("landing", feed, ds)

    # ---- control objects (locks) ------------------------------------------
    @staticmethod
    def _control_key(key: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.=-]+(/[A-Za-z0-9_.=-]+)*", key) or ".." in key:
            raise LakeError(f"control key {key!r}: use letters, digits and _.=- separated by /")
        return f"{CONTROL_PREFIX}/{key}"

    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Create the control object `key` only if it does not exist (atomic); returns
        whether this call created it. Used for locks that several workers share."""
        return self.store.create_exclusive(self._control_key(key), data)

    def read_control(self, key: str) -> bytes | None:
        """The control object `key`, or None when there is none."""
        return self.store.read(self._control_key(key))

    def delete_control(self, key: str) -> None:
        """Remove the control object `key` (no error when it is already gone)."""
        self.store.delete(self._control_key(key))

    # ---- read --------------------------------------------------------------
    def read_bytes(self, zone: str, name: str, ds: str, filename: str) -> bytes:
        data = self.store.read_file(self._partition(zone, name, ds), filename)
        if data is None:
            raise LakeError(
                f"missing file {zone}/{name}/ds={ds}/{filename} in the lake at {self.uri}"
            )
        return data

    def read_lineage(self, zone: str, name: str, ds: str) -> dict | None:
        data = self.store.read(f"{self._partition(zone, name, ds)}/{LINEAGE_FILE}")
        return json.loads(data) if data is not None else None

    def read_frame(self, zone: str, name: str, ds: str, filename: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.read_bytes(zone, name, ds, filename)))

    def read_frames(self, zone: str, name: str, dates: list[str], filename: str) -> pd.DataFrame:
        """Concatenate the Parquet files of several partitions (missing ones are an error)."""
        frames = [self.read_frame(zone, name, ds, filename) for ds in dates]
        if not frames:
            raise LakeError(f"no partitions of {zone}/{name} to read")
        return pd.concat(frames, ignore_index=True)

    def write_report(self, name: str, ds: str, files: dict[str, bytes], lineage: dict) -> str:
        """Commit a report partition under reports/<name>/ds=<ds>/; returns its location."""
        self.commit_partition("reports", name, ds, files, lineage)
        return self.location("reports", name, ds)
