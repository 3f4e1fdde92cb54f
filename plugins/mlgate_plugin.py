"""The mlgate Airflow plugin (wiring only; the logic is in mlgate.airflow.links, .reports,
.overview and .pages):

- `timetables`: the daily DAGs' timetable (a run per local day of the spec's time zone, due
  after the upstream's delivery delay), so the scheduler and the API server can read it back
  from the serialized DAGs;
- `global_operator_extra_links`: on the mlgate tasks, links to the MLflow run, the model
  version, the promotion card, the Data Docs page of the day and the drift report (a link
  shows only where it makes sense and the thing exists);
- `fastapi_apps`: an app mounted at /mlgate in the API server, for logged-in Airflow users
  only (the UI's `_token` cookie or a Bearer token; 401 without; the Data Docs' static
  files, GX's styles and fonts, are public): the lake's reports
  (`/mlgate/lake/<zone>/<name>/ds=D/<file>`, report zones only), promotion cards, the monitor
  report of a run, and the mlgate page;
- `external_views`: the promotion card on a run's page, the monitor report on a run's page,
  and "mlgate" in the navigation.
"""

from __future__ import annotations

import time

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from mlgate.airflow.timetable import DeliveredDaily
from mlgate.lake.names import DATA_DOCS_STATIC

# A report is content from the lake or MLflow, served in Airflow's origin: it runs sandboxed
# (its scripts run, but in an origin of its own, so they cannot act as the logged-in user).
SANDBOX = {
    "Content-Security-Policy": "sandbox allow-scripts allow-popups "
    "allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation",
    "X-Content-Type-Options": "nosniff",
}
LINK_NAMES = ("MLflow run", "Model version", "Promotion card", "Data Docs", "Drift report")
_CACHE: dict[tuple, tuple[float, dict]] = {}  # links of a task instance, for a few seconds


def _links_of(ti_key) -> dict[str, str]:
    """Every mlgate link of a task instance (computed once for all five link buttons)."""
    from mlgate.airflow import dagkit, links

    key = (ti_key.dag_id, ti_key.run_id, ti_key.task_id, ti_key.map_index)
    cached = _CACHE.get(key)
    if cached and time.monotonic() - cached[0] < 10:
        return cached[1]
    if links.parse_dag_id(ti_key.dag_id) is None:
        found = {}
    else:
        lake, settings = dagkit.lake_and_settings()
        found = links.task_links(
            settings,
            lake,
            ti_key.dag_id,
            ti_key.run_id,
            ti_key.task_id,
            run_day=lambda spec: links.dag_run_day(ti_key.dag_id, ti_key.run_id, spec),
            base_path=links.api_base_path(),
        )
    if len(_CACHE) > 1000:
        _CACHE.clear()
    _CACHE[key] = (time.monotonic(), found)
    return found


def _link_class(link_name: str) -> type[BaseOperatorLink]:
    class MlgateLink(BaseOperatorLink):
        name = link_name

        def get_link(self, operator, *, ti_key) -> str:
            return _links_of(ti_key).get(link_name) or ""

    MlgateLink.__name__ = MlgateLink.__qualname__ = "Mlgate" + link_name.title().replace(" ", "")
    return MlgateLink


MLGATE_LINKS = [_link_class(name)() for name in LINK_NAMES]


# ---- the app ---------------------------------------------------------------------------


async def logged_in_user(request: Request):
    """The Airflow user of the request (Bearer token, or the UI's `_token` cookie), as the
    API server's own routes resolve it; 401 without a token, 403 with an invalid one."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    return await get_user(request, None, await bearer_scheme(request))


app = FastAPI(
    title="mlgate",
    description="mlgate's reports, promotion cards and overview, for logged-in Airflow users",
)
# Every route but the Data Docs' static files needs a logged-in user.
users = APIRouter(dependencies=[Depends(logged_in_user)])


def _html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status)


def _page_links():
    import dataclasses

    from mlgate import tracking
    from mlgate.airflow import dagkit, links
    from mlgate.airflow.pages import Links

    _, settings = dagkit.lake_and_settings()
    base = links.api_base_path()
    return Links(
        lake=lambda path: links.lake_url(path, base),
        card=lambda model, version: links.card_url(model, version, base),
        mlflow_version=lambda model, version: links.mlflow_version_page(settings, model, version),
        airflow_run=lambda dag_id, run_id: tracking.airflow_run_url(
            dataclasses.replace(settings, airflow_url=base), dag_id, run_id
        ),
        required_actions=f"{base}/required_actions",
    )


@users.get("/", response_class=HTMLResponse)
def overview() -> HTMLResponse:
    """The mlgate page: per model the champion and its history, the gates' last verdicts,
    the monitor's verdict and drift trend, the approvals waiting."""
    from mlgate.airflow import dagkit, links
    from mlgate.airflow.overview import model_overview
    from mlgate.airflow.pages import overview_page
    from mlgate.config.spec import load_specs_apart

    lake, settings = dagkit.lake_and_settings()
    specs, _ = load_specs_apart()
    pending = links.pending_approvals()
    return _html(
        overview_page(
            [model_overview(lake, settings, spec, pending) for spec in specs], _page_links()
        )
    )


