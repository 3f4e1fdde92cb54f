"""What the DAGs share, the local Airflow environment, the production topology, and the
runner of `mlgate run`."""
