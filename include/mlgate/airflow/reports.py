"""The lake's reports as the Airflow plugin serves them to logged-in users: which lake paths
may be served (only the report zones, never `..` nor an absolute path) and reading one, from
a folder lake or from S3, checked against its partition's lineage.

Served zones:

- `reports/<name>/...`: the monitor's reports (`reports/<model>-monitor/ds=D/report.json`,
  `drift_report.html`) and the gate's verdicts (`reports/<model>-gate-<feed>/ds=D/`);
  beside each gate verdict its GX Data Docs page, with an index per model and feed
  (`reports/<model>-gate-<feed>/index.html`) and the pages' styles (`reports/_static/`);
- `quarantine/<name>/ds=D/<file>`: only what explains a rejection (`_reason.json` and the
  failing day's Data Docs page, `.html`), never the quarantined data itself.

Everything else in the lake (landing, raw, validated, predictions, outcomes, golden, the
control objects) is not served: the data is for the DAGs, the reports for people.
"""

from __future__ import annotations

import mimetypes
import re

from mlgate.lake.names import REASON_FILE, partition_date
from mlgate.lake.store import ZONES, Lake, LakeError

REPORT_ZONES = ("reports", "quarantine")
_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.=+-]*")
_TYPES = {".json": "application/json", ".html": "text/html; charset=utf-8"}


class ReportPathError(ValueError):
    """A requested path that is not served; `status` is the HTTP status to answer (400: a
    path that tries to leave the lake's folders, 404: not a report, or no such file)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def check_report_path(path: str) -> list[str]:
    """The parts of a lake path that may be served (`zone/name/.../file`), or a
    ReportPathError: 400 for an absolute path, `..` or `.`, an empty part, a backslash or a
    character outside letters, digits and `_.=+-`; 404 for a zone that is not a report
    zone, or a quarantined file other than the reason and the Data Docs page."""
    text = str(path)
    if not text or text.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", text):
        raise ReportPathError(400, f"{text!r}: an absolute path is not served; write zone/name/…")
    parts = text.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise ReportPathError(400, f"{text!r}: `..`, `.` and empty parts are not served")
        if not _PART_RE.fullmatch(part):
            raise ReportPathError(
                400, f"{text!r}: a part holds a character outside letters, digits and _.=+-"
            )
    if parts[0] not in REPORT_ZONES:
        raise ReportPathError(
            404, f"{text!r}: only the report zones are served ({', '.join(REPORT_ZONES)})"
        )
    if len(parts) < 3:
        raise ReportPathError(404, f"{text!r}: not a report file (zone/name/…/file)")
    if parts[0] == "quarantine" and not (
        len(parts) == 4
        and partition_date(parts[2])
        and (parts[3] == REASON_FILE or parts[3].endswith(".html"))
    ):
        raise ReportPathError(
            404,
            f"{text!r}: of the quarantine, only a day's {REASON_FILE} and its Data Docs page "
            "are served, not the data",
        )
    return parts


def content_type(filename: str) -> str:
    """The Content-Type a served file is sent with."""
    for suffix, kind in _TYPES.items():
        if filename.endswith(suffix):
            return kind
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def read_report(lake: Lake, path: str) -> bytes:
    """The bytes of the report file at lake path `path` (checked by `check_report_path`).
    A file of a committed partition (`zone/name/ds=D/file`) is read through its lineage
    (its hash checked: lake.store.IntegrityError when it changed; on S3, where its bytes
    are stored under that hash); any other file of a report zone (an index, styles) is read
    as it is. ReportPathError(404) when there is no such file."""
    parts = check_report_path(path)
    zone, key = parts[0], "/".join(parts)
    if len(parts) == 4 and partition_date(parts[2]) and zone in ZONES:
        try:
            return lake.read_bytes(zone, parts[1], partition_date(parts[2]), parts[3])
        except LakeError as exc:
            if type(exc) is not LakeError:  # IntegrityError, LineageError: say so
                raise
            raise ReportPathError(404, f"{key}: no such report in the lake") from None
    data = lake.store.read(key)
    if data is None:
        raise ReportPathError(404, f"{key}: no such report in the lake")
    return data


def first_page(lake: Lake, zone: str, name: str, ds: str) -> str | None:
    """The lake path of the first `.html` file of partition `zone/name/ds=D` (a Data Docs
    page, a drift report), or None when there is none (or the zone is unknown here)."""
    try:
        files = lake.store.files(f"{zone}/{name}/ds={ds}") or []
    except Exception:  # a store error while drawing a link: no link
        return None
    pages = [f for f in files if f.endswith(".html")]
    return f"{zone}/{name}/ds={ds}/{pages[0]}" if pages else None
