"""The lake on S3 through boto3: `S3Store`, the store behind `Lake` for `s3://bucket/prefix`.

A committed partition is its `_lineage.json` plus one object per file at
`<partition>/<sha256>/<file>`. S3 has no rename, so a commit puts the files under their
content hash first and the lineage last: the lineage PUT (atomic on S3) is the commit.
Readers find the files through the lineage, so they never see half a partition nor a mix
of two commits; the files that a re-commit replaces are deleted after it. Removal deletes
the lineage first. Control objects (locks) are created with `If-None-Match: *`.

Every S3 failure becomes a `LakeError` that names the lake, the bucket and the settings to
fix; credentials are only read by boto3 from its standard chain, never logged.
"""

from __future__ import annotations

import os
import time

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from mlgate.lake.store import LINEAGE_FILE, LakeError, lineage_bytes, parse_lineage

DEFAULT_MAX_ATTEMPTS = 5
CREDENTIAL_ERRORS = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
}
RETRIED_STATUS = {
    500,
    502,
    503,
    504,
}  # what botocore's standard mode retries, with the throttling codes
THROTTLING_ERRORS = {
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
}


def s3_client():
    """A boto3 S3 client set up by the standard AWS environment, which boto3 reads itself:
    endpoint `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (unset for AWS; a custom endpoint
    such as MinIO or moto is addressed path-style), region `AWS_DEFAULT_REGION`,
    credentials from boto3's chain (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`,
    `AWS_PROFILE`, an instance or task role). Throttling (SlowDown, 503) and server errors
    (5xx, timeouts, dropped connections) are retried with exponential backoff and jitter
    by botocore's `standard` retry mode (`AWS_RETRY_MODE=adaptive` adds client-side rate
    limiting), up to `AWS_MAX_ATTEMPTS` attempts in all (default 5)."""
    import boto3
    from botocore.config import Config

    try:
        attempts = int(os.environ.get("AWS_MAX_ATTEMPTS") or DEFAULT_MAX_ATTEMPTS)
    except ValueError:
        raise LakeError(
            f"AWS_MAX_ATTEMPTS={os.environ['AWS_MAX_ATTEMPTS']!r} is not a number"
        ) from None
    custom_endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(
        retries={
            "mode": os.environ.get("AWS_RETRY_MODE") or "standard",
            "total_max_attempts": attempts,
        },
        s3={"addressing_style": "path"} if custom_endpoint else None,
    )
    return boto3.session.Session().client("s3", config=config)


def error_code(exc: Exception) -> str | None:
    return exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None


