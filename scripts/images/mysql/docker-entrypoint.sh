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

log() { printf '%s 0 [Note] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*"; }
warn() { printf '%s 0 [Warn] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2; }
error() {
    printf '%s 0 [ERROR] [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$*" >&2
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

# get_config NAME CMD...: the value of server variable NAME for this command line. Only
# unindented lines are options: 9.x prints indented help text whose first word may be an
# option's name ("socket"), which would otherwise be read as its value.
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

sql_string() {
    local v=${1//\\/\\\\}
    v=${v//$'\n'/\\n}
    printf '%s' "${v//\'/\\\'}"
}
option_string() {
    local v=${1//\\/\\\\}
    printf '%s' "${v//$'\n'/\\n}"
}
sql_ident() { printf '%s' "${1//\`/\`\`}"; }

# process_sql [mysql args]: SQL from stdin on the initialisation server, as root.
process_sql() {
    local args=(--protocol=socket -uroot -hlocalhost --socket="$SOCKET" --comments "$@")
    if [ -n "$INIT_ROOT_CONNECT_PASSWORD" ]; then
        # The password goes through a pipe, not the command line (--defaults-extra-file first).
        mysql --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "$(option_string "$INIT_ROOT_CONNECT_PASSWORD")") "${args[@]}"
    else
        mysql "${args[@]}"
    fi
}

temp_server_start() {
    "$@" --skip-networking --socket="$SOCKET" --default-time-zone=SYSTEM --skip-replica-start &
    TEMP_PID=$!
    log "Waiting for the initialisation server (pid $TEMP_PID, no networking)"
    for _ in $(seq 1 120); do
        if process_sql --database=mysql -e 'SELECT 1' >/dev/null 2>&1; then
            return 0
        fi
        kill -0 "$TEMP_PID" 2>/dev/null || error "the initialisation server exited; see its log above"
        sleep 1
    done
    error "the initialisation server did not answer within 120 s"
}

temp_server_stop() {
    log "Stopping the initialisation server"
    kill -TERM "$TEMP_PID"
    wait "$TEMP_PID" || error "the initialisation server did not shut down cleanly (exit $?)"
    TEMP_PID=''
}

init_database_dir() {
    local v
    for v in MYSQL_ROOT_PASSWORD MYSQL_ALLOW_EMPTY_PASSWORD MYSQL_RANDOM_ROOT_PASSWORD MYSQL_ROOT_HOST \
        MYSQL_DATABASE MYSQL_USER MYSQL_PASSWORD MYSQL_INITDB_SKIP_TZINFO MYSQL_ONETIME_PASSWORD; do
        file_env "$v"
    done
    : "${MYSQL_ROOT_HOST:=%}"

    if [ -z "$MYSQL_ROOT_PASSWORD" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD" ] && [ -z "$MYSQL_RANDOM_ROOT_PASSWORD" ]; then
        error "Database is uninitialized and password option is not specified
	You need to specify one of the following as an environment variable:
	- MYSQL_ROOT_PASSWORD
	- MYSQL_ALLOW_EMPTY_PASSWORD
	- MYSQL_RANDOM_ROOT_PASSWORD"
    fi
    if [ "$MYSQL_USER" = root ]; then
        error "MYSQL_USER=root: the root user is set up by MYSQL_ROOT_PASSWORD and friends"
    fi
    if [ -n "$MYSQL_USER" ] && [ -z "$MYSQL_PASSWORD" ]; then
        error "MYSQL_USER is set but MYSQL_PASSWORD is not"
    fi
    if [ -n "$MYSQL_RANDOM_ROOT_PASSWORD" ] && [ -z "$MYSQL_ROOT_PASSWORD" ]; then
        MYSQL_ROOT_PASSWORD=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
        log "GENERATED ROOT PASSWORD: $MYSQL_ROOT_PASSWORD"
    fi

    log "Initializing database files in $DATADIR"
    # Marks a data directory whose initialisation has not finished (removed at the end);
    # --initialize ignores dot files.
    touch "$DATADIR/$INIT_MARKER"
    "$@" --initialize-insecure --default-time-zone=SYSTEM || error "mysqld --initialize-insecure failed"
    log "Database files initialized"

    INIT_ROOT_CONNECT_PASSWORD=''
    TEMP_PID=''
    trap 'warn "stopped during initialisation"; [ -n "$TEMP_PID" ] && kill -TERM "$TEMP_PID" && wait "$TEMP_PID"; exit 143' TERM INT
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
            *.sql) log "$0: running $f" && process_sql ${MYSQL_DATABASE:+--database="$MYSQL_DATABASE"} <"$f" ;;
            *.sql.gz) log "$0: running $f" && gzip -dc "$f" | process_sql ${MYSQL_DATABASE:+--database="$MYSQL_DATABASE"} ;;
            *) log "$0: ignoring $f" ;;
        esac
    done

    if [ -n "$MYSQL_ONETIME_PASSWORD" ]; then
        echo "SET @@SESSION.SQL_LOG_BIN=0; ALTER USER 'root'@'%' PASSWORD EXPIRE;" | process_sql
    fi

    temp_server_stop
    trap - TERM INT
    rm -f "$DATADIR/$INIT_MARKER"
    log "MySQL init process done. Ready for start up."
}

if [ "${1:0:1}" = '-' ]; then
    set -- mysqld "$@"
fi

if [ "$1" = mysqld ]; then
    if ! errors=$("$@" --verbose --help 2>&1 >/dev/null); then
        error "mysqld failed while attempting to check config
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
