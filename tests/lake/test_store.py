import hashlib
import json

import pandas as pd
import pytest

from mlgate.lake.store import Lake, LakeError, LocalStore


@pytest.fixture(params=["file", "s3"])
def lake(request, tmp_path):
    """Every behaviour below holds for a lake in a folder and for one on S3 (moto's server)."""
    if request.param == "s3":
        return request.getfixturevalue("s3_lake")
    return Lake.from_uri(f"file://{tmp_path / 'lake'}")


def write_behind_its_back(lake, key, data):
    """Put an object into the lake's storage directly, as a writer that died would leave it."""
    if isinstance(lake.store, LocalStore):
        path = lake.store.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        lake.store.client.put_object(
            Bucket=lake.store.bucket, Key=f"{lake.store.prefix}/{key}", Body=data
        )


def test_commit_writes_files_and_lineage_with_hashes(lake):
    lineage = lake.commit_partition(
        "raw", "m", "2013-01-01", {"a.csv": b"x,y\n1,2\n"}, {"dag_id": "d"}
    )
    assert lake.read_bytes("raw", "m", "2013-01-01", "a.csv") == b"x,y\n1,2\n"
    assert lineage["files"]["a.csv"] == hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    assert lake.read_lineage("raw", "m", "2013-01-01")["dag_id"] == "d"
    assert lake.list_partitions("raw", "m") == ["2013-01-01"]


def test_committing_the_same_content_again_changes_nothing(lake):
    first = lake.commit_partition("raw", "m", "2013-01-01", {"a.csv": b"1"}, {"run_id": "first"})
    again = lake.commit_partition("raw", "m", "2013-01-01", {"a.csv": b"1"}, {"run_id": "second"})
    assert again == first and lake.read_lineage("raw", "m", "2013-01-01")["run_id"] == "first"
    changed = lake.commit_partition("raw", "m", "2013-01-01", {"a.csv": b"2"}, {"run_id": "third"})
    assert (
        changed["run_id"] == "third" and lake.read_bytes("raw", "m", "2013-01-01", "a.csv") == b"2"
    )


def test_half_written_partitions_are_invisible(lake):
    write_behind_its_back(
        lake, "raw/m/.tmp-ds=2013-01-02-abc/a.csv", b"half"
    )  # a folder store's staging
    digest = hashlib.sha256(b"half").hexdigest()
    write_behind_its_back(
        lake, f"raw/m/ds=2013-01-03/{digest}/a.csv", b"half"
    )  # no lineage: never committed
    assert lake.list_partitions("raw", "m") == []
    assert not lake.exists("raw", "m", "2013-01-03") and not lake.exists(
        "raw", "m", "2013-01-03", "a.csv"
    )


def test_frames_round_trip_through_parquet(lake):
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    lineage = lake.commit_frame("validated", "m", "2013-01-01", "f.parquet", frame, {})
    assert lineage["rows"] == 2
    pd.testing.assert_frame_equal(
        lake.read_frame("validated", "m", "2013-01-01", "f.parquet"), frame, check_dtype=False
    )


def test_copy_to_quarantine_keeps_the_source(lake):
    lake.commit_partition("raw", "m", "2013-01-01", {"a.csv": b"1"}, {})
    lake.copy_partition(
        "raw",
        "quarantine",
        "m",
        "2013-01-01",
        {"_reason.json": json.dumps({"why": 1}).encode()},
        {},
    )
    assert lake.exists("raw", "m", "2013-01-01", "a.csv")
    assert lake.exists("quarantine", "m", "2013-01-01", "a.csv")
    assert json.loads(lake.read_bytes("quarantine", "m", "2013-01-01", "_reason.json")) == {
        "why": 1
    }


def test_errors_name_the_problem(lake):
    with pytest.raises(LakeError, match="unknown lake zone 'bronze'"):
        lake.location("bronze", "m", "2013-01-01")
    with pytest.raises(LakeError, match="missing file raw/m/ds=2013-01-09/a.csv"):
        lake.read_bytes("raw", "m", "2013-01-09", "a.csv")
    with pytest.raises(LakeError, match="scheme 'gs' is not supported"):
        Lake.from_uri("gs://bucket/x")


def test_control_objects_are_created_once(lake):
    assert lake.create_exclusive("locks/m/promotion", b"first")
    assert not lake.create_exclusive("locks/m/promotion", b"second")
    assert lake.read_control("locks/m/promotion") == b"first"
    lake.delete_control("locks/m/promotion")
    assert lake.read_control("locks/m/promotion") is None
    assert lake.create_exclusive("locks/m/promotion", b"third")
    with pytest.raises(LakeError, match="control key"):
        lake.create_exclusive("../escape", b"x")


def test_names_and_dates_cannot_leave_the_lake(lake):
    for name, ds in (("m", "2013-01-01/../../../etc"), ("../m", "2013-01-01"), ("m", "yesterday")):
        with pytest.raises(LakeError, match="nothing outside the lake's partitions"):
            lake.commit_partition("raw", name, ds, {"a.csv": b"x"}, {})
        with pytest.raises(LakeError, match="nothing outside the lake's partitions"):
            lake.read_lineage("raw", name, ds)


def test_a_document_outside_the_partitions_is_replaced_whole_and_never_a_partition(lake):
    """The Data Docs index and styles: written and read by path, the day's partitions listed
    as before, and no path that leaves its zone or looks like a partition."""
    lake.commit_partition("reports", "m", "2013-01-01", {"a.json": b"{}"}, {})
    assert lake.read_document("reports", "m/index.html") is None
    lake.write_document("reports", "m/index.html", b"one")
    lake.write_document("reports", "m/index.html", b"two")
    lake.write_document("reports", "_static/x/fonts/a.otf", b"font")
    assert lake.read_document("reports", "m/index.html") == b"two"
    assert lake.read_document("reports", "_static/x/fonts/a.otf") == b"font"
    assert (
        lake.list_partitions("reports", "m") == ["2013-01-01"]
        and lake.odd_folders("reports", "m") == []
    )
    for key in ("../raw/m/x", "m/ds=2013-01-01/a.json", "/etc/passwd", "m//x", "m/.."):
        with pytest.raises(LakeError):
            lake.write_document("reports", key, b"x")
    with pytest.raises(LakeError):
        lake.write_document("nowhere", "m/index.html", b"x")