class S3Store:
    """The lake's objects under `s3://bucket/prefix` (keys as in `LocalStore`)."""

    page_size = 1000  # keys per ListObjectsV2 page (S3's maximum)

    def __init__(self, bucket: str, prefix: str = "", client=None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client if client is not None else s3_client()

    def __repr__(self) -> str:
        return f"S3Store({self.uri!r})"

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    @staticmethod
    def _data_key(partition: str, filename: str, digest: str) -> str:
        return f"{partition}/{digest}/{filename}"

    def _data_keys(self, partition: str, lineage: dict | None) -> set[str]:
        files = (lineage or {}).get("files", {})
        return {self._data_key(partition, fname, digest) for fname, digest in files.items()}

    # ---- S3 calls ----------------------------------------------------------
    def _call(self, operation: str, passthrough: tuple[str, ...] = (), **params):
        """Run one S3 operation on the bucket. Failures become a LakeError that says what
        to do, except the error codes in `passthrough`, which the caller handles."""
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except ClientError as exc:
            if error_code(exc) in passthrough:
                raise
            raise self._error(operation, params.get("Key"), exc) from exc
        except BotoCoreError as exc:
            raise self._error(operation, params.get("Key"), exc) from exc

    def _error(self, operation: str, key: str | None, exc: Exception) -> LakeError:
        """A LakeError naming the lake, the bucket and the settings to fix (never a secret)."""
        endpoint = self.client.meta.endpoint_url
        where = f"s3://{self.bucket}/{key}" if key else self.uri
        code = error_code(exc)
        if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
            return LakeError(
                f"the lake {self.uri}: no AWS credentials found. Set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run with an instance or task role)"
            )
        if isinstance(exc, EndpointConnectionError):
            return LakeError(
                f"the lake {self.uri}: cannot reach the S3 endpoint {endpoint}. Is the server up? "
                "Set AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL to its URL (unset both for AWS itself)"
            )
        if code == "NoSuchBucket":
            return LakeError(
                f"the lake {self.uri}: bucket {self.bucket!r} does not exist at {endpoint}. Create "
                f"it (e.g. `aws s3 mb s3://{self.bucket}`), or set MLGATE_LAKE_URI to an existing "
                "bucket and AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL to the server that holds it"
            )
        if code in CREDENTIAL_ERRORS:
            return LakeError(
                f"the lake {self.uri}: {endpoint} rejected the AWS credentials ({code}). Set "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
                "ones) to a valid key pair for this server, or AWS_PROFILE to a profile that has "
                "one"
            )
        if code in ("AccessDenied", "AllAccessDisabled"):
            return LakeError(
                f"the lake {self.uri}: access denied to {operation} on {where}. The credentials "
                "are valid but lack permission: grant s3:ListBucket, s3:GetObject, s3:PutObject "
                f"and s3:DeleteObject on bucket {self.bucket!r}"
            )
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if code else None
        if code in THROTTLING_ERRORS or status in RETRIED_STATUS:
            return LakeError(
                f"the lake {self.uri}: {operation} on {where} still failed after the retries "
                f"({code}, HTTP {status}): the S3 server is overloaded or failing. Try again "
                "later, or allow more attempts with AWS_MAX_ATTEMPTS"
            )
        return LakeError(f"the lake {self.uri}: {operation} on {where} failed: {exc}")

    def _put(self, key: str, data: bytes) -> None:
        self._call("put_object", Key=self._key(key), Body=data)

    def _delete(self, keys: list[str]) -> None:
        """Delete objects, at most 1000 per request (S3's limit)."""
        for start in range(0, len(keys), 1000):
            batch = [{"Key": self._key(key)} for key in keys[start : start + 1000]]
            response = self._call("delete_objects", Delete={"Objects": batch, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise LakeError(
                    f"the lake {self.uri}: could not delete s3://{self.bucket}/{first['Key']}: "
                    f"{first.get('Code')}: {first.get('Message')}"
                )

    def _list(self, prefix: str) -> list[str]:
        """Every key under `prefix/`, relative to it, through all the pages."""
        base = self._key(prefix) + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base, PaginationConfig={"PageSize": self.page_size}
        )
        try:
            return [item["Key"][len(base) :] for page in pages for item in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise self._error("list_objects_v2", base, exc) from exc

    def _lineage(self, partition: str) -> dict | None:
        key = f"{partition}/{LINEAGE_FILE}"
        data = self.read(key)
        return parse_lineage(data, partition, self.location(key)) if data is not None else None

    # ---- the store ---------------------------------------------------------
    def read(self, key: str) -> bytes | None:
        """The object `key`, or None when there is none."""
        try:
            response = self._call("get_object", passthrough=("NoSuchKey",), Key=self._key(key))
        except ClientError:
            return None
        try:
            return response["Body"].read()
        except BotoCoreError as exc:  # the connection broke while streaming the body
            raise self._error("get_object", self._key(key), exc) from exc

    def children(self, prefix: str) -> dict[str, bool]:
        """The "folders" right under `prefix` that hold a lineage (True) or objects of their
        own without one (False, as an upstream puts them); objects under a content hash
        without a lineage are a commit that never finished, not listed."""
        out: dict[str, bool] = {}
        for rel in self._list(prefix):
            parts = rel.split("/")
            if len(parts) == 2:
                out[parts[0]] = out.get(parts[0], False) or parts[1] == LINEAGE_FILE
        return out

    def files(self, partition: str) -> list[str] | None:
        """File names of a partition: its lineage's, or the objects an upstream put there."""
        lineage = self._lineage(partition)
        if lineage is not None:
            return sorted(lineage.get("files", {}))
        plain = sorted(
            rel for rel in self._list(partition) if "/" not in rel and rel != LINEAGE_FILE
        )
        return plain or None

    def read_file(self, partition: str, filename: str, digest: str | None) -> bytes | None:
        """A file of a partition: the object under `digest`, its hash in the lineage (None
        for a file an upstream put there without a lineage, read as it is)."""
        if digest is None:
            return self.read(f"{partition}/{filename}")
        return self.read(self._data_key(partition, filename, digest))

    def publish(
        self, partition: str, files: dict[str, bytes], lineage: dict, previous: dict | None
    ) -> None:
        """Put the files under their hashes, then the lineage (the commit), then delete the
        files of the previous lineage that the new one no longer names."""
        for fname, data in files.items():
            self._put(self._data_key(partition, fname, lineage["files"][fname]), data)
        self._put(f"{partition}/{LINEAGE_FILE}", lineage_bytes(lineage))
        self._delete(
            sorted(self._data_keys(partition, previous) - self._data_keys(partition, lineage))
        )

    def unpublish(self, partition: str) -> bool:
        """Delete the lineage first (readers stop seeing the partition), then the rest."""
        keys = self._list(partition)
        if LINEAGE_FILE in keys:
            self._delete([f"{partition}/{LINEAGE_FILE}"])
        self._delete([f"{partition}/{rel}" for rel in keys if rel != LINEAGE_FILE])
        return bool(keys)

    def create_exclusive(self, key: str, data: bytes) -> bool:
        """PutObject with If-None-Match: *, which S3 applies atomically. (Should botocore
        retry a put whose first answer was lost, the retry sees the object and this
        returns False: the lock then looks taken, the safe side.)"""
        for attempt in range(5):
            try:
                self._call(
                    "put_object",
                    passthrough=("PreconditionFailed", "ConditionalRequestConflict"),
                    Key=self._key(key),
                    Body=data,
                    IfNoneMatch="*",
                )
                return True
            except ClientError as exc:
                if error_code(exc) == "PreconditionFailed":
                    return False
                time.sleep(0.1 * 2**attempt)  # ConditionalRequestConflict: S3 asks to try again
        raise LakeError(
            f"could not create {self.location(key)}: S3 kept reporting a concurrent write; "
            "try again"
        )

    def put(self, key: str, data: bytes) -> None:
        """Write the object `key` (a PUT replaces an object at once)."""
        self._put(key, data)

    def delete(self, key: str) -> None:
        self._call("delete_object", Key=self._key(key))
