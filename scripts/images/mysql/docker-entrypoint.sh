#!/bin/bash
# Entrypoint of mysql-replicas/mysql: the official `mysql` image's contract (8.4's
# docker-entrypoint.sh), as far as the lab uses it, on Debian's MySQL packages.
#
# - A command whose first word starts with `-` gets `mysqld` put in front.
# - As root, it owns the data directory and the socket directory to `mysql` and runs itself
#   again as `mysql` (setpriv); the server ends up PID 1 through exec, so SIGTERM reaches it.
# - An empty data directory is initialised on first start: `mysqld --initialize-insecure` with
#   the same arguments, then a temporary server with --skip-networking sets the root password
#   (SQL_LOG_BIN=0, as upstream), loads the time-zone tables, creates MYSQL_DATABASE and
#   MYSQL_USER and runs /docker-entrypoint-initdb.d, and is shut down cleanly. As upstream,
#   only the root block is kept out of the binary log: the rest is binlogged (with GTIDs on,
#   a replica started this way holds transactions of its own). A data directory that holds a
#   `mysql` schema is reused as it is (password variables ignored).
#
# Variables (each also read from a *_FILE):
#   MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD, MYSQL_RANDOM_ROOT_PASSWORD (printed once)
#   MYSQL_ROOT_HOST (default '%'), MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD,
#   MYSQL_INITDB_SKIP_TZINFO, MYSQL_ONETIME_PASSWORD
set -eo pipefail
shopt -s nullglob
# shellcheck source=scripts/images/common/entrypoint-lib.sh
. /usr/local/lib/mysql-replicas/entrypoint-lib.sh

SERVER=mysqld
CLIENT=mysql
PRODUCT=MySQL
CLIENT_ARGS=()
TEMP_SERVER_ARGS=(--skip-replica-start)

init_database_dir() {
    local v
    for v in MYSQL_ROOT_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD MYSQL_ROOT_HOST \
        MYSQL_DATABASE MYSQL_USER MYSQL_PASSWORD MYSQL_INITDB_SKIP_TZINFO MYSQL_ONETIME_PASSWORD; do
        file_env "$v"
    done
    : "${MYSQL_ROOT_HOST:=%}"

    check_password_options MYSQL MYSQL_ROOT_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD

    log "Initializing database files in $DATADIR"
    # The marker is a dot file, which --initialize ignores.
    begin_init
    "$@" --initialize-insecure --default-time-zone=SYSTEM || error "mysqld --initialize-insecure failed"
    log "Database files initialized"

    temp_server_start "$@"

    local pw host db user upw
    pw=$(sql_string "$MYSQL_ROOT_PASSWORD")
    host=$(sql_string "$MYSQL_ROOT_HOST")
    {
        # As upstream: the root accounts are not replicated.
        echo "SET @@SESSION.SQL_LOG_BIN=0;"
        echo "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';"
        if [ "$MYSQL_ROOT_HOST" != localhost ]; then
            echo "CREATE USER 'root'@'$host' IDENTIFIED BY '$pw';"
            echo "GRANT ALL ON *.* TO 'root'@'$host' WITH GRANT OPTION;"
            echo "GRANT PROXY ON ''@'' TO 'root'@'$host' WITH GRANT OPTION;"
        fi
    } | process_sql --database=mysql || error "setting the root password failed"
    INIT_ROOT_CONNECT_PASSWORD=$MYSQL_ROOT_PASSWORD

    if [ -z "$MYSQL_INITDB_SKIP_TZINFO" ]; then
        # Binlogged, as upstream does it.
        mysql_tzinfo_to_sql /usr/share/zoneinfo 2>/dev/null |
            sed 's/Local time zone must be set--see zic manual page/FCTY/' |
            process_sql --database=mysql || error "loading the time-zone tables failed"
    fi
    if [ -n "$MYSQL_DATABASE" ]; then
        db=$(sql_ident "$MYSQL_DATABASE")
        log "Creating database $MYSQL_DATABASE"
        echo "CREATE DATABASE IF NOT EXISTS \`$db\`;" | process_sql
    fi
    if [ -n "$MYSQL_USER" ]; then
        user=$(sql_string "$MYSQL_USER")
        upw=$(sql_string "$MYSQL_PASSWORD")
        log "Creating user $MYSQL_USER"
        {
            echo "CREATE USER '$user'@'%' IDENTIFIED BY '$upw';"
            [ -z "$MYSQL_DATABASE" ] || echo "GRANT ALL ON \`$db\`.* TO '$user'@'%';"
        } | process_sql
    fi

    run_initdb "$MYSQL_DATABASE"
    if [ -n "$MYSQL_ONETIME_PASSWORD" ]; then
        echo "SET @@SESSION.SQL_LOG_BIN=0; ALTER USER 'root'@'%' PASSWORD EXPIRE;" | process_sql
    fi

    end_init
}

entrypoint_main "$@"
