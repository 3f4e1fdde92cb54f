"""The one place that talks to MLflow: the client, the tracking URI, experiments, the
names mlgate writes on runs, model versions and the registered model, their descriptions
(Markdown, linking back to the Airflow run), and reading back what one stage logged for
another (the training window, the reference profile, the feature schema, the evaluation AUC).

Stages never spell a tag name themselves: they use the constants below, so what the card
writes is what the monitor reads.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlgate.config.settings import Settings
    from mlgate.config.spec import Spec

# Aliases of the registered model `<model>` (stages are deprecated in MLflow).
CHAMPION = "champion"  # the version the score DAG serves
CHALLENGER = "challenger"  # the candidate under judgement; scored in shadow while it waits
PREVIOUS = "previous_champion"  # the champion before the current one (rollback's target)

# Tags on a candidate's run and on its model version.
RUN_TAG = "mlgate.airflow_run"  # "<dag_id>/<run_id>" of the Airflow run that trained it
DS_TAG = "mlgate.ds"  # the logical date it was trained for
TRIGGER_TAG = "mlgate.trigger"  # what started the training (scheduled, asset, manual, ...)
WINDOW_TAG = "mlgate.window"  # "<first>..<last>" training day
# sha256 of what makes the model: the window's data hashes, the spec's training sections, the
# overrides and the mlgate version; a second training of the same key reuses the version
TRAINING_KEY_TAG = "mlgate.training_key"
MODEL_TAG = "mlgate.model"  # the spec's model name
KIND_TAG = "mlgate.kind"  # "candidate"
VERSION_TAG = "mlgate.version"  # the mlgate package that trained it

# Tags the promotion gate writes on the run and on the model version.
DECISION_TAG = "mlgate.decision"  # promote | refuse | ask
DECISION_SENTENCE_TAG = "mlgate.decision_sentence"  # the decision in one sentence
REASONS_TAG = "mlgate.reasons"  # every reason, "; "-separated
GOLDEN_VERSION_TAG = "mlgate.golden_version"  # the evaluation set's version
EVAL_AUC_TAG = (
    "mlgate.eval_auc"  # the candidate's AUC on the evaluation set: the monitor's baseline
)
# a regression candidate's RMSE on the evaluation set: the monitor's baseline
EVAL_RMSE_TAG = "mlgate.eval_rmse"
JUDGED_AGAINST_TAG = "mlgate.judged_against"  # the champion the candidate was judged against
PROMOTED_BY_TAG = "mlgate.promoted_by"  # the Airflow run, and the approver in a gray zone
PROMOTED_BECAUSE_TAG = "mlgate.promoted_because"  # the decision sentence (or the approval)
PROMOTED_AT_TAG = "mlgate.promoted_at"  # UTC time of the promotion
PROMOTED_DS_TAG = "mlgate.promoted_ds"  # the data day it became champion (its watch starts)
ROLLED_BACK_TAG = "mlgate.rolled_back"  # on the version a rollback moved away from: the reason
ROLLED_BACK_DS_TAG = "mlgate.rolled_back_ds"  # ... and the day it happened (a data day)
HINDSIGHT_TAG = "mlgate.hindsight"  # right | wrong: the decision on this version, judged later
HINDSIGHT_WHY_TAG = "mlgate.hindsight_why"  # ... the figures that judged it
ROLLBACK_HINDSIGHT_TAG = "mlgate.rollback_hindsight"  # right | wrong: the rollback away from it
ROLLBACK_HINDSIGHT_WHY_TAG = "mlgate.rollback_hindsight_why"  # ... the figures that judged it
RESTORED_TAG = "mlgate.restored_by_rollback"  # on the version a rollback restored: the reason
NOT_PROMOTED_TAG = "mlgate.not_promoted"  # why a candidate lost its `challenger` alias unpromoted

# Tags on the registered model and on the experiments.
CHAMPION_HISTORY_TAG = "mlgate.champion_history"  # JSON list of the champions, oldest first
# a promotion or rollback under way (JSON: action, from, to, before, after, version_tags, by,
# why, at, owner): written first, removed last, so any later promotion or rollback finishes it
PROMOTION_INTENT_TAG = "mlgate.promotion_intent"
SPEC_TAG = "mlgate.spec"  # on an experiment: the spec file it belongs to
# MLflow's own: what an experiment is for, so its UI opens on model training (runs, metrics,
# models), not on the GenAI dashboard (traces); a kind someone chose in the UI is kept
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MODEL_TRAINING_KIND = "custom_model_development"  # the UI's "Machine learning"
# MLflow's own: a run's description (Markdown), shown on the run's page
DESCRIPTION_TAG = "mlflow.note.content"

# Tags on the monitor's runs (experiment `<model>-monitor`): one long-lived run per champion
# version, "monitor: <model> v<N>", resumed each day; its metrics have the day as step.
MONITOR_KIND = "monitor"  # KIND_TAG of a monitor run
MONITOR_DS_TAG = "mlgate.monitor_ds"  # the latest day monitored
MONITOR_CHAMPION_TAG = "mlgate.champion"  # the champion version monitored
RETRAIN_TAG = "mlgate.retrain"  # "true" when the latest day monitored asked for retraining

# Artifacts a candidate's run carries.
LINEAGE_ARTIFACT = "lineage.json"  # the training window and the hashes of its days
REFERENCE_ARTIFACT = "reference_profile.json"  # the monitor's drift reference
SCHEMA_FILE = "feature_schema.json"  # the model's feature schema, logged inside the pyfunc
SCHEMA_ARTIFACT_PATH = f"artifacts/{SCHEMA_FILE}"  # where MLflow keeps it in the logged model


def connect(tracking_uri: str) -> None:
    """Point MLflow's fluent API (start_run, log_model, register_model) at `tracking_uri`;
    a no-op when it already points there."""
    import mlflow

    if mlflow.get_tracking_uri() != tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)


def client(settings: Settings) -> MlflowClient:
    """A client of the deployment's tracking server and model registry."""
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def ensure_experiment(settings: Settings, spec: Spec, name: str | None = None) -> str:
    """The model's MLflow experiment, or the experiment `name` (created with its artifact
    location, or with the tracking server's when settings.artifacts_uri is None)."""
    import mlflow

    name = name or spec.model
    connect(settings.tracking_uri)
    exp = mlflow.get_experiment_by_name(name)
    if exp is None:
        base = settings.artifacts_uri
        location = f"{base.rstrip('/')}/{name}" if base else None
        tags = {SPEC_TAG: str(spec.path.name), EXPERIMENT_KIND_TAG: MODEL_TRAINING_KIND}
        return mlflow.create_experiment(name, artifact_location=location, tags=tags)
    if not exp.tags.get(EXPERIMENT_KIND_TAG):  # made before mlgate set the kind
        client(settings).set_experiment_tag(
            exp.experiment_id, EXPERIMENT_KIND_TAG, MODEL_TRAINING_KIND
        )
    return exp.experiment_id


