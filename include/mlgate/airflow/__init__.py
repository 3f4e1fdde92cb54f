"""What the DAGs share, the local Airflow environment, the production topology."""
