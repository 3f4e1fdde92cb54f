"""The mlgate Airflow plugin: registers the daily DAGs' timetable (a run per local day of
the spec's time zone, due after the upstream's delivery delay), so the scheduler and the
API server can read it back from the serialized DAGs."""

from airflow.plugins_manager import AirflowPlugin

from mlgate.airflow.timetable import DeliveredDaily


class MlgatePlugin(AirflowPlugin):
    name = "mlgate"
    timetables = [DeliveredDaily]