@app.get("/lake/reports/_static/{path:path}")
def data_docs_static(path: str) -> Response:
    """The Data Docs pages' styles, fonts and images (GX's own, copied from the installed
    package, and mlgate's stand-in for the CDN's): served without a login, because a
    sandboxed page loads them without the user's cookie; they hold nothing of the lake's
    data."""
    return _lake_file(f"reports/{DATA_DOCS_STATIC}/{path}", {"Access-Control-Allow-Origin": "*"})


@users.get("/lake/{path:path}")
def lake_report(path: str) -> Response:
    """A report of the lake: 400 for a path that tries to leave it, 404 outside the report
    zones or for no such file, 500 (with the partition and the repair) for a damaged one."""
    return _lake_file(path, SANDBOX)


def _lake_file(path: str, headers: dict) -> Response:
    from mlgate.airflow import dagkit
    from mlgate.airflow.reports import ReportPathError, content_type, read_report
    from mlgate.lake.store import IntegrityError

    lake, _ = dagkit.lake_and_settings()
    try:
        data = read_report(lake, path)
    except ReportPathError as exc:
        return Response(str(exc), status_code=exc.status, media_type="text/plain")
    except IntegrityError as exc:
        return Response(f"damaged report: {exc}", status_code=500, media_type="text/plain")
    return Response(data, media_type=content_type(path.rsplit("/", 1)[-1]), headers=headers)


def _card(model: str, version: str) -> HTMLResponse:
    from mlgate.airflow import dagkit, links
    from mlgate.airflow.pages import message_page

    _, settings = dagkit.lake_and_settings()
    card = links.card_html(settings, model, version)
    if card is None:
        return _html(
            message_page(
                "No promotion card",
                f"{model} v{version} has no promotion card: no such version, or the gate "
                "has not judged it.",
            ),
            404,
        )
    return HTMLResponse(card, headers=SANDBOX)


@users.get("/models/{model}/versions/{version}/card", response_class=HTMLResponse)
def version_card(model: str, version: str) -> HTMLResponse:
    """The promotion card of a model version (from its MLflow run)."""
    return _card(model, version)


@users.get("/runs/{dag_id}/{run_id}/card", response_class=HTMLResponse)
def run_card(dag_id: str, run_id: str) -> HTMLResponse:
    """The promotion card of the candidate an Airflow train run trained (or reused)."""
    from mlgate.airflow import links
    from mlgate.airflow.pages import message_page

    parsed = links.parse_dag_id(dag_id)
    if parsed is None or parsed[1] != "train":
        return _html(
            message_page(
                "No promotion card",
                f"{dag_id} is not an mlgate train DAG: the promotion card belongs to the runs "
                "of mlgate_<model>_train.",
            ),
            404,
        )
    candidate = links.task_return_value(dag_id, run_id, "train_candidate")
    if not isinstance(candidate, dict) or not candidate.get("version"):
        return _html(
            message_page(
                "No promotion card",
                f"run {run_id} trained no candidate (train_candidate was skipped, failed or "
                "has not finished): see its log.",
            ),
            404,
        )
    return _card(parsed[0], str(candidate["version"]))


@users.get("/runs/{dag_id}/{run_id}/report", response_class=HTMLResponse)
def run_report(dag_id: str, run_id: str) -> Response:
    """The monitor's report (drift_report.html) of an Airflow monitor run's day."""
    from mlgate.airflow import dagkit, links
    from mlgate.airflow.pages import message_page
    from mlgate.lake.names import DRIFT_REPORT_FILE, monitor_name

    parsed = links.parse_dag_id(dag_id)
    spec = parsed and parsed[1] == "monitor" and links.spec_of(parsed[0])
    if not spec:
        return _html(
            message_page(
                "No monitor report",
                f"{dag_id} is not an mlgate monitor DAG: the monitor report belongs to the "
                "runs of mlgate_<model>_monitor.",
            ),
            404,
        )
    measured = links.task_return_value(dag_id, run_id, "measure")
    ds = measured.get("ds") if isinstance(measured, dict) else None
    ds = ds or links.dag_run_day(dag_id, run_id, spec)
    lake, _ = dagkit.lake_and_settings()
    name = monitor_name(spec.model)
    if not ds or not lake.exists("reports", name, ds, DRIFT_REPORT_FILE):
        return _html(
            message_page(
                "No monitor report",
                f"no monitor report for {spec.model} on {ds or 'this run'}: the run's measure "
                "task has not written one (see its log).",
            ),
            404,
        )
    return HTMLResponse(lake.read_bytes("reports", name, ds, DRIFT_REPORT_FILE), headers=SANDBOX)


app.include_router(users)


class MlgatePlugin(AirflowPlugin):
    name = "mlgate"
    timetables = [DeliveredDaily]
    global_operator_extra_links = MLGATE_LINKS
    fastapi_apps = [{"app": app, "url_prefix": "/mlgate", "name": "mlgate"}]
    external_views = [
        {
            "name": "mlgate",
            "href": "/mlgate/",
            "destination": "nav",
            "url_route": "mlgate",
        },
        {
            "name": "Promotion card",
            "href": "/mlgate/runs/{DAG_ID}/{RUN_ID}/card",
            "destination": "dag_run",
            "url_route": "mlgate-promotion-card",
        },
        {
            "name": "Monitor report",
            "href": "/mlgate/runs/{DAG_ID}/{RUN_ID}/report",
            "destination": "dag_run",
            "url_route": "mlgate-monitor-report",
        },
    ]
