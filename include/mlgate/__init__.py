"""mlgate: gated continuous training for Apache Airflow."""

__version__ = "0.1.0"
