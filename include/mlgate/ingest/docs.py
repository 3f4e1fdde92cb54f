"""The gate's Data Docs in the lake, readable offline and kept:

    reports/_static/data-docs-gx<version>/          styles, fonts and images, once per lake
    reports/<model>-gate-<feed>/index.html          every day of the feed: verdict and links
    reports/<model>-gate-<feed>/index.json          the index's rows, which a gate run updates
    reports/<model>-gate-<feed>/ds=D/validation.html  the day's last gate run
    quarantine/<name>/ds=D/validation.html          the page of the rejection, beside _reason.json

GX renders its pages for a Data Docs site of its own and links their styles and scripts
to CDNs. Here every link is relative and points into the lake: the pages read the same
from the folder lake opened in a browser and from the lake served under any URL prefix
(the Airflow plugin serves them: mlgate.airflow.reports)."""

from __future__ import annotations

import hashlib
import html
import json
import posixpath
import re
from functools import lru_cache
from pathlib import Path

from mlgate.ingest import gate
from mlgate.ingest.docs_static import SCRIPT, STYLESHEET
from mlgate.lake.names import (
    DATA_DOCS_INDEX,
    DATA_DOCS_INDEX_ROWS,
    DATA_DOCS_PAGE,
    DATA_DOCS_STATIC,
    gate_report_name,
    quarantine_name,
)
from mlgate.lake.store import Lake, LakeError

FEEDS = ("features", "outcomes")
STYLESHEET_FILE = "data-docs.css"
SCRIPT_FILE = "data-docs.js"
MANIFEST_FILE = "manifest.json"  # written last: the static folder is complete
GX_ASSETS = ("images/favicon.ico", "images/logo-long.png")  # and fonts/, styles/
EARLIER_PAGE = "validation-{sha}.html"  # quarantine: the page of an earlier rejected delivery
_EARLIER_PAGE_RE = re.compile(r"validation-[0-9a-f]{12}\.html")
_CDN_TAG = re.compile(
    r"""<(link|script)\b[^>]*\b(?:href|src)=["']https?://[^"']*["'][^>]*>(?:\s*</script>)?\s*""",
    re.IGNORECASE,
)
_REMOTE_SRC = re.compile(r"""\bsrc=["']https?://[^"']*?([^/"'?]+)(?:\?[^"']*)?["']""")
_REMOTE_URL = re.compile(r"""url\(\s*["']?https?://[^)"']*?([^/)"'?]+)["']?\s*\)""")
_GX_STATIC = re.compile(r"""(["'])(?:\.\./)+static/""")
_HOME = re.compile(r"""href=(["'])(?:\.\./)*index\.html\1""")
_SUITE_LINK = re.compile(r"""<a href=["'](?:\.\./)*expectations/[^"']*["']\s*>(.*?)</a>""")
_ROW_FIELDS = {"ds", "success", "failures", "page", "quarantined", "earlier"}  # index.json
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# ---- where ---------------------------------------------------------------------------------
def static_folder() -> str:
    """The styles' folder in the reports zone, named after the GX release they come from
    (a page keeps the styles it was made with when GX is upgraded)."""
    import great_expectations

    return f"{DATA_DOCS_STATIC}/data-docs-gx{great_expectations.__version__}"


def report_page(model: str, feed: str, ds: str) -> str:
    """Lake path of the day's Data Docs page (its last gate run)."""
    return f"reports/{gate_report_name(model, feed)}/ds={ds}/{DATA_DOCS_PAGE}"


def quarantine_page(model: str, feed: str, ds: str) -> str:
    """Lake path of the page of the day's rejection, beside its `_reason.json`."""
    return f"quarantine/{quarantine_name(model, feed)}/ds={ds}/{DATA_DOCS_PAGE}"


def index_page(model: str, feed: str) -> str:
    """Lake path of the feed's index of every day's page."""
    return f"reports/{gate_report_name(model, feed)}/{DATA_DOCS_INDEX}"


def href(page: str, target: str) -> str:
    """The relative link from the lake path `page` to the lake path `target`."""
    return posixpath.relpath(target, posixpath.dirname(page))


