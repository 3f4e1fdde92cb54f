"""Nothing silently wrong in the lake (issue 16), on real flights days, for a lake in a folder
and one on S3 (moto's server): a partition whose bytes changed after its commit, or whose
file is truncated, stops the read with the partition, the hashes and the repair; re-ingesting
the day repairs it; a folder that is not a partition is skipped with a warning; a damaged or
missing `_lineage.json` is an error naming the file."""

import hashlib
import logging

import pandas as pd
import pytest

from mlgate.demo import simulator
from mlgate.ingest import landing
from mlgate.lake.names import FEATURES_FILE
from mlgate.lake.store import IntegrityError, Lake, LineageError, LocalStore
from mlgate.train.window import labelled_days, window_lineage
from tests.helpers import deliver_and_ingest, ingest_real_days, run_info

DS = "2013-01-01"
MODEL = "flights_late"  # the demo spec's model
PARTITION = f"validated/{MODEL}/ds={DS}"


@pytest.fixture(params=["file", "s3"])
def lake(request, tmp_path):
    if request.param == "s3":
        return request.getfixturevalue("s3_lake")
    return Lake.from_uri(f"file://{tmp_path / 'lake'}")


def stored_key(lake, partition: str, filename: str) -> str:
    """Where the store keeps a committed file (S3: under its content hash)."""
    if isinstance(lake.store, LocalStore):
        return f"{partition}/{filename}"
    digest = lake.read_lineage(*partition.replace("ds=", "").split("/"))["files"][filename]
    return f"{partition}/{digest}/{filename}"


def get(lake, key: str) -> bytes:
    if isinstance(lake.store, LocalStore):
        return (lake.store.root / key).read_bytes()
    store = lake.store
    return store.client.get_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}")["Body"].read()


def put(lake, key: str, data: bytes) -> None:
    """Change an object behind the lake's back (a disk, a person, a sync tool)."""
    if isinstance(lake.store, LocalStore):
        path = lake.store.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        store = lake.store
        store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}", Body=data)


def ingest(lake, spec, ds: str = DS) -> None:
    ingest_real_days(lake, spec, ds, ds)


