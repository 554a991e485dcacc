#!/bin/bash
# Entrypoint of mysql-replicas/mariadb: the official `mariadb` image's contract, as far as
# the lab uses it, on Debian 12's MariaDB 10.11 packages.
#
# - A command whose first word starts with `-` gets `mariadbd` put in front.
# - As root, it owns the data directory and the socket directory to `mysql` and runs itself
#   again as `mysql` (setpriv); the server ends up PID 1 through exec, so SIGTERM reaches it.
# - An empty data directory is initialised on first start: mariadb-install-db (bootstrap,
#   binary log off), then a temporary server with --skip-networking and the same arguments
#   sets the root password and runs /docker-entrypoint-initdb.d, with SQL_LOG_BIN=0 so that
#   replicas inherit no initialisation transaction, and is shut down cleanly. A data
#   directory that holds a `mysql` schema is reused as it is (password variables ignored).
#
# Variables (each MARIADB_* also read as the MYSQL_* alias, and from a *_FILE):
#   MARIADB_ROOT_PASSWORD / MYSQL_ROOT_PASSWORD              root@'%' and root@localhost
#   MARIADB_ALLOW_EMPTY_ROOT_PASSWORD / MYSQL_ALLOW_EMPTY_PASSWORD
#   MARIADB_RANDOM_ROOT_PASSWORD / MYSQL_RANDOM_ROOT_PASSWORD (printed once in the log)
#   MARIADB_ROOT_HOST / MYSQL_ROOT_HOST                      default '%'
#   MARIADB_DATABASE, MARIADB_USER, MARIADB_PASSWORD          and their MYSQL_* aliases
#   MARIADB_INITDB_SKIP_TZINFO / MYSQL_INITDB_SKIP_TZINFO     skip the time-zone tables
# Not reproduced from the official image: MARIADB_ROOT_PASSWORD_HASH,
# MARIADB_AUTO_UPGRADE, MARIADB_REPLICATION_*/MARIADB_MASTER_HOST, the healthcheck users.
set -eo pipefail
shopt -s nullglob
# shellcheck source=scripts/images/common/entrypoint-lib.sh
. /usr/local/lib/mysql-replicas/entrypoint-lib.sh

SERVER=mariadbd
CLIENT=mariadb
PRODUCT=MariaDB
# Nothing the initialisation does is binlogged: replicas inherit no initialisation transaction.
CLIENT_ARGS=(--init-command='SET @@SESSION.SQL_LOG_BIN=0')
TEMP_SERVER_ARGS=(--wsrep-on=OFF --skip-slave-start --expire-logs-days=0
    --loose-innodb-buffer-pool-load-at-startup=0 --loose-innodb-buffer-pool-dump-at-shutdown=0)

# env_alias MARIADB_X MYSQL_Y: MARIADB_X, else its MYSQL_Y alias.
env_alias() {
    file_env "$1"
    file_env "$2"
    if [ -z "${!1}" ] && [ -n "${!2}" ]; then
        export "$1"="${!2}"
    fi
}

init_database_dir() {
    env_alias MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD
    env_alias MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD
    env_alias MARIADB_RANDOM_ROOT_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD
    env_alias MARIADB_ROOT_HOST MYSQL_ROOT_HOST
    env_alias MARIADB_DATABASE MYSQL_DATABASE
    env_alias MARIADB_USER MYSQL_USER
    env_alias MARIADB_PASSWORD MYSQL_PASSWORD
    env_alias MARIADB_INITDB_SKIP_TZINFO MYSQL_INITDB_SKIP_TZINFO
    : "${MARIADB_ROOT_HOST:=%}"

    check_password_options MARIADB MARIADB_ROOT_PASSWORD MARIADB_ALLOW_EMPTY_ROOT_PASSWORD MARIADB_RANDOM_ROOT_PASSWORD

    log "Initializing database files in $DATADIR"
    begin_init
    # "${@:2}": the server's own options, so the files match the server that will use them.
    mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
        --skip-test-db --cross-bootstrap "${@:2}" \
        --default-time-zone=SYSTEM --enforce-storage-engine= --skip-log-bin --expire-logs-days=0 \
        --loose-innodb-buffer-pool-load-at-startup=0 --loose-innodb-buffer-pool-dump-at-shutdown=0 \
        >/dev/null || error "mariadb-install-db failed"
    log "Database files initialized"

    temp_server_start "$@"

    if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ]; then
        # The time-zone tables, as the official image fills them (SQL_LOG_BIN=0 too).
        mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null |
            process_sql --database=mysql || error "loading the time-zone tables failed"
    fi

    local pw host db user upw
    pw=$(sql_string "$MARIADB_ROOT_PASSWORD")
    host=$(sql_string "$MARIADB_ROOT_HOST")
    {
        echo "SET @@SESSION.SQL_LOG_BIN=0;"
        echo "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
        # Only root@localhost (and root@MARIADB_ROOT_HOST below) stay; no anonymous users.
        echo "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost'));"
        echo "FLUSH PRIVILEGES;"
        echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';"
        if [ "$MARIADB_ROOT_HOST" != localhost ]; then
            echo "CREATE USER 'root'@'$host' IDENTIFIED BY '$pw';"
            echo "GRANT ALL ON *.* TO 'root'@'$host' WITH GRANT OPTION;"
            echo "GRANT PROXY ON ''@'%' TO 'root'@'$host' WITH GRANT OPTION;"
        fi
        if [ -n "$MARIADB_DATABASE" ]; then
            db=$(sql_ident "$MARIADB_DATABASE")
            echo "CREATE DATABASE IF NOT EXISTS \`$db\`;"
        fi
        if [ -n "$MARIADB_USER" ]; then
            user=$(sql_string "$MARIADB_USER")
            upw=$(sql_string "$MARIADB_PASSWORD")
            echo "CREATE USER '$user'@'%' IDENTIFIED BY '$upw';"
            [ -z "$MARIADB_DATABASE" ] || echo "GRANT ALL ON \`$db\`.* TO '$user'@'%';"
        fi
    } | process_sql --database=mysql || error "setting up users failed"
    INIT_ROOT_CONNECT_PASSWORD=$MARIADB_ROOT_PASSWORD

    run_initdb "$MARIADB_DATABASE"
    end_init
}

entrypoint_main "$@"
