"""
### mlgate score: batch-score the day with the champion

Waits for the day's validated partition, loads the registered `champion` (as
`mlflow.pyfunc`), and writes `predictions/<model>/ds=D/` where each prediction carries a
prediction id, the model version, the MLflow run id and a hash of its inputs.
A day already scored is left unchanged (backfills are safe) unless `rescore` is set.
"""

from __future__ import annotations

from airflow.sdk import Param, PokeReturnValue, dag, task

from mlgate.airflow import dagkit


def build(spec):
    @dag(
        **dagkit.dag_arguments(
            spec,
            "score",
            __doc__,
            description=f"Score the day's validated {spec.model} rows with the champion",
            schedule=dagkit.daily_schedule(spec),
            max_active_runs=4,
            params={
                "rescore": Param(
                    False, type="boolean", description="Score again a day that was already scored."
                )
            },
        )
    )
    def score():
        @task.sensor(**dagkit.sensor_arguments(spec))
        def wait_for_validated(**context) -> PokeReturnValue:
            lake, _ = dagkit.lake_and_settings()
            return PokeReturnValue(
                is_done=lake.exists("validated", spec.model, dagkit.run_ds(context))
            )

        @task
        @dagkit.fail_on_damage
        def score_day(**context) -> dict:
            from mlgate.score.batch import score_day as score_one_day

            lake, settings = dagkit.lake_and_settings()
            lineage = score_one_day(
                lake,
                settings,
                spec,
                dagkit.run_ds(context),
                dagkit.run_info(context),
                rescore=bool(context["params"].get("rescore")),
            )
            print(
                f"{lineage['rows']} predictions by v{lineage['model_version']}"
                + (" (already scored, unchanged)" if lineage.get("unchanged") else "")
            )
            return {"rows": lineage["rows"], "model_version": lineage["model_version"]}

        wait_for_validated() >> score_day()

    return score()


dagkit.for_every_spec(build)