def airflow_run_url(settings: Settings, dag_id: str, run_id: str) -> str:
    """The Airflow UI's page of a DAG run (Airflow 3: `<base>/dags/<dag_id>/runs/<run_id>`)."""
    return f"{settings.airflow_url}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def airflow_run_link(settings: Settings, run: dict | str | None) -> str | None:
    """A Markdown link to an Airflow run, from a run dict (`dag_id`, `run_id`) or a RUN_TAG
    value ("<dag_id>/<run_id>"); None without one."""
    if isinstance(run, str):
        dag_id, _, run_id = run.partition("/")
        run = {"dag_id": dag_id, "run_id": run_id}
    if not run or not run.get("dag_id") or not run.get("run_id"):
        return None
    text = f"`{run['dag_id']}/{run['run_id']}`"
    return f"[{text}]({airflow_run_url(settings, run['dag_id'], run['run_id'])})"


def describe(settings: Settings, model: str, version: str, markdown: str) -> None:
    """Write `markdown` as the description of a model version and of its run (what the MLflow
    UI shows on their pages)."""
    mlflow_client = client(settings)
    markdown = markdown[:5000]  # MLflow's limit on a tag value
    mv = mlflow_client.update_model_version(model, str(version), description=markdown)
    if mv.run_id:
        mlflow_client.set_tag(mv.run_id, DESCRIPTION_TAG, markdown)


def add_to_description(settings: Settings, model: str, version: str, markdown: str) -> None:
    """Put `markdown` (what happened to a version later: a rollback, a verdict in hindsight)
    at the top of its description, above what was there (kept, cut to MLflow's limit); a
    retry that would write it twice writes nothing."""
    mv = client(settings).get_model_version(model, str(version))
    earlier = (mv.description or "").strip()
    if markdown in earlier:
        return
    describe(settings, model, version, f"{markdown}\n\n{earlier}" if earlier else markdown)


def reference_profile(settings: Settings, run_id: str) -> dict:
    """The drift reference profile logged with a candidate's run."""
    import mlflow

    connect(settings.tracking_uri)
    return mlflow.artifacts.load_dict(f"runs:/{run_id}/{REFERENCE_ARTIFACT}")


def training_window(settings: Settings, run_id: str) -> dict | None:
    """The training window logged with a model's run (None for a model without one,
    such as a hand-registered version)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    connect(settings.tracking_uri)
    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{LINEAGE_ARTIFACT}")["window"]
    except (MlflowException, OSError, KeyError):
        return None


def feature_schema(settings: Settings, model: str, version: str) -> dict:
    """The feature schema saved inside a registered version (as a dict)."""
    import mlflow

    connect(settings.tracking_uri)
    return mlflow.artifacts.load_dict(f"models:/{model}/{version}/{SCHEMA_ARTIFACT_PATH}")


def eval_auc(model_version) -> float | None:
    """The AUC the promotion gate measured for a version on its evaluation set."""
    return _finite_tag(model_version, EVAL_AUC_TAG)


def eval_rmse(model_version) -> float | None:
    """The RMSE the promotion gate measured for a (regression) version on its evaluation set."""
    return _finite_tag(model_version, EVAL_RMSE_TAG)


def _finite_tag(model_version, tag: str) -> float | None:
    """A numeric tag as a finite float, or None (absent, empty or not a finite number)."""
    try:
        value = float(model_version.tags.get(tag) or "nan")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def window_last_day(model_version) -> str | None:
    """The last training day of a version (from its window tag), or None."""
    window = model_version.tags.get(WINDOW_TAG)
    return window.split("..")[-1] if window else None
