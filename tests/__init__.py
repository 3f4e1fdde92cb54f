"""The tests, one folder per stage of the package (tests/ingest for mlgate.ingest, ...).

A package, so that test modules are imported as `tests.<stage>.test_x` with the repository
root on sys.path: without this file, pytest would import tests/airflow/ as a top-level
package `airflow` and shadow Apache Airflow."""
