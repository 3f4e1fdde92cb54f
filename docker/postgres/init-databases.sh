#!/usr/bin/env bash
# Run by the postgres image once, when its data volume is first initialised
# (/docker-entrypoint-initdb.d): one role and one database per service, each role owning only
# its own database. The superuser (POSTGRES_PASSWORD) is used by nothing else.
set -euo pipefail

for name in POSTGRES_PASSWORD AIRFLOW_DB_PASSWORD MLFLOW_DB_PASSWORD; do
    if [[ -z ${!name:-} || ${!name} == *CHANGE_ME* ]]; then
        echo "init-databases: $name is empty or still a CHANGE_ME placeholder; set it in docker/.env" >&2
        exit 1
    fi
done

# psql substitutes :'var' as a quoted literal, so the passwords never need escaping here.
psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     --set airflow_password="$AIRFLOW_DB_PASSWORD" \
     --set mlflow_password="$MLFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
SQL
