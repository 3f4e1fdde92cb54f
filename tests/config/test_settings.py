"""Settings from the environment: where the artifacts go, locally and with a tracking server."""

from mlgate.airflow.local import airflow_env
from mlgate.config.settings import load_settings


def test_local_defaults_put_the_artifacts_under_the_home(tmp_path):
    settings = load_settings({"MLGATE_HOME": str(tmp_path)})
    assert settings.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert settings.artifacts_uri == str(tmp_path / "mlartifacts")
    assert airflow_env(settings)["MLGATE_ARTIFACTS_URI"] == settings.artifacts_uri


def test_a_tracking_server_places_the_artifacts_itself_unless_told(tmp_path):
    server = {"MLGATE_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": "http://mlflow:5000"}
    settings = load_settings(server)
    assert settings.artifacts_uri is None  # new experiments: the server's --artifacts-destination
    assert "MLGATE_ARTIFACTS_URI" not in airflow_env(settings)
    assert (
        load_settings({**server, "MLFLOW_TRACKING_URI": "HTTPS://mlflow.example"}).artifacts_uri
        is None
    )
    assert (
        load_settings({**server, "MLGATE_ARTIFACTS_URI": "s3://b/art"}).artifacts_uri
        == "s3://b/art"
    )


def test_the_dask_scheduler_is_read_and_handed_to_airflow(tmp_path):
    settings = load_settings({"MLGATE_HOME": str(tmp_path)})
    assert settings.dask_scheduler is None
    assert "MLGATE_DASK_SCHEDULER" not in airflow_env(settings, environ={})
    settings = load_settings(
        {"MLGATE_HOME": str(tmp_path), "MLGATE_DASK_SCHEDULER": "tcp://dask-scheduler:8786"}
    )
    assert settings.dask_scheduler == "tcp://dask-scheduler:8786"
    assert airflow_env(settings, environ={})["MLGATE_DASK_SCHEDULER"] == "tcp://dask-scheduler:8786"
