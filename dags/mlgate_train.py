"""
### mlgate train: train, judge, promote

Scheduled by the spec's `train_cron` **and** by the monitor's *retrain request* Asset.
Assembles the window of validated, labelled days (golden days and the most recent days
are held out), trains XGBoost under MLflow tracking and registers the candidate. The
promotion gate then loads both models in a fresh process, checks the candidate's sanity,
and compares the two on the same rows with confidence intervals and per-slice checks.

- **promote**: the aliases move (compare-and-set; `previous_champion` is kept).
- **refuse**: the champion stays; the reasons are in the `evaluate` log and the card.
- **ask**: an interval straddles a margin; `approve` waits for a person in *Required
  Actions* with the promotion card. No answer before the spec's timeout (or an unattended
  run, `gray_zone: evidence`): the candidate stays the challenger, scored in shadow, and
  the monitor settles it on live labels (the spec's `evaluation.evidence`); a person who
  answers first decides.
- **release_challenger**: a candidate that was not promoted (refused, rejected, a
  backfill) loses the `challenger` alias, so the score DAG stops scoring it in shadow;
  its model version is tagged `mlgate.not_promoted` with why.

The promotion card (`promotion_card.html`) is on the candidate's MLflow run.
Backfill runs never promote. A run whose newest validated, labelled day is more than the
spec's `training.max_data_age_days` before its own day (a run dated today on a lake of old
data) fails without retrying and registers nothing: land newer data, or run it for the
data's dates (`{"ds": "YYYY-MM-DD"}`).

**Manual run parameters**: `overrides` (e.g. `{"params": {"max_depth": 3}}`) for an
experiment judged like any candidate; `gray_zone`: `ask` (default), `evidence` (unattended:
live labels settle it) or `refuse`.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, Param, dag, task

from mlgate.airflow import dagkit


def build(spec):
    approval = spec.section("evaluation").get("approval", {})  # timeout of the `approve` task

    @dag(
        **dagkit.dag_arguments(
            spec,
            "train",
            __doc__,
            description=f"Train, evaluate and promote {spec.model}",
            schedule=AssetOrTimeSchedule(
                timetable=CronTriggerTimetable(
                    spec.section("schedule")["train_cron"], timezone=dagkit.timezone(spec)
                ),
                assets=[dagkit.retrain_request_asset(spec)],
            ),
            max_active_runs=1,
            params={
                "overrides": Param(
                    {}, type="object", description="Training overrides for an experiment."
                ),
                "gray_zone": Param(
                    "ask",
                    enum=["ask", "evidence", "refuse"],
                    description="In the gray zone: ask a person; leave it to live evidence "
                    "(unattended runs: the challenger is scored in shadow and the monitor "
                    "settles it); or refuse.",
                ),
            },
        )
    )
    def train():
        @task
        @dagkit.fail_on_damage
        def train_candidate(**context) -> dict:
            from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

            from mlgate.train.candidate import already_champion
            from mlgate.train.candidate import train_candidate as train_one
            from mlgate.train.window import NotEnoughData, StaleData

            lake, settings = dagkit.lake_and_settings()
            run = dagkit.run_info(context)
            trigger = dagkit.trigger_of(context)
            try:
                candidate = train_one(
                    lake,
                    settings,
                    spec,
                    run["ds"],
                    run,
                    trigger,
                    context["params"].get("overrides") or None,
                )
            except NotEnoughData as exc:
                raise AirflowSkipException(str(exc)) from None
            except StaleData as exc:  # a run dated today on old data: retrying cannot help
                raise AirflowFailException(f"refused: {exc}") from None
            except ValueError as exc:  # bad overrides: retrying cannot help
                raise AirflowFailException(f"refused: {exc}") from None
            settled = already_champion(settings, spec, candidate)
            if settled:  # a re-run of a training that was promoted: the same story, no new one
                raise AirflowSkipException(settled)
            print(f"candidate v{candidate['version']} (MLflow run {candidate['run_id']})")
            return candidate

        @task
        @dagkit.fail_on_damage
        def evaluate(candidate: dict, **context) -> dict:
            from mlgate import tracking
            from mlgate.airflow import links
            from mlgate.promote.card import card_markdown
            from mlgate.promote.evaluate import evaluate_candidate

            lake, settings = dagkit.lake_and_settings()
            window = candidate.get("window") or tracking.training_window(
                settings, candidate["run_id"]
            )
            decision = evaluate_candidate(
                lake, settings, spec, candidate["version"], window, dagkit.run_info(context)
            )
            print(decision.sentence)
            for reason in decision.reasons:
                print(f"  - {reason}")
            urls = links.candidate_links(settings, spec.model, candidate)
            return {**decision.to_dict(), "card_markdown": card_markdown(decision, urls)}

        @task.branch
        def route(decision: dict, **context):
            from mlgate.promote.apply import route as next_step

            step, why = next_step(
                spec, decision, str(context["dag_run"].run_type), context["params"]["gray_zone"]
            )
            print(why)
            return step

        approve = ApprovalOperator(
            task_id="approve",
            subject=f"Promote {spec.model} v"
            "{{ ti.xcom_pull(task_ids='evaluate')['candidate'] }}? (gray zone)",
            body="{{ ti.xcom_pull(task_ids='evaluate')['card_markdown'] }}",
            defaults="Reject",  # no answer in time: left to live evidence (release_challenger)
            ignore_downstream_trigger_rules=False,  # a rejection skips promote, not the release
            response_timeout=dt.timedelta(minutes=float(approval.get("timeout_minutes", 1440))),
        )

        @task(outlets=[dagkit.champion_asset(spec)], trigger_rule="none_failed_min_one_success")
        @dagkit.fail_on_damage
        def promote(decision: dict, **context) -> str:
            from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

            from mlgate.promote.apply import apply_decision
            from mlgate.promote.decide import Decision
            from mlgate.promote.registry import PromotionError

            lake, settings = dagkit.lake_and_settings()
            run = dagkit.run_info(context)
            approved_by = dagkit.approver(context["ti"].xcom_pull(task_ids="approve"))
            try:
                moved = apply_decision(
                    lake, settings, spec, Decision.from_dict(decision), run, approved_by=approved_by
                )
            except PromotionError as exc:  # the champion moved meanwhile: never overwrite, stop
                raise AirflowFailException(str(exc)) from None
            if not moved:
                raise AirflowSkipException(f"champion unchanged: {decision['sentence']}")
            context["outlet_events"][dagkit.champion_asset(spec)].extra = {
                "version": decision["candidate"]
            }
            print(
                f"champion is now v{decision['candidate']}"
                + (f" (approved by {approved_by})" if approved_by else "")
            )
            return decision["candidate"]

        @task(trigger_rule="none_failed_min_one_success")
        def release_challenger(decision: dict, **context) -> str | None:
            from mlgate.promote.apply import release_challenger as release

            _, settings = dagkit.lake_and_settings()
            answer = context["ti"].xcom_pull(task_ids="approve")
            run_type, gray_zone = str(context["dag_run"].run_type), context["params"]["gray_zone"]
            done = release(settings, spec, decision, run_type, gray_zone, answer)
            print(done or f"v{decision['candidate']} was promoted")
            return done

        decision = evaluate(train_candidate())
        routed = route(decision)
        done = promote(decision)
        routed >> [approve, done]
        approve >> done
        done >> release_challenger(decision)

    return train()


dagkit.for_every_spec(build)
