"""The gate's Data Docs in the lake, on real flights days through the simulator: a rejected
day's page stays in quarantine beside `_reason.json` through retries and a passing re-run;
the pages read offline (no style, script or image from the web, every local file they link
to in the lake); the index of each feed lists the days and "Home" leads to it. On the folder
lake and on S3 (moto's server)."""

import json
import posixpath
import re

import pytest

from mlgate.airflow.reports import ReportPathError, read_report
from mlgate.demo import simulator
from mlgate.ingest import docs, landing
from mlgate.lake import names
from tests.helpers import run_info

GOOD, BAD = "2013-01-01", "2013-01-02"
_LINKED = re.compile(r"""<(?:link|script|img)\b[^>]*?\b(?:href|src)=["']([^"']+)["']""")
_CSS_URL = re.compile(r"""url\(\s*["']?([^)"']+)["']?\s*\)""")
_HREF = re.compile(r"""<a\b[^>]*?\bhref=["']([^"'#]+)["'][^>]*>(.*?)</a>""", re.S)


def deliver(lake, ds, frame=None):
    """The day's features as the upstream delivers them (a changed `frame`, or bytes, for an
    incident)."""
    if frame is None:
        simulator.deliver_features(lake, ds)
    else:
        data = frame if isinstance(frame, bytes) else simulator.to_csv_bytes(frame)
        lake.write_landing("flights", ds, "flights.csv", data)


def gate(lake, spec, ds, frame=None):
    """Deliver, land and gate the day; returns whether the gate let it through."""
    deliver(lake, ds, frame)
    landing.land_features(lake, spec, ds, run_info("ingest"))
    try:
        return landing.gate_features(lake, spec, ds, run_info("ingest")).success
    except landing.GateRejected:
        return False


def lowercase_carrier(ds):
    features, _ = simulator.day_frames(ds)
    return features.assign(carrier=features["carrier"].str.lower())


def resolve(page: str, link: str) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(page), link))


def assert_reads_offline(lake, path: str) -> str:
    """The page at the lake path `path`, after checking that what it loads (stylesheets,
    scripts, images, fonts) is local and in the lake."""
    text = read_report(lake, path).decode()
    loaded = _LINKED.findall(text) + _CSS_URL.findall(text)
    assert loaded and not [u for u in loaded if re.match(r"(https?:)?//", u)], loaded
    for link in loaded:
        target = resolve(path, link)
        data = read_report(lake, target)  # ReportPathError(404): not in the lake
        if target.endswith(".css"):  # the stylesheet's fonts and images, too
            for inner in _CSS_URL.findall(data.decode()):
                assert not re.match(r"(https?:)?//", inner), inner
                assert read_report(lake, resolve(target, inner)), inner
    return text


def status(text: str) -> str:
    """The verdict a GX page shows in its overview: Succeeded or Failed."""
    return re.search(r"Status:</span>\s*<i [^>]*></i>\s*(\w+)", text)[1]


def home_of(page_path: str, text: str) -> str:
    links = [resolve(page_path, url) for url, label in _HREF.findall(text) if label == "Home"]
    assert links, f"{page_path} has no Home link"
    return links[0]


def test_a_rejected_day_keeps_its_page_in_quarantine_through_reruns(lake, spec):
    """A day rejected, retried, re-delivered with another fault, then delivered right: each
    rejection's page stays in quarantine, the retry changes nothing, the pass writes its own
    page in reports, and the index says all of it."""
    model = spec.model
    assert gate(lake, spec, GOOD)
    assert not gate(lake, spec, BAD, lowercase_carrier(BAD))
    quarantined = docs.quarantine_page(model, "features", BAD)
    assert quarantined == f"quarantine/{model}/ds={BAD}/validation.html"
    text = assert_reads_offline(lake, quarantined)
    assert status(text) == "Failed" and "carrier" in text
    assert "prefers-color-scheme: dark" not in text  # the light stylesheet only
    assert lake.exists("quarantine", model, BAD, names.REASON_FILE)
    first = read_report(lake, quarantined)
    lineage = lake.read_lineage("quarantine", model, BAD)

    assert not gate(lake, spec, BAD, lowercase_carrier(BAD))  # the task retried
    assert lake.read_lineage("quarantine", model, BAD)["files"] == lineage["files"]

    features, _ = simulator.day_frames(BAD)  # another faulty delivery of the day
    assert not gate(lake, spec, BAD, features.assign(origin=features["origin"].str.lower()))
    files = lake.read_lineage("quarantine", model, BAD)["files"]
    earlier = f"validation-{lineage['source_sha256'][:12]}.html"
    assert lake.read_bytes("quarantine", model, BAD, earlier) == first
    assert b"origin" in read_report(lake, quarantined) and set(files) >= {
        names.REASON_FILE,
        names.DATA_DOCS_PAGE,
        earlier,
    }

    assert gate(lake, spec, BAD)  # the upstream fixed it: the re-run passes
    assert lake.read_bytes("quarantine", model, BAD, earlier) == first
    assert b"origin" in read_report(lake, quarantined)
    passed = assert_reads_offline(lake, docs.report_page(model, "features", BAD))
    assert status(passed) == "Succeeded"

    index = docs.index_page(model, "features")
    assert index == f"reports/{model}-gate-features/index.html"
    assert home_of(quarantined, read_report(lake, quarantined).decode()) == index
    assert home_of(docs.report_page(model, "features", BAD), passed) == index
    listing = assert_reads_offline(lake, index)
    rows = {ds: row for ds, row in re.findall(r'<tr id="ds-([\d-]+)">(.*?)</tr>', listing, re.S)}
    assert list(rows) == [BAD, GOOD]  # newest first
    assert "passed" in rows[GOOD] and "passed" in rows[BAD]
    linked = {resolve(index, url): label for url, label in _HREF.findall(rows[BAD])}
    assert linked == {
        docs.report_page(model, "features", BAD): "last run",
        quarantined: "rejection",
        f"quarantine/{model}/ds={BAD}/{earlier}": "earlier rejection",
    }
    assert home_of(index, listing) == index


