#!/bin/sh
# Run once by the postgres image when it creates the database (docker-entrypoint-initdb.d).
# The web and worker processes log in as this role; `marac migrate`, run as the owner, grants
# it what it needs (only INSERT and SELECT on the audit tables). See README, "Deployment".
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_password="$POSTGRES_APP_PASSWORD" <<'SQL'
CREATE ROLE marac_app LOGIN PASSWORD :'app_password';
SQL
