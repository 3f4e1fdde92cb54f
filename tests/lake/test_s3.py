"""The lake on S3 through boto3, against moto's S3 server run as a separate process over
HTTP (the behaviour shared with the folder lake runs on both in test_lake.py): the layout,
a commit that dies half-way, a reader racing a re-commit, paginated listing, readable
errors for a missing bucket and for bad or missing credentials, retries on throttling and
server errors, a lock taken by exactly one of several workers, and the real ingest of
flights days (land, GX gate, quarantine) on S3."""

import hashlib
import http.client
import http.server
import json
import threading
import uuid
from urllib.parse import urlparse

import boto3
import pytest

from mlgate.demo import simulator
from mlgate.ingest import landing
from mlgate.lake import names
from mlgate.lake.s3 import S3Store
from mlgate.lake.store import Lake, LakeError
from tests.helpers import free_port, mlgate, run_info

DS = "2013-01-01"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_keys(lake) -> set[str]:
    """Every object under the lake's prefix, relative to it."""
    store = lake.store
    pages = store.client.get_paginator("list_objects_v2").paginate(
        Bucket=store.bucket, Prefix=store.prefix + "/"
    )
    return {
        item["Key"][len(store.prefix) + 1 :] for page in pages for item in page.get("Contents", [])
    }


def on_call(lake, operation, handler):
    """Run `handler(params)` before each `operation` call the lake's S3 client makes."""
    lake.store.client.meta.events.register(
        f"before-parameter-build.s3.{operation}", lambda params, **_: handler(params)
    )


def fresh_uri(bucket="mlgate-tests") -> str:
    return f"s3://{bucket}/{uuid.uuid4().hex[:12]}/lake"


def test_the_uri_picks_s3_and_names_its_locations(s3_lake):
    assert isinstance(s3_lake.store, S3Store) and s3_lake.uri.startswith("s3://mlgate-tests/")
    assert s3_lake.location("raw", "m", DS) == f"{s3_lake.uri}/raw/m/ds={DS}"
    assert (
        s3_lake.write_landing("flights", DS, "flights.csv", b"a\n1\n")
        == f"{s3_lake.uri}/landing/flights/ds={DS}"
    )
    assert Lake.from_uri("s3://bucket").uri == "s3://bucket"
    with pytest.raises(LakeError, match="no bucket; use s3://bucket/prefix"):
        Lake.from_uri("s3:///prefix")


def test_files_are_stored_under_their_hash_and_a_recommit_deletes_the_replaced_ones(s3_lake):
    s3_lake.commit_partition("raw", "m", DS, {"a.csv": b"1", "b.csv": b"1"}, {})
    part = f"raw/m/ds={DS}"
    assert stored_keys(s3_lake) == {
        f"{part}/_lineage.json",
        f"{part}/{sha(b'1')}/a.csv",
        f"{part}/{sha(b'1')}/b.csv",
    }
    s3_lake.commit_partition("raw", "m", DS, {"a.csv": b"2", "b.csv": b"1"}, {})
    assert stored_keys(s3_lake) == {
        f"{part}/_lineage.json",
        f"{part}/{sha(b'2')}/a.csv",
        f"{part}/{sha(b'1')}/b.csv",
    }
    assert s3_lake.read_bytes("raw", "m", DS, "a.csv") == b"2"


class WorkerDied(RuntimeError):
    pass


def test_a_commit_that_dies_before_its_lineage_leaves_the_partition_as_it_was(s3_lake):
    s3_lake.commit_partition(
        "raw", "m", DS, {"a.csv": b"old", "b.csv": b"old"}, {"run_id": "first"}
    )

    def die_at_the_lineage(params):
        if params["Key"].endswith("_lineage.json"):
            raise WorkerDied("the worker was killed")

    on_call(s3_lake, "PutObject", die_at_the_lineage)
    with pytest.raises(WorkerDied):
        s3_lake.commit_partition(
            "raw", "m", DS, {"a.csv": b"new", "b.csv": b"new"}, {"run_id": "second"}
        )
    with pytest.raises(WorkerDied):
        s3_lake.commit_partition("raw", "m", "2013-01-02", {"a.csv": b"new"}, {"run_id": "second"})
    assert any(sha(b"new") in key for key in stored_keys(s3_lake))  # the data objects were written
    reader = Lake.from_uri(s3_lake.uri)
    assert reader.list_partitions("raw", "m") == [DS] and not reader.exists(
        "raw", "m", "2013-01-02"
    )
    assert reader.read_lineage("raw", "m", DS)["run_id"] == "first"
    assert [reader.read_bytes("raw", "m", DS, f) for f in ("a.csv", "b.csv")] == [b"old", b"old"]