def test_a_flipped_byte_stops_the_read_and_reingesting_the_day_repairs_it(lake, spec):
    ingest(lake, spec)
    good = lake.read_frame("validated", MODEL, DS, FEATURES_FILE)
    key = stored_key(lake, PARTITION, FEATURES_FILE)
    data = bytearray(get(lake, key))
    data[len(data) // 2] ^= 0x40
    put(lake, key, bytes(data))
    committed = lake.read_lineage("validated", MODEL, DS)["files"][FEATURES_FILE]
    with pytest.raises(IntegrityError) as caught:
        lake.read_frame("validated", MODEL, DS, FEATURES_FILE)
    message = str(caught.value)
    assert PARTITION in message and committed in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message
    assert "re-ingest the day" in message and "mlgate_flights_late_ingest" in message

    run = run_info("again")
    landing.land_features(lake, spec, DS, run)
    landing.gate_features(lake, spec, DS, run)
    assert (
        hashlib.sha256(get(lake, stored_key(lake, PARTITION, FEATURES_FILE))).hexdigest()
        == (lake.read_lineage("validated", MODEL, DS)["files"][FEATURES_FILE])
    )
    pd.testing.assert_frame_equal(lake.read_frame("validated", MODEL, DS, FEATURES_FILE), good)


def test_a_truncated_parquet_file_names_its_partition(lake, spec):
    ingest(lake, spec)
    key = stored_key(lake, PARTITION, FEATURES_FILE)
    put(lake, key, get(lake, key)[:1000])
    with pytest.raises(IntegrityError, match=f"{PARTITION}: .*/{FEATURES_FILE} has sha256"):
        lake.read_frame("validated", MODEL, DS, FEATURES_FILE)
    # a file committed truncated (its lineage vouches for the bytes) is no Parquet either
    whole = simulator.to_csv_bytes(simulator.day_frames(DS)[0])
    lake.commit_partition("raw", MODEL, DS, {"f.parquet": whole[:500]}, {})
    with pytest.raises(IntegrityError, match=f"raw/{MODEL}/ds={DS}: .*/f.parquet is not readable"):
        lake.read_frame("raw", MODEL, DS, "f.parquet")


def test_folders_that_are_not_partitions_are_skipped_with_a_warning(lake, spec, caplog):
    ingest(lake, spec)
    files = {FEATURES_FILE: get(lake, stored_key(lake, PARTITION, FEATURES_FILE))}
    for odd in ("ds=2013-02-30", "ds=garbage", "ds=2013-13-45"):
        put(lake, f"validated/{MODEL}/{odd}/{FEATURES_FILE}", files[FEATURES_FILE])
        put(lake, f"validated/{MODEL}/{odd}/_lineage.json", b'{"files": {}}')
    with caplog.at_level(logging.WARNING, logger="mlgate.lake.store"):
        assert lake.list_partitions("validated", MODEL) == [DS]
    for odd in ("ds=2013-02-30", "ds=garbage", "ds=2013-13-45"):
        assert f"validated/{MODEL}/{odd}, which is not a partition" in caplog.text
    ingest(lake, spec, "2013-01-02")
    assert lake.list_partitions("validated", MODEL) == [DS, "2013-01-02"]


def test_a_damaged_lineage_names_the_file_and_reingest_repairs_it(lake, spec):
    ingest(lake, spec)
    put(lake, f"{PARTITION}/_lineage.json", b'{"files": {"features.parq')
    where = f"{lake.location('validated', MODEL, DS)}/_lineage.json"
    for read in (
        lambda: lake.read_frame("validated", MODEL, DS, FEATURES_FILE),
        lambda: window_lineage(lake, spec, labelled_days(lake, spec, "2013-01-02")),
    ):
        with pytest.raises(LineageError) as caught:
            read()
        assert f"the lineage {where} of partition {PARTITION} is damaged" in str(caught.value)
        assert "re-ingest the day" in str(caught.value)
    ingest(lake, spec)
    assert len(lake.read_frame("validated", MODEL, DS, FEATURES_FILE)) == len(
        simulator.day_frames(DS)[0]
    )


def test_a_missing_lineage_does_not_drop_the_day_from_training(tmp_path, spec):
    lake = Lake.from_uri(f"file://{tmp_path / 'lake'}")  # on S3 the lineage is the commit
    ingest(lake, spec)
    (lake.store.root / PARTITION / "_lineage.json").unlink()
    assert labelled_days(lake, spec, "2013-01-02") == [DS]
    with pytest.raises(LineageError, match=f"{PARTITION} holds files but no lineage .*_lineage"):
        window_lineage(lake, spec, [DS])
    ingest(lake, spec)
    assert window_lineage(lake, spec, [DS])[0]["features_sha256"]


def test_a_lake_copied_from_the_session_s_gated_days_is_the_lake_ingest_leaves(spec, tmp_path):
    """The tests' ingest_real_days copies a lake the gate made once a session: the copy
    holds the same files, byte for byte but the lineage records' times, as ingesting the
    same days into a new lake."""
    copied, ingested = (Lake.from_uri(f"file://{tmp_path / n}") for n in ("copied", "ingested"))
    ingest_real_days(copied, spec, "2013-01-01", "2013-01-02")
    deliver_and_ingest(ingested, spec, "2013-01-01", "2013-01-02")

    def files(lake):
        root = lake.store.root
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "_lineage.json"
        }

    got, want = files(copied), files(ingested)
    assert sorted(got) == sorted(want)
    assert any(k.startswith("validated/flights_late/ds=2013-01-02/") for k in got)
    assert [k for k in got if got[k] != want[k] and not k.endswith(".html")] == []
    lineage = sorted(
        p.relative_to(copied.store.root) for p in copied.store.root.rglob("_lineage.json")
    )
    assert lineage == sorted(
        p.relative_to(ingested.store.root) for p in ingested.store.root.rglob("_lineage.json")
    )
