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

log() { printf '%s 0 [Note] [Entrypoint]: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*"; }
warn() { printf '%s 0 [Warning] [Entrypoint]: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >&2; }
error() {
    printf '%s 0 [ERROR] [Entrypoint]: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" >&2
    exit 1
}

# file_env VAR: VAR, or the content of the file named by VAR_FILE.
file_env() {
    local var=$1 file_var="${1}_FILE" val=''
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        error "both $var and $file_var are set (but are exclusive)"
    fi
    if [ -n "${!var:-}" ]; then
        val=${!var}
    elif [ -n "${!file_var:-}" ]; then
        val=$(<"${!file_var}")
    fi
    export "$var"="$val"
    unset "$file_var"
}

# env_alias MARIADB_X MYSQL_Y: MARIADB_X, else its MYSQL_Y alias.
env_alias() {
    file_env "$1"
    file_env "$2"
    if [ -z "${!1}" ] && [ -n "${!2}" ]; then
        export "$1"="${!2}"
    fi
}

# get_config NAME CMD...: the value of server variable NAME for this command line. Only
# unindented lines are options: indented help text may start with an option's name.
get_config() {
    local name=$1
    shift
    "$@" --verbose --help 2>/dev/null |
        awk -v name="$name" '/^[^ \t]/ && $1 == name && NF >= 2 { print $2; exit }'
}

# absolute_path NAME VALUE: VALUE, refusing anything but an absolute path (it is chowned).
absolute_path() {
    case $2 in
        /?*) printf '%s' "${2%/}" ;;
        *) error "the server's $1 is '$2', not an absolute path: refusing to use it" ;;
    esac
}

# sql_string VALUE: VALUE escaped for a single-quoted SQL string literal.
sql_string() {
    local v=${1//\\/\\\\}
    v=${v//$'\n'/\\n}
    printf '%s' "${v//\'/\\\'}"
}

# option_string VALUE: VALUE escaped for a double-quoted value in an option file.
option_string() {
    local v=${1//\\/\\\\}
    printf '%s' "${v//$'\n'/\\n}"
}

# sql_ident VALUE: VALUE escaped for a backquoted SQL identifier.
sql_ident() { printf '%s' "${1//\`/\`\`}"; }

# process_sql [mariadb args]: SQL from stdin on the initialisation server, never binlogged.
process_sql() {
    local args=(--protocol=socket -uroot -hlocalhost --socket="$SOCKET"
        --init-command='SET @@SESSION.SQL_LOG_BIN=0' --comments "$@")
    if [ -n "$INIT_ROOT_CONNECT_PASSWORD" ]; then
        # The password goes through a pipe, not the command line (--defaults-extra-file first).
        mariadb --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "$(option_string "$INIT_ROOT_CONNECT_PASSWORD")") "${args[@]}"
    else
        mariadb "${args[@]}"
    fi
}

temp_server_start() {
    "$@" --skip-networking --socket="$SOCKET" --default-time-zone=SYSTEM --wsrep-on=OFF \
        --skip-slave-start --expire-logs-days=0 \
        --loose-innodb-buffer-pool-load-at-startup=0 --loose-innodb-buffer-pool-dump-at-shutdown=0 &
    TEMP_PID=$!
    log "Waiting for the initialisation server (pid $TEMP_PID, no networking)"
    for _ in $(seq 1 60); do
        if process_sql --database=mysql -e 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$TEMP_PID" 2>/dev/null || error "the initialisation server exited; see its log above"
        sleep 1
    done
    error "the initialisation server did not answer within 60 s"
}

temp_server_stop() {
    log "Stopping the initialisation server"
    kill -TERM "$TEMP_PID"
    wait "$TEMP_PID" || error "the initialisation server did not shut down cleanly (exit $?)"
    TEMP_PID=''
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

    if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
        error "Database is uninitialized and password option is not specified
	You need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
    fi
    if [ -n "$MARIADB_USER" ] && [ "$MARIADB_USER" = root ]; then
        error "MARIADB_USER=root: the root user is set up by MARIADB_ROOT_PASSWORD and friends"
    fi
    if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ]; then
        error "MARIADB_USER is set but MARIADB_PASSWORD is not"
    fi
    if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ] && [ -z "$MARIADB_ROOT_PASSWORD" ]; then
        MARIADB_ROOT_PASSWORD=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
        log "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
    fi

    log "Initializing database files in $DATADIR"
    # Marks a data directory whose initialisation has not finished (removed at the end).
    touch "$DATADIR/$INIT_MARKER"
    # "${@:2}": the server's own options, so the files match the server that will use them.
    mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
        --skip-test-db --cross-bootstrap "${@:2}" \
        --default-time-zone=SYSTEM --enforce-storage-engine= --skip-log-bin --expire-logs-days=0 \
        --loose-innodb-buffer-pool-load-at-startup=0 --loose-innodb-buffer-pool-dump-at-shutdown=0 \
        >/dev/null || error "mariadb-install-db failed"
    log "Database files initialized"

    INIT_ROOT_CONNECT_PASSWORD=''
    TEMP_PID=''
    trap 'warn "stopped during initialisation"; [ -n "$TEMP_PID" ] && kill -TERM "$TEMP_PID" && wait "$TEMP_PID"; exit 143' TERM INT
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

    local f
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh)
                if [ -x "$f" ]; then
                    log "$0: running $f"
                    "$f"
                else
                    log "$0: sourcing $f"
                    # shellcheck source=/dev/null
                    . "$f"
                fi
                ;;
            *.sql) log "$0: running $f" && process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} <"$f" ;;
            *.sql.gz) log "$0: running $f" && gzip -dc "$f" | process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} ;;
            *) log "$0: ignoring $f" ;;
        esac
    done

    temp_server_stop
    trap - TERM INT
    rm -f "$DATADIR/$INIT_MARKER"
    log "MariaDB init process done. Ready for start up."
}

if [ "${1:0:1}" = '-' ]; then
    set -- mariadbd "$@"
fi

if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
    if ! errors=$("$@" --verbose --help 2>&1 >/dev/null); then
        error "mariadbd failed while attempting to check config
	command was: $*
	$errors"
    fi
    DATADIR=$(absolute_path datadir "$(get_config datadir "$@")")
    SOCKET=$(absolute_path socket "$(get_config socket "$@")")

    if [ "$(id -u)" = 0 ]; then
        mkdir -p "$DATADIR" "$(dirname "$SOCKET")"
        # Own what is not owned yet (a new bind mount, say); leave the rest untouched.
        find "$DATADIR" "$(dirname "$SOCKET")" \! -user mysql -exec chown mysql:mysql '{}' +
        log "Switching to dedicated user 'mysql'"
        exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
    fi

    TEMP_PID=''
    INIT_MARKER=.mysql-replicas-init-incomplete
    if [ -e "$DATADIR/$INIT_MARKER" ]; then
        error "the initialisation of $DATADIR did not finish (stopped or failed): remove the volume and start again"
    elif [ -d "$DATADIR/mysql" ]; then
        log "Database directory $DATADIR is already initialised: skipping initialisation"
    else
        init_database_dir "$@"
    fi
    exec "$@"
fi

exec "$@"