def test_a_reader_racing_a_recommit_reads_the_new_file_whole(s3_lake):
    s3_lake.commit_partition("raw", "m", DS, {"a.csv": b"old"}, {})
    writer = Lake.from_uri(s3_lake.uri)
    raced = []

    def recommit_after_the_reader_saw_the_old_lineage(params):
        if params["Key"].endswith(f"{sha(b'old')}/a.csv") and not raced:
            raced.append(writer.commit_partition("raw", "m", DS, {"a.csv": b"new"}, {}))

    on_call(s3_lake, "GetObject", recommit_after_the_reader_saw_the_old_lineage)
    assert s3_lake.read_bytes("raw", "m", DS, "a.csv") == b"new"
    assert raced and raced[0]["files"] == {"a.csv": sha(b"new")}


def test_removing_a_partition_deletes_its_lineage_first(s3_lake):
    s3_lake.commit_partition("validated", "m", DS, {"a.parquet": b"1", "b.json": b"2"}, {})
    deleted = []
    on_call(
        s3_lake,
        "DeleteObjects",
        lambda params: deleted.append(sorted(o["Key"] for o in params["Delete"]["Objects"])),
    )
    assert s3_lake.remove_partition("validated", "m", DS)
    assert deleted[0] == [f"{s3_lake.store.prefix}/validated/m/ds={DS}/_lineage.json"]
    assert stored_keys(s3_lake) == set() and not s3_lake.exists("validated", "m", DS)
    assert not s3_lake.remove_partition("validated", "m", DS)


def test_listing_reads_every_page(s3_lake):
    dates = [f"2013-01-0{d}" for d in range(1, 6)]
    for ds in dates:
        s3_lake.commit_partition("raw", "m", ds, {"a.csv": ds.encode()}, {})
    s3_lake.store.page_size = 2  # 10 objects: 5 pages
    pages = []
    on_call(s3_lake, "ListObjectsV2", pages.append)
    assert s3_lake.list_partitions("raw", "m") == dates
    assert len(pages) == 5


def test_an_upstream_file_put_without_lineage_is_landed(s3_lake):
    """An upstream delivers to S3 with a plain PUT of landing/<feed>/ds=D/<file>."""
    s3_lake.store.client.put_object(
        Bucket=s3_lake.store.bucket,
        Key=f"{s3_lake.store.prefix}/landing/flights/ds={DS}/flights.csv",
        Body=b"a\n1\n",
    )
    assert s3_lake.exists("landing", "flights", DS, "flights.csv") and not s3_lake.exists(
        "landing", "flights", DS
    )
    assert s3_lake.read_bytes("landing", "flights", DS, "flights.csv") == b"a\n1\n"


# ---- errors that say what to do ---------------------------------------------


def test_a_missing_bucket_names_the_bucket_the_uri_and_the_settings(moto_endpoint, aws_env):
    aws_env(moto_endpoint)
    lake = Lake.from_uri("s3://no-such-lake/prod")
    for call in (
        lambda: lake.list_partitions("raw", "m"),
        lambda: lake.commit_partition("raw", "m", DS, {"a": b"1"}, {}),
    ):
        with pytest.raises(LakeError) as error:
            call()
        message = str(error.value)
        assert (
            "bucket 'no-such-lake' does not exist" in message
            and "s3://no-such-lake/prod" in message
        )
        assert "MLGATE_LAKE_URI" in message and "AWS_ENDPOINT_URL" in message


