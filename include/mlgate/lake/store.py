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
import logging
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import pandas as pd

from mlgate.lake.names import partition_date, valid_date

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
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_DOCUMENT_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


log = logging.getLogger(__name__)


class LakeError(RuntimeError):
    """A lake operation failed; the message says what and where."""


class IntegrityError(LakeError):
    """A committed partition's content no longer matches its lineage, or cannot be read:
    the message names the partition, the file, the hashes and how to repair it."""


class LineageError(IntegrityError):
    """A partition's `_lineage.json` is damaged, or missing beside the partition's files."""


LABELS_REPAIR = (
    "re-ingest the day's outcomes: clear and re-run the labels task of the ingest DAG of {model} "
    "(mlgate_{model}_ingest) in the run that lands the outcomes of {ds} (the run of the day they "
    "are delivered, the spec's outcomes delay after {ds}); or restore the file from a backup"
)
REPAIR = {
    "outcomes": LABELS_REPAIR,
    "golden": LABELS_REPAIR,  # golden days are frozen as their labels land
    "landing": "deliver the day's file again (the upstream's job; `mlgate land` or "
    "`mlgate simulate` replay a table into landing), or restore the file from a backup",
    "predictions": "re-run the score DAG of {model} (mlgate_{model}_score) for {ds} with the "
    "parameter rescore (a day already scored is otherwise left as it is), or restore the file "
    "from a backup",
    "reports": "re-run the DAG that wrote this report for {ds}, or restore it from a backup",
}
REINGEST = (
    "re-ingest the day: clear and re-run the ingest DAG of {model} (mlgate_{model}_ingest) for "
    "{ds}, or `mlgate run --spec <spec> --start {ds} --end {ds}`, which rewrites the partition "
    "from its delivery; or restore the file from a backup"
)


def repair_hint(partition: str) -> str:
    """What an operator does about a damaged partition `<zone>/<name>/ds=<ds>`."""
    zone, name, folder = partition.split("/")[:3]
    model = name.removesuffix("-outcomes").removesuffix("-shadow")
    return REPAIR.get(zone, REINGEST).format(model=model, ds=folder.removeprefix("ds="))


