"""
### mlgate train: train, judge, promote

Scheduled by the spec's `train_cron` **and** by the monitor's *retrain request* Asset.
Assembles the window of validated, labelled days (golden days and the most recent days
are held out), trains XGBoost under MLflow tracking, registers the candidate, scores it
and the champion on the same evaluation rows, and moves the `champion` alias (keeping
`previous_champion`) only when the spec's rules pass. A refused candidate leaves the
champion as it was; `promote` is then skipped with the reasons. Backfill runs never promote.

**Manual run parameters**: `overrides` (e.g. `{"params": {"max_depth": 3}}`) for an
experiment judged like any candidate.
"""

from __future__ import annotations

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from mlgate import dagkit
from mlgate.spec import load_all_specs


def build(spec):
    @dag(
        dag_id=dagkit.dag_id(spec, "train"),
        description=f"Train, evaluate and promote {spec.model}",
        doc_md=__doc__,
        schedule=AssetOrTimeSchedule(
            timetable=CronTriggerTimetable(spec.section("schedule")["train_cron"], timezone="UTC"),
            assets=[dagkit.retrain_request_asset(spec)],
        ),
        start_date=dagkit.start_date(spec),
        catchup=False,
        max_active_runs=1,
        tags=dagkit.tags(spec, "train"),
        default_args=dagkit.DEFAULT_ARGS,
        params={"overrides": Param({}, type="object", description="Training overrides for an experiment.")},
    )
    def train():
        @task
        def train_candidate(**context) -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            from mlgate.train import NotEnoughData, train_candidate as train_one

            lake, settings = dagkit.lake_and_settings()
            run = dagkit.run_info(context)
            trigger = (context["dag_run"].conf or {}).get("trigger") or run["run_type"].split(".")[-1].lower()
            try:
                candidate = train_one(lake, settings, spec, run["ds"], run, trigger, context["params"].get("overrides") or None)
            except NotEnoughData as exc:
                raise AirflowSkipException(str(exc)) from None
            print(f"candidate v{candidate['version']} (MLflow run {candidate['run_id']})")
            return candidate

        @task
        def evaluate(candidate: dict) -> dict:
            from dataclasses import asdict

            from mlgate.evaluate import evaluate_candidate

            lake, settings = dagkit.lake_and_settings()
            window = candidate.get("window") or _window_of(settings, candidate)
            decision = evaluate_candidate(lake, settings, spec, candidate["version"], window)
            print(decision.sentence)
            return {**asdict(decision), "sentence": decision.sentence}

        @task(outlets=[dagkit.champion_asset(spec)])
        def promote(decision: dict, **context) -> str:
            from airflow.sdk.exceptions import AirflowSkipException

            from mlgate.evaluate import Decision, apply_decision

            _, settings = dagkit.lake_and_settings()
            run = dagkit.run_info(context)
            backfill = "BACKFILL" in run["run_type"].upper()
            fields = {k: v for k, v in decision.items() if k != "sentence"}
            if not apply_decision(settings, spec, Decision(**fields), run, backfill=backfill):
                why = "backfill runs never promote" if decision["promote"] else decision["sentence"]
                raise AirflowSkipException(f"champion unchanged: {why}")
            context["outlet_events"][dagkit.champion_asset(spec)].extra = {"version": decision["candidate"]}
            print(f"champion is now v{decision['candidate']}")
            return decision["candidate"]

        promote(evaluate(train_candidate()))

    return train()


def _window_of(settings, candidate):
    """The window logged with a reused candidate (a retried task)."""
    import mlflow

    mlflow.set_tracking_uri(settings.tracking_uri)
    return mlflow.artifacts.load_dict(f"runs:/{candidate['run_id']}/lineage.json")["window"]


for _spec in load_all_specs():
    build(_spec)
