"""
### mlgate monitor: data checks, late labels, live quality, drift, retrain requests

Checks the window's data first (a quarantined day is never counted; a feature far more
often missing than in training is a data problem, left out of drift), joins the labels
that have matured to the champion's served predictions (live quality with intervals, per
slice; the challenger's shadow predictions beside it), and tests drift per feature and on
the predictions against the champion's training data, at the spec's false-alarm rate.
The report (JSON and HTML) goes to `reports/<model>-monitor/` and to MLflow
(`<model>-monitor`).

`live_decisions` runs first: a gray-zone challenger nobody answered is settled on live
labels (promoted or refused), a champion under watch after its promotion is compared with
the previous one and rolled back (with an alert) when measurably worse, and the gate's
decisions whose next days have their labels are judged in hindsight (`mlgate decisions`).

`request_retrain` emits the *retrain request* Asset (reasons in its extra), on which the
train DAG is scheduled, only when the evidence persists (k of the last n runs), outside
the cool-down after the last training, and while the Airflow Variable
`mlgate_<model>_retraining_paused` is not "true"; otherwise it is skipped and says why.
An alert with its runbook goes out from `measure`'s success callback (point it at your
channel with `MLGATE_ALERT_CALLBACK` or `MLGATE_ALERT_WEBHOOK`).
"""

from __future__ import annotations

from airflow.sdk import dag, task

from mlgate.airflow import dagkit


def build(spec):
    request = dagkit.retrain_request_asset(spec)

    @dag(
        **dagkit.dag_arguments(
            spec,
            "monitor",
            __doc__,
            description=f"Monitor live quality and drift of the {spec.model} champion",
            schedule=dagkit.daily_schedule(spec),
            max_active_runs=1,
        )
    )
    def monitor():
        @task
        @dagkit.fail_on_damage
        def live_decisions(**context) -> dict:
            from mlgate.monitor.evidence import live_decisions as decide_live
            from mlgate.monitor.evidence import summary_lines

            lake, settings = dagkit.lake_and_settings()
            decided = decide_live(
                lake, settings, spec, dagkit.run_ds(context), dagkit.run_info(context)
            )
            print("\n".join(summary_lines(decided)))
            return decided

        @task(on_success_callback=dagkit.monitor_alert(spec))
        @dagkit.fail_on_damage
        def measure(decisions: dict, **context) -> dict:
            from mlgate.monitor.day import monitor_day, summary_lines

            lake, settings = dagkit.lake_and_settings()
            report = monitor_day(
                lake,
                settings,
                spec,
                dagkit.run_ds(context),
                dagkit.run_info(context),
                paused=dagkit.retraining_paused(spec),
                pause_variable=dagkit.pause_variable(spec),
                decisions=decisions,
            )
            print("\n".join(summary_lines(report)))
            return {k: report[k] for k in ("ds", "retrain", "reasons", "quiet_reasons", "paused")}

        @task(outlets=[request])
        @dagkit.fail_on_damage
        def request_retrain(report: dict, **context) -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            if not report["retrain"]:
                raise AirflowSkipException(
                    "no retraining needed: "
                    + (
                        "; ".join(report["reasons"] + report["quiet_reasons"])
                        or "no evidence against the champion (drift weighed by importance, "
                        "its predictions, live quality)"
                    )
                )
            context["outlet_events"][request].extra = {
                "ds": report["ds"],
                "reasons": report["reasons"],
            }
            print("retraining requested: " + "; ".join(report["reasons"]))
            return report

        request_retrain(measure(live_decisions()))

    return monitor()


dagkit.for_every_spec(build)