@pytest.fixture(scope="module")
def strict_moto(start_moto):
    """A second moto server that checks credentials after its first 3 requests, which
    create the bucket, an IAM user and its access key (with no permission granted)."""
    url = start_moto(INITIAL_NO_AUTH_ACTION_COUNT="3")
    admin = {
        "endpoint_url": url,
        "region_name": "us-east-1",
        "aws_access_key_id": "admin",
        "aws_secret_access_key": "admin",
    }
    boto3.client("s3", **admin).create_bucket(Bucket="strict-lake")
    iam = boto3.client("iam", **admin)
    iam.create_user(UserName="lake-user")
    key = iam.create_access_key(UserName="lake-user")["AccessKey"]
    return url, key["AccessKeyId"], key["SecretAccessKey"]


@pytest.mark.parametrize("bad", ["wrong secret", "unknown key"])
def test_bad_credentials_say_which_variables_to_set(strict_moto, aws_env, bad):
    url, key_id, secret = strict_moto
    if bad == "wrong secret":
        aws_env(url, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY="not-the-secret")
        code = "SignatureDoesNotMatch"
    else:
        aws_env(url, AWS_ACCESS_KEY_ID="AKIAUNKNOWNUNKNOWN00", AWS_SECRET_ACCESS_KEY=secret)
        code = "InvalidAccessKeyId"
    with pytest.raises(LakeError) as error:
        Lake.from_uri("s3://strict-lake/prod").commit_partition("raw", "m", DS, {"a": b"1"}, {})
    message = str(error.value)
    assert (
        f"rejected the AWS credentials ({code})" in message and "s3://strict-lake/prod" in message
    )
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in message
    assert secret not in message and "not-the-secret" not in message and key_id not in message


def test_valid_credentials_without_permission_say_what_to_grant(strict_moto, aws_env):
    url, key_id, secret = strict_moto
    aws_env(url, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret)
    with pytest.raises(
        LakeError, match=r"access denied .* grant s3:ListBucket, s3:GetObject, s3:PutObject"
    ):
        Lake.from_uri("s3://strict-lake/prod").read_lineage("raw", "m", DS)