def test_a_gate_run_reads_only_its_day_for_the_index_unless_index_json_is_damaged(
    lake, spec, monkeypatch
):
    """A gate run updates its day's row of the rows kept in index.json; rows it cannot read
    are read again from the days' lineages: the index loses no day."""
    assert gate(lake, spec, GOOD)
    assert not gate(lake, spec, BAD, lowercase_carrier(BAD))
    index = docs.index_page(spec.model, "features")
    listing = read_report(lake, index)
    rows = f"{names.gate_report_name(spec.model, 'features')}/{names.DATA_DOCS_INDEX_ROWS}"
    assert [row["ds"] for row in json.loads(lake.read_document("reports", rows))] == [GOOD, BAD]
    read, day_row = [], docs.day_row
    monkeypatch.setattr(docs, "day_row", lambda *a: read.append(a[-1]) or day_row(*a))
    for damaged, days in (
        (None, [GOOD]),
        (b"{not json", [GOOD, BAD]),
        (json.dumps([{"ds": BAD, "success": True}]).encode(), [GOOD, BAD]),  # a field short
    ):
        if damaged is not None:
            lake.write_document("reports", rows, damaged)
        read.clear()
        assert gate(lake, spec, GOOD)  # a re-run of the other day
        assert sorted(read) == days and read_report(lake, index) == listing


def test_a_file_gx_cannot_read_gets_a_page_of_its_own(lake, spec):
    assert not gate(lake, spec, BAD, b"")
    page = assert_reads_offline(lake, docs.quarantine_page(spec.model, "features", BAD))
    reason = json.loads(lake.read_bytes("quarantine", spec.model, BAD, names.REASON_FILE))
    assert reason["failures"][0]["reason"].split(":")[0] in page and "rejected" in page


def test_a_rejected_outcomes_day_has_its_page_in_the_outcomes_quarantine(lake, spec):
    for ds in (GOOD, BAD):
        assert gate(lake, spec, ds)
    simulator.deliver_outcomes(lake, GOOD)
    assert landing.land_outcomes(lake, spec, GOOD, run_info("ingest"))
    _, outcomes = simulator.day_frames(BAD)
    outage = outcomes.assign(arr_delay=outcomes["arr_delay"].where(outcomes.index % 10 == 0))
    source = spec.outcomes_feed
    lake.write_landing(source["feed"], BAD, source["file"], simulator.to_csv_bytes(outage))
    with pytest.raises(landing.GateRejected):
        landing.land_outcomes(lake, spec, BAD, run_info("ingest"))
    quarantined = docs.quarantine_page(spec.model, "outcomes", BAD)
    assert quarantined == f"quarantine/{spec.model}-outcomes/ds={BAD}/validation.html"
    text = assert_reads_offline(lake, quarantined)
    index = docs.index_page(spec.model, "outcomes")
    assert home_of(quarantined, text) == index
    listing = assert_reads_offline(lake, index)
    assert f'<tr id="ds-{BAD}">' in listing and f'<tr id="ds-{GOOD}">' in listing
    other = docs.index_page(spec.model, "features")  # the feeds' indexes link to each other
    assert other in {resolve(index, url) for url, _ in _HREF.findall(listing)}
    assert read_report(lake, other)


def test_the_static_files_are_copied_once_per_lake(lake, spec, monkeypatch):
    folder = docs.ensure_static(lake)
    assert folder.startswith("reports/_static/data-docs-gx")
    written = []
    monkeypatch.setattr(type(lake.store), "put", lambda self, key, data: written.append(key))
    docs.ensure_static(lake)
    assert written == []


def test_only_pages_reports_and_static_files_are_served(lake, spec):
    assert not gate(lake, spec, BAD, lowercase_carrier(BAD))
    model = spec.model
    assert read_report(lake, f"quarantine/{model}/ds={BAD}/{names.REASON_FILE}")
    for path in (
        f"quarantine/{model}/ds={BAD}/flights.csv",  # the rejected data itself
        f"raw/{model}/ds={BAD}/flights.csv",
        f"reports/../raw/{model}/ds={BAD}/flights.csv",
        "/etc/passwd",
        f"reports/{model}-gate-features/ds={BAD}/nothing.html",
        "reports/_static/../../raw",
    ):
        with pytest.raises(ReportPathError):
            read_report(lake, path)


def test_the_pages_of_a_rejection_read_offline_on_s3(s3_lake, spec):
    model = spec.model
    assert not gate(s3_lake, spec, BAD, lowercase_carrier(BAD))
    quarantined = docs.quarantine_page(model, "features", BAD)
    first = assert_reads_offline(s3_lake, quarantined)
    assert gate(s3_lake, spec, BAD)
    assert read_report(s3_lake, quarantined).decode() == first
    index = docs.index_page(model, "features")
    assert home_of(quarantined, first) == index
    listing = assert_reads_offline(s3_lake, index)
    assert "passed" in listing and ">rejection</a>" in listing
    assert_reads_offline(s3_lake, docs.report_page(model, "features", BAD))
