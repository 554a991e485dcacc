# shellcheck shell=bash
# What the test-bed server images' entrypoints share (sourced by mysql/ and mariadb/
# docker-entrypoint.sh, installed as /usr/local/lib/mysql-replicas/entrypoint-lib.sh).
#
# An entrypoint sets SERVER (mysqld or mariadbd), CLIENT (mysql or mariadb), PRODUCT (for
# messages) and defines:
#   temp_server_args   extra options of the initialisation server (no networking is added here)
#   client_args        extra options of every initialisation SQL call
#   init_database_dir  initialises an empty data directory (called with the server command)
# then calls entrypoint_main "$@".

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

# get_config NAME CMD...: the value of server variable NAME for this command line. Only
# unindented lines are options: MySQL 9.x prints indented help text whose first word may be
# an option's name ("socket"), which would otherwise be read as its value.
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

# check_password_options PREFIX ROOT_PASSWORD ALLOW_EMPTY RANDOM_ROOT: refuses an initialisation
# without a root password choice, or a user without a password; makes the random password when
# asked. PREFIX is MYSQL or MARIADB; the other arguments name the image's variables.
check_password_options() {
    local prefix=$1 root=$2 empty=$3 random=$4 user="${1}_USER" password="${1}_PASSWORD"
    if [ -z "${!root}" ] && [ -z "${!empty}" ] && [ -z "${!random}" ]; then
        error "Database is uninitialized and password option is not specified
	You need to specify one of $root, $empty and $random"
    fi
    if [ "${!user}" = root ]; then
        error "$user=root: the root user is set up by ${prefix}_ROOT_PASSWORD and friends"
    fi
    if [ -n "${!user}" ] && [ -z "${!password}" ]; then
        error "$user is set but $password is not"
    fi
    if [ -n "${!random}" ] && [ -z "${!root}" ]; then
        export "$root"="$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)"
        log "GENERATED ROOT PASSWORD: ${!root}"
    fi
}

# process_sql [client args]: SQL from stdin on the initialisation server, as root.
process_sql() {
    local args=(--protocol=socket -uroot -hlocalhost --socket="$SOCKET" "${CLIENT_ARGS[@]}" --comments "$@")
    if [ -n "$INIT_ROOT_CONNECT_PASSWORD" ]; then
        # The password goes through a pipe, not the command line (--defaults-extra-file first).
        "$CLIENT" --defaults-extra-file=<(printf '[client]\npassword="%s"\n' "$(option_string "$INIT_ROOT_CONNECT_PASSWORD")") "${args[@]}"
    else
        "$CLIENT" "${args[@]}"
    fi
}

# temp_server_start CMD...: the server without networking, on the socket only; waits until it answers.
temp_server_start() {
    "$@" --skip-networking --socket="$SOCKET" --default-time-zone=SYSTEM "${TEMP_SERVER_ARGS[@]}" &
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

# run_initdb DATABASE: the files of /docker-entrypoint-initdb.d, in order, as the official images do.
run_initdb() {
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
            *.sql) log "$0: running $f" && process_sql ${1:+--database="$1"} <"$f" ;;
            *.sql.gz) log "$0: running $f" && gzip -dc "$f" | process_sql ${1:+--database="$1"} ;;
            *) log "$0: ignoring $f" ;;
        esac
    done
}

# begin_init / end_init: mark the data directory while its initialisation has not finished, and
# stop the initialisation server if the container is stopped meanwhile.
begin_init() {
    touch "$DATADIR/$INIT_MARKER"
    INIT_ROOT_CONNECT_PASSWORD=''
    TEMP_PID=''
    trap 'warn "stopped during initialisation"; [ -n "$TEMP_PID" ] && kill -TERM "$TEMP_PID" && wait "$TEMP_PID"; exit 143' TERM INT
}
end_init() {
    temp_server_stop
    trap - TERM INT
    rm -f "$DATADIR/$INIT_MARKER"
    log "$PRODUCT init process done. Ready for start up."
}

# entrypoint_main "$@": options alone run the server with them; the server command checks its
# configuration, owns its directories to `mysql` and runs again as `mysql` (exec, so the server
# is PID 1 and gets SIGTERM), initialises an empty data directory, then execs the server.
entrypoint_main() {
    if [ "${1:0:1}" = '-' ]; then
        set -- "$SERVER" "$@"
    fi
    if [ "$1" != mysqld ] && [ "$1" != mariadbd ]; then
        exec "$@"
    fi
    local errors
    if ! errors=$("$@" --verbose --help 2>&1 >/dev/null); then
        error "$1 failed while attempting to check config
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
}
