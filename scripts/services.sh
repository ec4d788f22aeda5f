# shellcheck shell=bash
# Sourced by scripts/test and bench/run: starts a throwaway PostgreSQL cluster and Redis
# server on loopback (free ports, random passwords) in a temp dir removed on exit.
# Sets TMP, PG_URL (no database part; databases: postgres, marac_test), REDIS_URL, and
# PGBOUNCER_URL (PgBouncer in transaction pooling in front of database marac_pgbouncer) when
# Debian's pgbouncer is installed, else "".
# Needs lib.sh sourced first and the packages installed.

# --- temp dir (removed on exit) ----------------------------------------------
TMP="$(mktemp -d "${TMPDIR:-/tmp}/marac-test.XXXXXX")"
chmod 755 "$TMP"
PG_PID_FILE=""
PGBOUNCER_PID_FILE=""
REDIS_PID_FILE="$TMP/redis.pid"

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$PGBOUNCER_PID_FILE" && -f "$PGBOUNCER_PID_FILE" ]]; then
        kill "$(cat "$PGBOUNCER_PID_FILE")" 2>/dev/null
    fi
    if [[ -n "$PG_PID_FILE" && -f "$PG_PID_FILE" ]]; then
        pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 ||
            kill "$(head -n1 "$PG_PID_FILE")" 2>/dev/null
    fi
    if [[ -f "$REDIS_PID_FILE" ]]; then
        local redis_pid
        redis_pid="$(cat "$REDIS_PID_FILE")"
        kill "$redis_pid" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL ---------------------------------------------------------------
# initdb refuses to run as root, so as root the cluster belongs to `postgres`.
pg_version="$(ls /usr/lib/postgresql | sort -V | tail -n1)"
PG_BIN="/usr/lib/postgresql/$pg_version/bin"
PG_DIR="$TMP/pg"
PG_DATA="$PG_DIR/data"
mkdir -m 700 "$PG_DIR"
if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$PG_DIR"
    if ! runuser -u postgres -- test -w "$PG_DIR"; then
        die "user postgres cannot write $PG_DIR (is ${TMPDIR:-/tmp} traversable by others?)"
    fi
    pg_as() { (cd "$PG_DIR" && runuser -u postgres -- "$@"); }
else
    pg_as() { (cd "$PG_DIR" && "$@"); }
fi

PG_PORT="$(free_port)"
PG_PASSWORD="$(random_token)"
REDIS_PORT="$(free_port)"
while [[ "$REDIS_PORT" == "$PG_PORT" ]]; do REDIS_PORT="$(free_port)"; done
REDIS_PASSWORD="$(random_token)"

services_started_at_ns=$(date +%s%N)
log "starting PostgreSQL $pg_version on 127.0.0.1:$PG_PORT (data in $PG_DATA)"
pg_as "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log" >&2; die "initdb failed"; }
PG_PID_FILE="$PG_DATA/postmaster.pid"
pg_as "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DIR/postgres.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null ||
    { cat "$PG_DIR/postgres.log" >&2; die "PostgreSQL did not start"; }
pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres <<SQL
CREATE ROLE marac LOGIN CREATEDB CREATEROLE PASSWORD '$PG_PASSWORD';
CREATE DATABASE marac_test OWNER marac;
SQL

# --- PgBouncer (transaction pooling) in front of it, for run C -------------------
# Debian's package; it refuses to run as root, so as root it runs as `postgres` like the
# cluster. Sets PGBOUNCER_URL (no database part) when it is up; run C uses database marac_pgbouncer.
PGBOUNCER_URL=""
PGBOUNCER_BIN="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
if [[ -x "$PGBOUNCER_BIN" ]]; then
    PGB_PORT="$(free_port)"
    while [[ "$PGB_PORT" == "$PG_PORT" ]]; do PGB_PORT="$(free_port)"; done
    PGB_DIR="$PG_DIR/pgbouncer"
    pg_as mkdir -m 700 "$PGB_DIR"
    pg_as tee "$PGB_DIR/userlist.txt" >/dev/null <<USERS
"marac" "$PG_PASSWORD"
USERS
    pg_as tee "$PGB_DIR/pgbouncer.ini" >/dev/null <<INI
[databases]
marac_pgbouncer = host=127.0.0.1 port=$PG_PORT dbname=marac_pgbouncer
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $PGB_DIR/userlist.txt
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
logfile = $PGB_DIR/pgbouncer.log
pidfile = $PGB_DIR/pgbouncer.pid
INI
    pg_as "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
        -c "CREATE DATABASE marac_pgbouncer OWNER marac"
    log "starting PgBouncer (transaction pooling) on 127.0.0.1:$PGB_PORT"
    pg_as "$PGBOUNCER_BIN" -q -d "$PGB_DIR/pgbouncer.ini" ||
        { cat "$PGB_DIR/pgbouncer.log" >&2; die "PgBouncer did not start"; }
    PGBOUNCER_PID_FILE="$PGB_DIR/pgbouncer.pid"
    PGBOUNCER_URL="postgres://marac:$PG_PASSWORD@127.0.0.1:$PGB_PORT"
fi

# --- Redis --------------------------------------------------------------------
log "starting Redis on 127.0.0.1:$REDIS_PORT"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --requirepass "$REDIS_PASSWORD" \
    --save '' --appendonly no --dir "$TMP" \
    --daemonize yes --pidfile "$REDIS_PID_FILE" --logfile "$TMP/redis.log"
redis_ready=0
for _ in $(seq 100); do
    if [[ "$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; then
        redis_ready=1
        break
    fi
    sleep 0.05
done
[[ $redis_ready -eq 1 ]] || { cat "$TMP/redis.log" >&2; die "Redis did not start"; }
services_ms=$((($(date +%s%N) - services_started_at_ns) / 1000000))
log "PostgreSQL + Redis ready in $((services_ms / 1000)).$(printf '%03d' $((services_ms % 1000)))s"

REDIS_URL="redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0"
PG_URL="postgres://marac:$PG_PASSWORD@127.0.0.1:$PG_PORT"