def parse_lineage(data: bytes, partition: str, where: str) -> dict:
    """The lineage `data` of `partition` read from `where`; a LineageError naming the file
    and the repair when it is not a lineage (truncated, not JSON, no file hashes)."""
    try:
        lineage = json.loads(data)
        why = "it has no file hashes"
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        lineage, why = None, f"it is not JSON: {exc}"
    if isinstance(lineage, dict) and isinstance(lineage.get("files"), dict):
        return lineage
    raise LineageError(
        f"the lineage {where} of partition {partition} is damaged ({why}); nothing in the "
        f"partition can be verified, so it is not read. To repair it, {repair_hint(partition)}"
    )


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
# read(key), children(prefix), files(partition), read_file(partition, filename, digest),
# publish(partition, files, lineage, previous), unpublish(partition),
# create_exclusive(key, data), put(key, data), delete(key). LocalStore is here, S3Store in
# lake_s3.py.


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

    def children(self, prefix: str) -> dict[str, bool]:
        """The folders right under `prefix` that hold files, each with whether it holds a
        lineage (staging and trash folders, named `.<...>`, are not listed)."""
        base = self.root / prefix
        if not base.is_dir():
            return {}
        out = {}
        for child in base.iterdir():
            if child.name.startswith(".") or not child.is_dir():
                continue
            if (child / LINEAGE_FILE).is_file():
                out[child.name] = True
            elif any(p.is_file() for p in child.iterdir()):
                out[child.name] = False
        return out

    def files(self, partition: str) -> list[str] | None:
        """File names of a partition (lineage excepted), None when there is no partition."""
        path = self.root / partition
        if not path.is_dir():
            return None
        return sorted(p.name for p in path.iterdir() if p.is_file() and p.name != LINEAGE_FILE)

    def read_file(self, partition: str, filename: str, digest: str | None) -> bytes | None:
        """A file of a partition (`digest`, its hash in the lineage, is not needed here)."""
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

    def put(self, key: str, data: bytes) -> None:
        """Write the object `key`: a temporary file renamed over it (readers see the old
        content or the new, never half of it)."""
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.parent / f".tmp-{path.name}-{uuid.uuid4().hex}"
        try:
            staging.write_bytes(data)
            os.replace(staging, path)
        finally:
            staging.unlink(missing_ok=True)

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
        if not _NAME_RE.fullmatch(str(name)) or not valid_date(ds):
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
        """Partition dates of `zone/name`, sorted: the committed ones, and (outside landing,
        where an upstream may put files without one) those that hold files but lost their
        lineage, so that reading them says so instead of the day vanishing. A folder that is
        not a partition (`ds=2013-02-30`, `ds=garbage`) is skipped with a warning."""
        out = []
        for child, has_lineage in self.store.children(f"{self._zone(zone)}/{name}").items():
            day = partition_date(child)
            if day is None:
                log.warning(
                    "the lake %s: skipped %s, which is not a partition (ds=YYYY-MM-DD, a real "
                    "date); move or delete it",
                    self.uri,
                    self.store.location(f"{zone}/{name}/{child}"),
                )
            elif has_lineage or zone != "landing":
                out.append(day)
        return sorted(out)

    def odd_folders(self, zone: str, name: str) -> list[str]:
        """Where the folders of `zone/name` that are not partitions are (`ds=2013-02-30`,
        `ds=garbage`): `list_partitions` skips them; the monitor's data checks name them."""
        children = self.store.children(f"{self._zone(zone)}/{name}")
        return sorted(
            self.store.location(f"{zone}/{name}/{child}")
            for child in children
            if partition_date(child) is None
        )

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
        try:
            current = self._lineage(partition)
        except LineageError:  # damaged or missing: this commit replaces it
            current = None
        if (
            current is not None
            and current["files"] == hashes
            and self._holds(partition, files, hashes)
        ):
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

    # ---- documents outside the daily partitions -----------------------------
    def _document(self, zone: str, key: str) -> str:
        """A document's key: folders and a file name of letters, digits and _.- (no `..`,
        no `=`, so it is never taken for a partition)."""
        parts = str(key).split("/")
        if not all(_DOCUMENT_PART_RE.fullmatch(p) and ".." not in p for p in parts):
            raise LakeError(
                f"document {zone}/{key!r}: use folders and a file name of letters, digits and "
                "_.- separated by /"
            )
        return f"{self._zone(zone)}/{key}"

    def write_document(self, zone: str, key: str, data: bytes) -> str:
        """Put a file outside the daily partitions (a Data Docs index, its styles), replacing
        the previous one at once; returns its location."""
        path = self._document(zone, key)
        self.store.put(path, data)
        return self.store.location(path)

    def read_document(self, zone: str, key: str) -> bytes | None:
        """A file written by `write_document`, or None when there is none."""
        return self.store.read(self._document(zone, key))

    # ---- read --------------------------------------------------------------
    def _lineage(self, partition: str) -> dict | None:
        """The partition's lineage; None when there is no partition (or, in landing, only
        files an upstream put there). A LineageError when it is damaged, or missing beside
        files outside landing (the folder lake only: on S3 the lineage is the commit)."""
        key = f"{partition}/{LINEAGE_FILE}"
        data = self.store.read(key)
        if data is not None:
            return parse_lineage(data, partition, self.store.location(key))
        if not partition.startswith("landing/") and self.store.files(partition):
            raise LineageError(
                f"partition {partition} holds files but no lineage ({self.store.location(key)} "
                "is missing): its content cannot be verified, so it is not read. To repair it, "
                f"{repair_hint(partition)}"
            )
        return None

    def _holds(self, partition: str, files: dict[str, bytes], hashes: dict[str, str]) -> bool:
        """Whether the committed partition's files are byte for byte `files`, whose hashes
        its lineage names (a re-commit of the same content repairs a partition whose files
        were damaged since, instead of leaving them as they are)."""
        return all(
            self.store.read_file(partition, fname, hashes[fname]) == data
            for fname, data in files.items()
        )

    def read_verified(self, zone: str, name: str, ds: str, filename: str) -> tuple[bytes, str]:
        """A file of a partition with the sha256 of its bytes, checked against the
        partition's lineage (hashed once, over the bytes read). IntegrityError when they
        differ or when the lineage names a file that is gone; a file an upstream put in
        landing without a lineage is read as it is."""
        partition = self._partition(zone, name, ds)
        where = f"{partition}/{filename}"
        previous = None
        for _ in range(3):
            lineage = self._lineage(partition)
            expected = None if lineage is None else lineage["files"].get(filename)
            if lineage is not None and expected is None:
                break
            data = self.store.read_file(partition, filename, expected)
            digest = None if data is None else sha256_bytes(data)
            if data is not None and (expected is None or digest == expected):
                return data, digest
            if lineage is None or lineage == previous:
                break
            previous = lineage  # re-committed while it was read: read the new lineage
        if previous is None or data is None and expected is None:
            raise LakeError(f"missing file {where} in the lake at {self.uri}")
        seen = "is missing" if data is None else f"has sha256 {digest}"
        raise IntegrityError(
            f"partition {partition}: {self.store.location(where)} {seen}, but its lineage "
            f"says sha256 {expected}: the file changed after it was committed, and nothing "
            f"read from it can be trusted. To repair it, {repair_hint(partition)}"
        )

    def read_bytes(self, zone: str, name: str, ds: str, filename: str) -> bytes:
        """A file of a partition, checked against its lineage (see `read_verified`)."""
        return self.read_verified(zone, name, ds, filename)[0]

    def read_lineage(self, zone: str, name: str, ds: str) -> dict | None:
        """The partition's lineage, None when there is none (LineageError when damaged)."""
        return self._lineage(self._partition(zone, name, ds))

    def read_frame_verified(
        self, zone: str, name: str, ds: str, filename: str
    ) -> tuple[pd.DataFrame, str]:
        """A Parquet file of a partition as a frame, with the sha256 of the bytes read."""
        data, digest = self.read_verified(zone, name, ds, filename)
        try:
            return pd.read_parquet(io.BytesIO(data)), digest
        except Exception as exc:  # pyarrow says ArrowInvalid, OSError, ... and names no file
            raise IntegrityError(
                f"partition {zone}/{name}/ds={ds}: {self.location(zone, name, ds)}/{filename} "
                f"is not readable Parquet ({type(exc).__name__}: {exc}). To repair it, "
                f"{repair_hint(self._partition(zone, name, ds))}"
            ) from exc

    def read_frame(self, zone: str, name: str, ds: str, filename: str) -> pd.DataFrame:
        """A Parquet file of a partition, checked against its lineage."""
        return self.read_frame_verified(zone, name, ds, filename)[0]

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
