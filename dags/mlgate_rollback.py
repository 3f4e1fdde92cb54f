"""
### mlgate rollback: move the champion one step back

Manual only. Moves the `champion` alias back to the previous champion in the promotion
history, after checking that the previous model still loads and answers rows with the
current feature schema. The reason is recorded on both model versions.
"""

from __future__ import annotations

from airflow.sdk import Param, dag, task

from mlgate.airflow import dagkit


def build(spec):
    @dag(
        **dagkit.dag_arguments(
            spec,
            "rollback",
            __doc__,
            description=f"Roll the {spec.model} champion back one step",
            schedule=None,
            default_args=dagkit.default_args(spec, retries=0),
            params={
                "reason": Param(
                    "", type="string", minLength=3, description="Why the champion is rolled back."
                )
            },
        )
    )
    def rollback():
        @task(outlets=[dagkit.champion_asset(spec)])
        def roll_back(**context) -> dict:
            from mlgate.promote.rollback import roll_back as roll_back_model

            lake, settings = dagkit.lake_and_settings()
            run = dagkit.run_info(context)
            moved = roll_back_model(
                lake,
                settings,
                spec,
                context["params"]["reason"],
                f"{run['dag_id']}/{run['run_id']}",
            )
            if moved.get("finished"):
                print(f"first {moved['finished']}")
            print(f"champion moved from v{moved['from']} back to v{moved['to']}")
            return moved

        roll_back()

    return rollback()


dagkit.for_every_spec(build)
