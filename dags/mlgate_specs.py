"""
### mlgate specs: a broken spec fails here, alone

Every spec in the specs folder drives five DAGs (ingest, train, score, monitor, rollback). A
spec that does not load is left out of those DAG files, so the other models keep their DAGs,
and its error is raised by this file: Airflow's import errors name the spec file and what is
wrong with it (`mlgate spec check FILE` says the same). This file defines no DAG.
"""

from __future__ import annotations

from mlgate.airflow import dagkit

dagkit.raise_spec_errors()
