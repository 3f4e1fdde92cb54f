"""
### mlgate ingest: land, gate, validate

For each day: wait for the upstream delivery in `landing/`, copy it to `raw/` with its
content hash and row count, and run the Great Expectations gate generated from the spec.
A passing partition is committed to `validated/` and emits the *validated* Asset; a
rejected one is copied to `quarantine/` with the reason (raw is kept) and the run fails
with a readable message. The outcomes delivered for the day before become labels.
Days run one at a time, in order: each day's gate draws its bands from the days before.

**Manual run parameter** `accept_reason`: accept a rejected batch on purpose; the reason
is recorded in the partition's lineage. Re-running a day changes nothing.
"""

from __future__ import annotations

from airflow.sdk import Param, PokeReturnValue, dag, task

from mlgate.airflow import dagkit


def build(spec):
    @dag(
        **dagkit.dag_arguments(
            spec,
            "ingest",
            __doc__,
            description=f"Land and gate the daily {spec.features_feed['feed']} feed "
            f"for {spec.model}",
            schedule=dagkit.daily_schedule(spec),
            max_active_runs=1,  # a day's gate uses the accepted days before it: days run in order
            params={
                "accept_reason": Param(
                    None,
                    type=["null", "string"],
                    description="Accept a rejected batch on purpose, with this reason.",
                )
            },
        )
    )
    def ingest():
        @task.sensor(**dagkit.sensor_arguments(spec))
        def wait_for_delivery(**context) -> PokeReturnValue:
            from mlgate.ingest.landing import landed

            lake, _ = dagkit.lake_and_settings()
            return PokeReturnValue(is_done=landed(lake, spec, dagkit.run_ds(context)))

        @task
        @dagkit.fail_on_damage
        def land(**context) -> dict:
            from mlgate.ingest.landing import land_features

            lake, _ = dagkit.lake_and_settings()
            return land_features(lake, spec, dagkit.run_ds(context), dagkit.run_info(context))[
                "files"
            ]

        @task(outlets=[dagkit.validated_asset(spec)])
        @dagkit.fail_on_damage
        def validate(**context) -> dict:
            from airflow.sdk.exceptions import AirflowFailException

            from mlgate.ingest.landing import GateRejected, gate_features

            lake, _ = dagkit.lake_and_settings()
            ds = dagkit.run_ds(context)
            try:
                result = gate_features(
                    lake, spec, ds, dagkit.run_info(context), context["params"].get("accept_reason")
                )
            except GateRejected as rejected:
                raise AirflowFailException(str(rejected)) from None
            print(result.summary())
            context["outlet_events"][dagkit.validated_asset(spec)].extra = {
                "ds": ds,
                "rows": result.rows,
            }
            return result.to_dict()

        @task
        @dagkit.fail_on_damage
        def labels(**context) -> dict | None:
            import datetime as dt

            from airflow.sdk.exceptions import AirflowFailException

            from mlgate.ingest.landing import GateRejected, land_outcomes

            lake, _ = dagkit.lake_and_settings()
            day = dt.date.fromisoformat(dagkit.run_ds(context)) - dt.timedelta(
                days=int(spec.outcomes_feed.get("delay_days", 1))
            )
            try:
                committed = land_outcomes(lake, spec, day.isoformat(), dagkit.run_info(context))
            except GateRejected as rejected:
                raise AirflowFailException(str(rejected)) from None
            print(
                f"labels for {day}: "
                + ("not delivered yet" if committed is None else f"{committed['rows']} rows")
            )
            return committed and {"ds": day.isoformat(), "rows": committed["rows"]}

        wait_for_delivery() >> land() >> validate() >> labels()

    return ingest()


dagkit.for_every_spec(build)