# ---- the static files ----------------------------------------------------------------------
@lru_cache(maxsize=1)
def static_files() -> dict[str, bytes]:
    """The pages' static files: GX's images, fonts and styles (as the installed package
    ships them) and the stylesheet and script standing in for the CDN's Bootstrap and
    jQuery."""
    import great_expectations

    root = Path(great_expectations.__file__).parent / "render" / "view" / "static"
    names = [*GX_ASSETS]
    names += sorted(str(p.relative_to(root)) for p in (root / "fonts").rglob("*") if p.is_file())
    names += sorted(str(p.relative_to(root)) for p in (root / "styles").glob("*.css"))
    files = {name: (root / name).read_bytes() for name in names}
    files[STYLESHEET_FILE] = STYLESHEET.encode()
    files[SCRIPT_FILE] = SCRIPT.encode()
    return files


def ensure_static(lake: Lake) -> str:
    """Copy the static files into the lake unless it holds them already (the manifest, written
    last, names their hashes); returns the folder's lake path."""
    folder = static_folder()
    files = static_files()
    manifest = json.dumps(
        {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        indent=1,
    ).encode()
    if lake.read_document("reports", f"{folder}/{MANIFEST_FILE}") != manifest:
        for name, data in files.items():
            lake.write_document("reports", f"{folder}/{name}", data)
        lake.write_document("reports", f"{folder}/{MANIFEST_FILE}", manifest)
    return f"reports/{folder}"


# ---- pages -----------------------------------------------------------------------------------
def _without_dark_mode(page: str) -> str:
    """The page without GX's dark-mode rules, which assume the CDN's Bootstrap dark theme (the
    local stylesheet is light only: a dark browser would otherwise get half of each)."""
    start = page.find("@media (prefers-color-scheme: dark)")
    while start != -1:
        depth, end = 0, page.index("{", start)
        for end in range(end, len(page)):
            depth += {"{": 1, "}": -1}.get(page[end], 0)
            if depth == 0:
                break
        page = page[:start] + page[end + 1 :]
        start = page.find("@media (prefers-color-scheme: dark)")
    return page


def localize(page: str, where: str, home: str) -> str:
    """A GX page made to read offline at the lake path `where`: the CDN's styles and scripts
    replaced by the lake's static files, GX's images taken from them, "Home" linked to the lake
    path `home`, and the same ids on every rendering (a retried task writes the same page)."""
    static = href(where, f"reports/{static_folder()}")
    shipped = {Path(name).name: name for name in static_files()}

    def local(name: str) -> str | None:
        return f"{static}/{shipped[name]}" if name in shipped else None

    page = _CDN_TAG.sub("", _without_dark_mode(page))
    page = _REMOTE_SRC.sub(lambda m: f'src="{local(m[1])}"' if local(m[1]) else "", page)
    page = _REMOTE_URL.sub(lambda m: f'url("{local(m[1])}")' if local(m[1]) else "none", page)
    page = _GX_STATIC.sub(lambda m: f"{m[1]}{static}/", page)
    page = _HOME.sub(f'href="{href(where, home)}"', page)
    page = _SUITE_LINK.sub(r"\1", page)  # GX's suite pages are not written
    ids: dict[str, str] = {}
    page = _UUID.sub(lambda m: ids.setdefault(m[0], str(len(ids) + 1)), page)
    head = (
        f'<link rel="stylesheet" href="{static}/{STYLESHEET_FILE}"/>\n'
        f'    <script src="{static}/{SCRIPT_FILE}"></script>\n'
    )
    return page.replace("<head>", f"<head>\n    {head}", 1)


def _plain_page(title: str, body: str, where: str, home: str) -> str:
    """A page of mlgate's own in the style of the GX pages (same static files)."""
    static = href(where, f"reports/{static_folder()}")
    return f"""<!DOCTYPE html>
<html>
  <head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>{html.escape(title)}</title>
    <link rel="stylesheet" href="{static}/{STYLESHEET_FILE}"/>
    <link rel="shortcut icon" href="{static}/images/favicon.ico" type="image/x-icon"/>
  </head>
  <body>
    <nav class="navbar border-bottom">
      <a href="{href(where, home)}"><img src="{static}/images/logo-long.png"
        alt="Great Expectations" style="height: 40px"/></a>
      <ol class="breadcrumb bg-light m-0 py-1">
        <li class="breadcrumb-item"><a href="{href(where, home)}">Home</a></li>
        <li class="breadcrumb-item active">{html.escape(title)}</li>
      </ol>
    </nav>
    <div class="container-fluid pt-4 pb-4 pl-5 pr-5">
{body}
    </div>
  </body>
</html>
"""


def failure_page(result: gate.GateResult, where: str, home: str) -> str:
    """The page of a rejection that GX could not validate (the file could not be read)."""
    items = "\n".join(
        f"<tr><td>{html.escape(f.check)}</td><td>{html.escape(f.column or '')}</td>"
        f"<td>{html.escape(f.expected)}</td><td>{html.escape(f.observed)}</td>"
        f"<td>{html.escape(f.reason)}</td></tr>"
        for f in result.failures
    )
    icon = '<i class="fas fa-times text-danger"></i>'
    body = f"""      <h4>{icon} {result.ds}: rejected by the gate</h4>
      <p class="lead">{html.escape(gate.WHAT_TO_DO)}</p>
      <table class="table table-bordered table-sm">
        <thead><tr><th>check</th><th>column</th><th>expected</th><th>observed</th>
        <th>reason</th></tr></thead>
        <tbody>{items}</tbody>
      </table>"""
    return _plain_page(f"Gate result of {result.ds}", body, where, home)


def pages(lake: Lake, model: str, feed: str, result: gate.GateResult) -> dict[str, bytes]:
    """The day's page for the reports zone and for quarantine ({lake path: bytes}), with the
    lake's static files in place."""
    ensure_static(lake)
    home = index_page(model, feed)
    report, quarantine = (
        report_page(model, feed, result.ds),
        quarantine_page(model, feed, result.ds),
    )
    raw = gate.data_docs_page(result)
    out = {}
    for where in (report, quarantine):
        page = (
            failure_page(result, where, home)
            if raw is None
            else localize(raw.decode(), where, home)
        )
        out[where] = page.encode()
    return out


def quarantine_files(
    lake: Lake, model: str, feed: str, ds: str, page: bytes, source_sha256: str
) -> dict[str, bytes]:
    """The pages to commit with the day's quarantine: this rejection's, unless the quarantine
    already holds the page of the same delivery (a retried task keeps it, byte for byte), and
    the pages of earlier rejected deliveries of the day, kept as `validation-<sha256>.html`."""
    name = quarantine_name(model, feed)
    try:
        lineage = lake.read_lineage("quarantine", name, ds)
    except LakeError:
        lineage = None
    if lineage is None:
        return {DATA_DOCS_PAGE: page}
    files = {
        f: lake.read_bytes("quarantine", name, ds, f)
        for f in lineage.get("files", {})
        if _EARLIER_PAGE_RE.fullmatch(f)
    }
    earlier = lineage.get("source_sha256")
    if DATA_DOCS_PAGE in lineage.get("files", {}):
        current = lake.read_bytes("quarantine", name, ds, DATA_DOCS_PAGE)
        if earlier == source_sha256:
            return {**files, DATA_DOCS_PAGE: current}
        if earlier:
            files[EARLIER_PAGE.format(sha=earlier[:12])] = current
    return {**files, DATA_DOCS_PAGE: page}


# ---- the index -------------------------------------------------------------------------------
def day_row(lake: Lake, model: str, feed: str, ds: str) -> dict:
    """The index's row of a day the gate judged on `feed`, from its lineages: {ds, success,
    failures, page, quarantined, earlier} (the last run's verdict; whether a page of a
    rejection is in quarantine; the pages of earlier rejected deliveries)."""
    try:
        lineage = lake.read_lineage("reports", gate_report_name(model, feed), ds) or {}
    except LakeError:
        lineage = {}
    try:
        jailed = lake.read_lineage("quarantine", quarantine_name(model, feed), ds) or {}
    except LakeError:
        jailed = {}
    verdict = lineage.get("gate") or {}
    files = jailed.get("files", {})
    return {
        "ds": ds,
        "success": verdict.get("success"),
        "failures": [f.get("reason", "") for f in verdict.get("failures", [])],
        "page": DATA_DOCS_PAGE in lineage.get("files", {}),
        "quarantined": DATA_DOCS_PAGE in files,
        "earlier": sorted(f for f in files if _EARLIER_PAGE_RE.fullmatch(f)),
    }


def stored_rows(lake: Lake, model: str, feed: str) -> dict[str, dict]:
    """The index's rows as the last gate run stored them, {ds: row}; none when they are
    missing or unreadable (a row lacking a field is left out)."""
    key = f"{gate_report_name(model, feed)}/{DATA_DOCS_INDEX_ROWS}"
    try:
        rows = json.loads(lake.read_document("reports", key) or "[]")
        return {row["ds"]: row for row in rows if set(row) >= _ROW_FIELDS}
    except (LakeError, ValueError, TypeError, KeyError):
        return {}


def index_html(model: str, feed: str, entries: list[dict]) -> str:
    """The feed's index: one row per day, newest first, with its verdict and its pages."""
    where = index_page(model, feed)
    rows = []
    for day in sorted(entries, key=lambda d: d["ds"], reverse=True):
        ds = day["ds"]
        if day["success"] is None:
            verdict = '<span class="text-muted">unknown</span>'
        elif day["success"]:
            verdict = '<span class="mlgate-verdict-pass"><i class="fas fa-check"></i> passed</span>'
        else:
            verdict = '<span class="mlgate-verdict-fail"><i class="fas fa-times"></i> failed</span>'
        page = (
            f'<a href="{href(where, report_page(model, feed, ds))}">last run</a>'
            if day["page"]
            else ""
        )
        quarantine = []
        if day["quarantined"]:
            target = href(where, quarantine_page(model, feed, ds))
            quarantine.append(f'<a href="{target}">rejection</a>')
        folder = posixpath.dirname(quarantine_page(model, feed, ds))
        quarantine += [
            f'<a href="{href(where, f"{folder}/{f}")}">earlier rejection</a>'
            for f in day["earlier"]
        ]
        reasons = html.escape(day["failures"][0]) if day["failures"] else ""
        if len(day["failures"]) > 1:
            reasons += f" (and {len(day['failures']) - 1} more)"
        rows.append(
            f'<tr id="ds-{ds}"><td>{ds}</td><td>{verdict}</td><td>{page}</td>'
            f"<td>{' '.join(quarantine)}</td><td>{reasons}</td></tr>"
        )
    others = " ".join(
        f'<a href="{href(where, index_page(model, other))}">{other}</a>'
        for other in FEEDS
        if other != feed
    )
    failed = sum(1 for d in entries if d["success"] is False)
    body = f"""      <h4>{html.escape(model)}: the gate on {feed}</h4>
      <p class="lead">{len(entries)} day(s), {failed} failed on their last run. A rejection's
      page stays in quarantine when a later run of the day passes. Other feeds: {others}</p>
      <table class="table table-bordered table-sm">
        <thead><tr><th>day</th><th>last run</th><th>page</th><th>quarantine</th>
        <th>first failed check</th></tr></thead>
        <tbody>
{chr(10).join(rows)}
        </tbody>
      </table>"""
    return _plain_page(f"{model} gate: {feed}", body, where, where)


def write_index(lake: Lake, model: str, feed: str, ds: str) -> str:
    """Update the feed's index after a gate run of day `ds`: that day's row is read from its
    lineages, the other days' rows are the stored ones (index.json). A day without a stored
    row (index.json missing or unreadable, or a run that raced another's) is read from its
    lineages too, so deleting index.json rebuilds the index (and puts right a row that such
    a race left stale). Returns its lake path."""
    ensure_static(lake)
    name = gate_report_name(model, feed)
    stored = stored_rows(lake, model, feed)
    rows = [
        stored[day] if day in stored and day != ds else day_row(lake, model, feed, day)
        for day in lake.list_partitions("reports", name)
    ]
    lake.write_document("reports", f"{name}/{DATA_DOCS_INDEX_ROWS}", json.dumps(rows).encode())
    path = index_page(model, feed)
    zone, key = path.split("/", 1)
    lake.write_document(zone, key, index_html(model, feed, rows).encode())
    return path
