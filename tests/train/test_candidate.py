"""Training a candidate (mlgate.train.candidate): overrides are checked before anything runs,
and a retried training task after a try that died marks the MLflow runs it left RUNNING
KILLED (and only those of its own Airflow run)."""

import pytest

from mlgate.tracking import RUN_TAG, ensure_experiment
from mlgate.train.candidate import close_abandoned_runs


def test_a_retry_marks_the_runs_a_dead_try_left_running_killed(isolated_settings, spec):
    from mlflow.tracking import MlflowClient

    run = {"dag_id": "mlgate_flights_late_train", "run_id": "manual__2013-01-23", "try_number": 2}
    assert close_abandoned_runs(isolated_settings, spec, run) == []  # no experiment yet
    client = MlflowClient(tracking_uri=isolated_settings.tracking_uri)
    experiment = ensure_experiment(isolated_settings, spec)
    dead = client.create_run(
        experiment, tags={RUN_TAG: f"{run['dag_id']}/{run['run_id']}"}
    )  # never ended
    other = client.create_run(
        experiment, tags={RUN_TAG: f"{run['dag_id']}/another"}
    )  # another run's, still going
    done = client.create_run(experiment, tags={RUN_TAG: f"{run['dag_id']}/{run['run_id']}"})
    client.set_terminated(done.info.run_id, "FINISHED")

    assert close_abandoned_runs(isolated_settings, spec, run) == [dead.info.run_id]
    assert client.get_run(dead.info.run_id).info.status == "KILLED"
    assert client.get_run(other.info.run_id).info.status == "RUNNING"
    assert client.get_run(done.info.run_id).info.status == "FINISHED"
    assert close_abandoned_runs(isolated_settings, spec, run) == []


def test_training_overrides_are_checked_before_anything_runs(spec):
    from mlgate.train.booster import check_overrides

    assert check_overrides(spec, {"params": {"max_depth": 3}, "drop_features": ["temp"]})[
        "params"
    ] == {"max_depth": 3}
    for bad, message in (
        (
            {"learning_rate": 0.1},
            "unknown override 'learning_rate'; "
            "overrides are drop_features, num_boost_round, params",
        ),
        ({"num_boost_round": "many"}, "override 'num_boost_round' must be a int"),
        ({"num_boost_round": 0}, "must be at least 1"),
        (
            {"drop_features": ["arr_delay"]},
            r"drop_features \['arr_delay'\] are not features of flights_late",
        ),
        (
            {"params": {"max_depht": 3}},
            r"override params: 'max_depht' is not an XGBoost parameter "
            r"\(did you mean 'max_depth'\?\)",
        ),
    ):
        with pytest.raises(ValueError, match=message):
            check_overrides(spec, bad)


def test_a_misspelled_xgboost_parameter_in_the_spec_is_named_before_training(spec, tmp_path):
    """XGBoost only warns about `max_depht` and trains with the default depth; mlgate
    refuses it, in the training task and in `mlgate spec check`, with the nearest name."""
    import dataclasses

    import yaml

    from mlgate.train.booster import check_overrides
    from tests.helpers import mlgate

    raw = yaml.safe_load(spec.path.read_text())
    raw["training"]["params"]["max_depht"] = raw["training"]["params"].pop("max_depth")
    path = tmp_path / "typo.yaml"
    path.write_text(yaml.safe_dump(raw))
    typo = dataclasses.replace(spec, path=path, raw={**spec.raw, "training": raw["training"]})
    with pytest.raises(ValueError, match=r"training.params: 'max_depht' is not an XGBoost"):
        check_overrides(typo, None)
    result = mlgate("spec", "check", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "spec typo.yaml: training.params: 'max_depht' is not an XGBoost parameter "
        "(did you mean 'max_depth'?)"
    )
