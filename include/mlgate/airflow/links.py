"""Where the mlgate tasks' links lead, as plain functions the Airflow plugin calls in the API
server: the MLflow run and model version (in the MLflow UI), the promotion card, the Data
Docs page of the day and the drift report (served by the plugin's report app, under
`APP_PREFIX`). Each returns None when the thing does not exist (no candidate was trained, the
card was not written, the day has no page), so Airflow shows no button.

Which task gets which link:

| link | tasks |
|---|---|
| MLflow run | train: the candidate tasks (below); monitor: measure |
| Model version | train: train_candidate, evaluate, approve, promote, release_challenger |
| Promotion card | train: evaluate, approve, promote, release_challenger |
| Data Docs | ingest: validate (the features' page), labels (the outcomes' page) |
| Drift report | monitor: measure, request_retrain |

The functions that read Airflow's metadata DB (a task's XCom, a run's day, the approvals
waiting in Required Actions) import Airflow inside: they run where the DB is configured.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from urllib.parse import quote

from mlgate import tracking
from mlgate.config.settings import Settings
from mlgate.config.spec import Spec

log = logging.getLogger(__name__)
APP_PREFIX = "/mlgate"  # where the plugin mounts its FastAPI app in the API server
CARD_FILE = "promotion_card.html"  # on the candidate's MLflow run (mlgate.promote.card)
KINDS = ("ingest", "train", "score", "monitor", "rollback")
_DAG_RE = re.compile(rf"^mlgate_(?P<model>[A-Za-z0-9_.-]+)_(?P<kind>{'|'.join(KINDS)})$")
CANDIDATE_TASKS = ("train_candidate", "evaluate", "approve", "promote", "release_challenger")
CARD_TASKS = ("evaluate", "approve", "promote", "release_challenger")
DOCS_TASKS = {"validate": "features", "labels": "outcomes"}
DRIFT_TASKS = ("measure", "request_retrain")
# MLflow 3's UI shows a run or a version in its GenAI or its model-training view, by this
# query parameter, else by the view the browser used last (GenAI at first): mlgate's models
# are model training
ML_VIEW = "?workflowType=machine_learning"


def parse_dag_id(dag_id: str) -> tuple[str, str] | None:
    """(model, kind) of an mlgate DAG id (`mlgate_<model>_<kind>`), None for another DAG."""
    found = _DAG_RE.match(str(dag_id))
    return (found["model"], found["kind"]) if found else None


def spec_of(model: str) -> Spec | None:
    """The spec of `model` among the specs that load, or None."""
    from mlgate.config.spec import load_specs_apart

    specs, _ = load_specs_apart()
    return next((spec for spec in specs if spec.model == model), None)


# ---- URLs ----------------------------------------------------------------------------


def api_base_path() -> str:
    """The API server's own path prefix (the path of `[api] base_url`), usually empty."""
    from urllib.parse import urlparse

    from airflow.configuration import conf

    return urlparse(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def app_url(path: str, base_path: str = "") -> str:
    """The URL path of `path` in the plugin's app (`base_path`: the API server's own prefix,
    the path of its `[api] base_url`, when it is served under one)."""
    return f"{base_path.rstrip('/')}{APP_PREFIX}/{path.lstrip('/')}"


def lake_url(lake_path: str, base_path: str = "") -> str:
    """The URL of a lake report (`zone/name/ds=D/file`) in the plugin's report app."""
    return app_url(f"lake/{lake_path}", base_path)


def card_url(model: str, version: str, base_path: str = "") -> str:
    """The URL of a model version's promotion card in the plugin's app."""
    return app_url(f"models/{quote(model)}/versions/{quote(str(version))}/card", base_path)


def candidate_links(settings: Settings, model: str, candidate: dict) -> dict[str, str]:
    """Where an approver reads more about a candidate ({"version": N, "run_id": R}): its
    promotion card in the plugin's app, its MLflow run and its model version."""
    found = {
        "promotion card": card_url(model, candidate["version"], api_base_path()),
        "MLflow run": mlflow_run_url(settings, candidate.get("run_id")),
        "model version": mlflow_version_page(settings, model, candidate["version"]),
    }
    return {label: url for label, url in found.items() if url}


def mlflow_run_url(settings: Settings, run_id: str | None) -> str | None:
    """The MLflow UI's page of run `run_id`, or None when there is no such run."""
    from mlflow.exceptions import MlflowException

    if not run_id:
        return None
    try:
        run = tracking.client(settings).get_run(run_id)
    except MlflowException:
        return None
    return f"{settings.mlflow_ui_url}/#/experiments/{run.info.experiment_id}/runs/{run_id}{ML_VIEW}"


def model_version_url(settings: Settings, model: str, version: str | None) -> str | None:
    """The MLflow UI's page of a registered model version, or None when it does not exist."""
    from mlflow.exceptions import MlflowException

    if not version:
        return None
    try:
        tracking.client(settings).get_model_version(model, str(version))
    except MlflowException:
        return None
    return mlflow_version_page(settings, model, version)


def mlflow_version_page(settings: Settings, model: str, version) -> str:
    """The MLflow UI's page of model version `version` (not checked to exist)."""
    return (
        f"{settings.mlflow_ui_url}/#/models/{quote(model)}/versions/{quote(str(version))}{ML_VIEW}"
    )


def card_exists(settings: Settings, run_id: str | None) -> bool:
    """Whether the run carries the promotion card (the gate judged its candidate)."""
    from mlflow.exceptions import MlflowException

    if not run_id:
        return False
    try:
        return any(a.path == CARD_FILE for a in tracking.client(settings).list_artifacts(run_id))
    except (MlflowException, OSError):
        return False


def card_html(settings: Settings, model: str, version: str) -> bytes | None:
    """The promotion card of a model version (its run's `promotion_card.html`), or None."""
    from mlflow.exceptions import MlflowException

    client = tracking.client(settings)
    try:
        run_id = client.get_model_version(model, str(version)).run_id
        if not card_exists(settings, run_id):
            return None
        import mlflow

        tracking.connect(settings.tracking_uri)
        return mlflow.artifacts.load_text(f"runs:/{run_id}/{CARD_FILE}").encode()
    except (MlflowException, OSError):
        return None


def monitor_run_id(settings: Settings, model: str, ds: str) -> str | None:
    """The MLflow run of the monitor's report for day `ds` (experiment `<model>-monitor`)."""
    from mlflow.exceptions import MlflowException

    from mlgate.lake.names import monitor_name

    client = tracking.client(settings)
    try:
        experiment = client.get_experiment_by_name(monitor_name(model))
        if experiment is None:
            return None
        runs = client.search_runs(
            [experiment.experiment_id],
            f"tags.`{tracking.MONITOR_DS_TAG}` = '{ds}'",
            max_results=1,
        )
    except MlflowException:
        return None
    return runs[0].info.run_id if runs else None


# ---- the links of one task -------------------------------------------------------------


def task_links(
    settings: Settings,
    lake,
    dag_id: str,
    run_id: str,
    task_id: str,
    xcom=None,
    run_day=None,
    base_path: str = "",
) -> dict[str, str]:
    """Every mlgate link of one task instance, by link name (only those that exist):
    "MLflow run", "Model version", "Promotion card", "Data Docs", "Drift report".
    `xcom(task_id)` returns a task's return value in this run (default: Airflow's XCom
    table), `run_day(spec)` the run's day (default: from the run's conf and logical date)."""
    parsed = parse_dag_id(dag_id)
    if parsed is None:
        return {}
    model, kind = parsed
    xcom = xcom or (lambda task: task_return_value(dag_id, run_id, task))
    links: dict[str, str | None] = {}
    if kind == "train" and task_id in CANDIDATE_TASKS:
        candidate = xcom("train_candidate")
        if isinstance(candidate, dict):
            version, cand_run = candidate.get("version"), candidate.get("run_id")
            links["MLflow run"] = mlflow_run_url(settings, cand_run)
            links["Model version"] = model_version_url(settings, model, version)
            if task_id in CARD_TASKS and card_exists(settings, cand_run):
                links["Promotion card"] = card_url(model, version, base_path)
    elif kind == "ingest" and task_id in DOCS_TASKS:
        from mlgate.airflow.overview import data_docs_page

        spec = spec_of(model)
        if spec is not None:
            ds = (run_day or (lambda s: dag_run_day(dag_id, run_id, s)))(spec)
            feed = DOCS_TASKS[task_id]
            if ds and feed == "outcomes":
                delay = int(spec.outcomes_feed.get("delay_days", 1))
                ds = (dt.date.fromisoformat(ds) - dt.timedelta(days=delay)).isoformat()
            page = ds and data_docs_page(lake, spec, feed, ds)
            links["Data Docs"] = page and lake_url(page, base_path)
    elif kind == "monitor" and task_id in DRIFT_TASKS:
        from mlgate.lake.names import DRIFT_REPORT_FILE, monitor_name

        measured = xcom("measure")
        ds = measured.get("ds") if isinstance(measured, dict) else None
        if ds is None and run_day is not None:
            spec = spec_of(model)
            ds = spec and run_day(spec)
        if ds and lake.exists("reports", monitor_name(model), ds, DRIFT_REPORT_FILE):
            links["Drift report"] = lake_url(
                f"reports/{monitor_name(model)}/ds={ds}/{DRIFT_REPORT_FILE}", base_path
            )
        if ds and task_id == "measure":
            links["MLflow run"] = mlflow_run_url(settings, monitor_run_id(settings, model, ds))
    return {name: url for name, url in links.items() if url}


# ---- Airflow's metadata DB (in the API server) -----------------------------------------


def task_return_value(dag_id: str, run_id: str, task_id: str, map_index: int = -1):
    """The value task `task_id` returned in run `run_id` (its `return_value` XCom, as JSON),
    or None. Values that are not plain JSON (Airflow's serialized classes) are not read."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(
                key="return_value",
                run_id=run_id,
                dag_ids=dag_id,
                task_ids=task_id,
                map_indexes=map_index,
            ).with_only_columns(XComModel.value)
        ).first()
    if not row or row[0] is None:
        return None
    value = row[0]
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict) and "__classname__" in value:
        return None
    return value


def day_of_run(spec: Spec, conf: dict | None, logical_date) -> str | None:
    """The day a run is about, as the DAGs read it (mlgate.airflow.dagkit.run_ds): `ds` in its
    conf, else its logical date's day in the spec's time zone; None without either."""
    from mlgate.lake.names import valid_date

    if conf and conf.get("ds"):
        return str(conf["ds"]) if valid_date(conf["ds"]) else None
    if logical_date is None:
        return None
    import pendulum

    from mlgate.airflow.dagkit import timezone

    return pendulum.instance(logical_date).in_timezone(timezone(spec)).strftime("%Y-%m-%d")


def dag_run_day(dag_id: str, run_id: str, spec: Spec) -> str | None:
    """The day of Airflow run `run_id` of `dag_id` (see `day_of_run`), None when unknown."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.execute(
            select(DagRun.conf, DagRun.logical_date).where(
                DagRun.dag_id == dag_id, DagRun.run_id == run_id
            )
        ).first()
    return None if row is None else day_of_run(spec, row[0], row[1])


def pending_approvals() -> list[dict]:
    """The approvals mlgate's train DAGs wait for in Required Actions (Airflow's
    human-in-the-loop details with no answer yet, on a task still waiting), oldest first:
    {dag_id, run_id, task_id, subject, created_at}."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(
                TaskInstance.dag_id,
                TaskInstance.run_id,
                TaskInstance.task_id,
                HITLDetail.subject,
                HITLDetail.created_at,
            )
            .join(TaskInstance, TaskInstance.id == HITLDetail.ti_id)
            .where(
                HITLDetail.responded_at.is_(None),
                TaskInstance.state == "deferred",  # still waiting (not timed out, not cleared)
                TaskInstance.dag_id.like("mlgate\\_%", "\\"),
            )
            .order_by(HITLDetail.created_at)
        ).all()
    return [
        {
            "dag_id": dag_id,
            "run_id": run_id,
            "task_id": task_id,
            "subject": subject,
            "created_at": created_at.isoformat() if created_at else None,
        }
        for dag_id, run_id, task_id, subject, created_at in rows
    ]
