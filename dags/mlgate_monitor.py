"""
### mlgate monitor: late labels, live quality, drift, retrain requests

Joins the labels that have arrived to the served predictions, measures live quality and
drift per feature against the champion's training data, and writes a report to
`reports/<model>-monitor/`. When the spec's thresholds are crossed outside the cool-down,
`request_retrain` emits the *retrain request* Asset (reasons in its extra), on which the
train DAG is scheduled; otherwise it is skipped and says why.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from mlgate import dagkit
from mlgate.spec import load_all_specs


def build(spec):
    request = dagkit.retrain_request_asset(spec)

    @dag(
        dag_id=dagkit.dag_id(spec, "monitor"),
        description=f"Monitor live quality and drift of the {spec.model} champion",
        doc_md=__doc__,
        schedule="@daily",
        start_date=dagkit.start_date(spec),
        catchup=False,
        max_active_runs=1,
        tags=dagkit.tags(spec, "monitor"),
        default_args=dagkit.DEFAULT_ARGS,
    )
    def monitor():
        @task
        def measure(**context) -> dict:
            from mlgate.monitor import monitor_day

            lake, settings = dagkit.lake_and_settings()
            report = monitor_day(lake, settings, spec, dagkit.run_ds(context), dagkit.run_info(context))
            live = report.get("live", {})
            print(f"live: {live}; drifted share: {report.get('drift', {}).get('drifted_share')}; "
                  f"retrain: {report['retrain']} {report['reasons']} {report['quiet_reasons']}")
            return {k: report[k] for k in ("ds", "retrain", "reasons", "quiet_reasons")}

        @task(outlets=[request])
        def request_retrain(report: dict, **context) -> dict:
            from airflow.sdk.exceptions import AirflowSkipException

            if not report["retrain"]:
                raise AirflowSkipException("no retraining needed: " + ("; ".join(report["reasons"] + report["quiet_reasons"]) or "no drift, quality holds"))
            context["outlet_events"][request].extra = {"ds": report["ds"], "reasons": report["reasons"]}
            print("retraining requested: " + "; ".join(report["reasons"]))
            return report

        request_retrain(measure())

    return monitor()


for _spec in load_all_specs():
    build(_spec)