def test_no_credentials_at_all_says_which_variables_to_set(moto_endpoint, aws_env):
    aws_env(moto_endpoint, AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
    with pytest.raises(
        LakeError, match="no AWS credentials found. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ):
        Lake.from_uri(fresh_uri()).list_partitions("raw", "m")


def test_an_unreachable_endpoint_says_so(aws_env):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    aws_env(url, AWS_MAX_ATTEMPTS="1")
    with pytest.raises(LakeError, match=f"cannot reach the S3 endpoint {url}.*AWS_ENDPOINT_URL"):
        Lake.from_uri(fresh_uri()).read_lineage("raw", "m", DS)


# ---- retries -----------------------------------------------------------------


class FlakyS3:
    """An HTTP proxy in front of moto that answers the first requests with the given S3
    errors ((status, code), as a real S3 under load does), then forwards every request."""

    def __init__(self, target: str, errors: list[tuple[int, str]]):
        self.errors, self.answered = list(errors), []
        host, port, lock, proxy = (
            urlparse(target).hostname,
            urlparse(target).port,
            threading.Lock(),
            self,
        )

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    error = proxy.errors.pop(0) if proxy.errors else None
                    proxy.answered.append(error[1] if error else "forwarded")
                if error:
                    status, code = error
                    data = (
                        "<?xml version='1.0' encoding='UTF-8'?>"
                        f"<Error><Code>{code}</Code>"
                        "<Message>Please reduce your request rate.</Message></Error>"
                    ).encode()
                    self.send_response(status)
                    headers = {"Content-Type": "application/xml"}
                else:
                    upstream = http.client.HTTPConnection(host, port, timeout=30)
                    upstream.request(self.command, self.path, body=body, headers=dict(self.headers))
                    response = upstream.getresponse()
                    data = response.read()
                    self.send_response(response.status)
                    headers = {
                        k: v
                        for k, v in response.getheaders()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection")
                    }
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_throttling_and_server_errors_are_retried(moto_endpoint, aws_env):
    with FlakyS3(moto_endpoint, [(503, "SlowDown"), (500, "InternalError")]) as s3:
        aws_env(s3.url)
        lake = Lake.from_uri(fresh_uri())
        lineage = lake.commit_partition("raw", "m", DS, {"a.csv": b"1"}, {})
        assert s3.answered[:3] == ["SlowDown", "InternalError", "forwarded"]
        assert (
            lake.read_lineage("raw", "m", DS) == lineage
            and lake.read_bytes("raw", "m", DS, "a.csv") == b"1"
        )


def test_throttling_that_outlasts_the_retries_says_so(moto_endpoint, aws_env):
    with FlakyS3(moto_endpoint, [(503, "SlowDown")] * 10) as s3:
        aws_env(s3.url, AWS_MAX_ATTEMPTS="3")
        with pytest.raises(
            LakeError,
            match=r"still failed after the retries \(SlowDown, HTTP 503\).*AWS_MAX_ATTEMPTS",
        ):
            Lake.from_uri(fresh_uri()).read_lineage("raw", "m", DS)
        assert s3.answered == ["SlowDown"] * 3


# ---- a lock shared by workers --------------------------------------------------


def test_one_worker_of_several_takes_the_lock(s3_lake):
    workers = [
        Lake.from_uri(s3_lake.uri) for _ in range(8)
    ]  # a client (connection pool) each, as separate workers
    for round_ in range(3):
        key, results, start = f"locks/m/promotion-{round_}", {}, threading.Barrier(len(workers))

        def take(i):
            start.wait()
            results[i] = workers[i].create_exclusive(key, f"worker {i}".encode())

        threads = [threading.Thread(target=take, args=(i,)) for i in range(len(workers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [i for i, won in results.items() if won]
        assert len(results) == len(workers) and len(winners) == 1, results
        assert s3_lake.read_control(key) == f"worker {winners[0]}".encode()


# ---- the real ingest on S3 -------------------------------------------------------


def test_ingest_lands_gates_and_quarantines_real_days_on_s3(s3_lake, spec):
    run = run_info("s3")
    first, second = "2013-01-01", "2013-01-02"
    features = {ds: simulator.day_frames(ds)[0] for ds in (first, second)}
    simulator.deliver_features(s3_lake, first)  # committed with a lineage, as the simulator does
    upstream = s3_lake.store.client  # an upstream that PUTs plain objects
    landing_key = f"{s3_lake.store.prefix}/landing/flights/ds={second}/flights.csv"
    upstream.put_object(
        Bucket=s3_lake.store.bucket, Key=landing_key, Body=simulator.to_csv_bytes(features[second])
    )
    for ds in (first, second):
        assert landing.landed(s3_lake, spec, ds)
        raw = landing.land_features(s3_lake, spec, ds, run)
        assert raw["files"]["flights.csv"] == sha(simulator.to_csv_bytes(features[ds]))
        assert landing.gate_features(s3_lake, spec, ds, run).success
        validated = s3_lake.read_frame("validated", spec.model, ds, names.FEATURES_FILE)
        assert list(validated["flight_id"]) == list(features[ds]["flight_id"])
    assert s3_lake.list_partitions("validated", spec.model) == [first, second]

    broken = features[second].assign(carrier=features[second]["carrier"].str.lower())
    upstream.put_object(
        Bucket=s3_lake.store.bucket, Key=landing_key, Body=simulator.to_csv_bytes(broken)
    )
    landing.land_features(s3_lake, spec, second, run)
    with pytest.raises(landing.GateRejected, match="carrier"):
        landing.gate_features(s3_lake, spec, second, run)
    reason = json.loads(s3_lake.read_bytes("quarantine", spec.model, second, names.REASON_FILE))
    assert any(f["column"] == "carrier" for f in reason["failures"])
    assert s3_lake.read_bytes(
        "quarantine", spec.model, second, "flights.csv"
    ) == simulator.to_csv_bytes(broken)
    assert s3_lake.list_partitions("validated", spec.model) == [first]
    assert not json.loads(
        s3_lake.read_bytes("reports", f"{spec.model}-gate-features", second, "result.json")
    )["success"]


def test_the_command_line_reports_a_lake_error_without_a_traceback(moto_endpoint, aws_env):
    aws_env(moto_endpoint)
    out = mlgate(
        "simulate",
        "--start",
        "2013-01-01",
        "--end",
        "2013-01-01",
        "--lake",
        "s3://no-such-lake/x",
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        "mlgate simulate: the lake s3://no-such-lake/x: bucket 'no-such-lake' does not exist"
        in out.stderr
    )
