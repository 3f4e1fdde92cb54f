"""mlgate.tracking: the experiments open on model training in the MLflow UI, and the links
back to Airflow point at the Airflow 3 UI's page of the run."""

from mlflow import MlflowClient

from mlgate import tracking
from mlgate.config.settings import load_settings


def test_experiments_are_made_and_kept_of_the_model_training_kind(isolated_settings, spec):
    client = MlflowClient(tracking_uri=isolated_settings.tracking_uri)
    made = tracking.ensure_experiment(isolated_settings, spec)
    tags = client.get_experiment(made).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert tags[tracking.SPEC_TAG] == spec.path.name
    # an experiment made before mlgate set the kind gets it the next time mlgate touches it
    old = client.create_experiment("made-by-an-older-mlgate")
    assert "mlflow.experimentKind" not in client.get_experiment(old).tags
    assert tracking.ensure_experiment(isolated_settings, spec, "made-by-an-older-mlgate") == old
    assert client.get_experiment(old).tags["mlflow.experimentKind"] == "custom_model_development"
    # a kind a person chose in the MLflow UI is theirs
    client.set_experiment_tag(made, "mlflow.experimentKind", "genai_development")
    assert tracking.ensure_experiment(isolated_settings, spec) == made
    assert client.get_experiment(made).tags["mlflow.experimentKind"] == "genai_development"


def test_links_to_an_airflow_run_use_the_airflow_ui_route(tmp_path):
    home = {"MLGATE_HOME": str(tmp_path)}
    assert load_settings(home).airflow_url == "http://localhost:8080"
    served = load_settings({**home, "AIRFLOW__API__BASE_URL": "https://airflow.example/"})
    assert served.airflow_url == "https://airflow.example"
    told = {**home, "AIRFLOW__API__BASE_URL": "http://api:8080", "MLGATE_AIRFLOW_URL": "http://ui"}
    assert load_settings(told).airflow_url == "http://ui"
    run_id = "manual__2013-03-12T00:00:00+00:00"
    assert tracking.airflow_run_url(served, "mlgate_flights_late_train", run_id) == (
        "https://airflow.example/dags/mlgate_flights_late_train/runs/"
        "manual__2013-03-12T00%3A00%3A00%2B00%3A00"
    )
    link = tracking.airflow_run_link(served, f"mlgate_flights_late_train/{run_id}")
    assert link == tracking.airflow_run_link(
        served, {"dag_id": "mlgate_flights_late_train", "run_id": run_id}
    )
    assert link == (
        f"[`mlgate_flights_late_train/{run_id}`]"
        f"({tracking.airflow_run_url(served, 'mlgate_flights_late_train', run_id)})"
    )
    assert tracking.airflow_run_link(served, None) is None
    assert tracking.airflow_run_link(served, {}) is None
