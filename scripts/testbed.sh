#!/usr/bin/env bash
# Prepare this machine to run the lab's containers, with no container registry at hand:
#   1. a Docker engine that answers (installs Debian's docker.io and starts dockerd in the
#      background when needed; an engine that already answers is left alone);
#   2. the local images the tests use, built from Debian packages when missing
#      (scripts/images/build.sh): mysql-replicas/mysql:9.7 (sid), mysql-replicas/mariadb:11.8
#      (trixie), mysql-replicas/mariadb:10.11 and mysql-replicas/haproxy:2.6 (bookworm), and
#      mysql-replicas/node:20 (trixie) for the demo app;
#   3. Debian's chromium, for the browser tests of the demo app's page.
# Idempotent: a second run only checks. Exits non-zero on any failure.
#
# Environment:
#   TESTBED_REBUILD=1           rebuild the images even when they are present
#   TESTBED_DOCKERD_LOG         dockerd's log when this script starts it (/var/log/testbed-dockerd.log)
#   TESTBED_DOCKERD_TIMEOUT     seconds to wait for a starting engine (60)
#   TESTBED_BUILD_JOBS          images built side by side (2)
set -euo pipefail

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/images/lib.sh
. "$SCRIPTS_DIR/images/lib.sh"

IMAGES=(mysql:9.7 mariadb:11.8 mariadb:10.11 haproxy:2.6 node:20)
DOCKERD_LOG=${TESTBED_DOCKERD_LOG:-/var/log/testbed-dockerd.log}
DOCKERD_TIMEOUT=${TESTBED_DOCKERD_TIMEOUT:-60}
BUILD_JOBS=${TESTBED_BUILD_JOBS:-2}
[[ $BUILD_JOBS =~ ^[1-9][0-9]*$ ]] || tb_die "TESTBED_BUILD_JOBS must be a whole number from 1, got '$BUILD_JOBS'"

# One run at a time on a machine (two builds of one tag would race). The lock's descriptor
# is closed for dockerd, which must not hold the lock once this script ends.
LOCK=${TMPDIR:-/tmp}/mysql-replicas-testbed.lock
exec 9>"$LOCK"
if ! flock -n 9; then
    tb_log "another testbed.sh holds $LOCK: waiting for it (up to 30 min)"
    flock -w 1800 9 || tb_die "timed out waiting for $LOCK"
fi

engine_answers() { docker info >/dev/null 2>&1; }

# The pid of a running dockerd, if any (from its pid file).
dockerd_pid() {
    local pid
    pid=$(cat /var/run/docker.pid 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

# dockerd in its own session (setsid + nohup: it outlives this script), holding no
# descriptor of ours but its log: not the lock, and no pipe a caller may wait on for EOF.
start_dockerd() {
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    (
        for fd in "/proc/$BASHPID/fd"/*; do
            fd=${fd##*/}
            if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec "${sudo[@]}" setsid nohup dockerd
    ) >>"$DOCKERD_LOG" 2>&1 </dev/null &
    STARTED_PID=$! # the subshell execs into dockerd: same pid
}

STARTED_PID=''
wait_for_engine() {
    local deadline=$((SECONDS + DOCKERD_TIMEOUT)) why
    until engine_answers; do
        why=''
        if [ -n "$STARTED_PID" ] && ! kill -0 "$STARTED_PID" 2>/dev/null; then
            why="the dockerd this script started (pid $STARTED_PID) exited"
        elif [ "$SECONDS" -ge "$deadline" ]; then
            why="no Docker engine answered within ${DOCKERD_TIMEOUT}s"
        fi
        if [ -n "$why" ]; then
            tb_log "$why; last lines of $DOCKERD_LOG:"
            tail -n 30 "$DOCKERD_LOG" >&2 2>/dev/null || true
            tb_log "docker info says:"
            docker info 2>&1 | tail -n 5 >&2 || true
            exit 1
        fi
        sleep 1
    done
}

ensure_engine() {
    if engine_answers; then
        tb_log "Docker engine answers: leaving it alone"
        return
    fi
    if ! command -v docker >/dev/null 2>&1 || ! command -v dockerd >/dev/null 2>&1; then
        tb_apt_install docker.io
    fi
    command -v docker >/dev/null 2>&1 || tb_die "no docker client after installing docker.io"
    command -v dockerd >/dev/null 2>&1 || tb_die "no dockerd after installing docker.io"
    engine_answers && return # the package's own service may have started it

    local pid
    if pid=$(dockerd_pid); then
        tb_log "dockerd (pid $pid) is running but does not answer yet: waiting for it"
    else
        [ -n "${DOCKER_HOST:-}" ] && tb_die "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local dockerd"
        tb_log "starting dockerd in the background (log: $DOCKERD_LOG)"
        start_dockerd
    fi
    wait_for_engine
    tb_log "Docker engine is up after ${SECONDS}s"
}

ensure_engine

# The client (maybe a newer one in /usr/local/bin) must speak an API the engine serves.
server_version=$(docker version --format '{{.Server.Version}}' 2>&1) ||
    tb_die "the docker client ($(command -v docker)) cannot talk to the engine: $server_version"
api_version=$(docker version --format '{{.Server.APIVersion}}')

# What the builds and the browser tests need from apt, in one install before the builds start
# (two builds must not both run apt-get). The browser tests drive Debian's chromium.
need=()
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] || tb_apt_install "${need[@]}"
command -v chromium >/dev/null 2>&1 || tb_die "no chromium after installing it"

# The images, BUILD_JOBS at a time: a build mostly waits on the mirror and on dpkg, so two
# side by side take little more than the longer one. Each build logs to its own file, shown
# when it ends; any failure fails the whole run, after every started build has ended.
logs=$(mktemp -d)
declare -A running=()
failed=()
finish_one() {
    local pid image
    wait -n -p pid "${!running[@]}" || true
    image=${running[$pid]}
    unset "running[$pid]"
    sed "s/^/[$image] /" "$logs/${image/:/-}.log" >&2
    [ "$(cat "$logs/${image/:/-}.rc")" = 0 ] || failed+=("$image")
}
for image in "${IMAGES[@]}"; do
    [ ${#running[@]} -lt "$BUILD_JOBS" ] || finish_one
    ( rc=0; "$SCRIPTS_DIR/images/build.sh" "$image" >"$logs/${image/:/-}.log" 2>&1 || rc=$?; echo "$rc" >"$logs/${image/:/-}.rc" ) &
    running[$!]=$image
done
while [ ${#running[@]} -gt 0 ]; do finish_one; done
rm -rf "$logs"
[ ${#failed[@]} -eq 0 ] || tb_die "building ${failed[*]} failed (see above)"

summary=()
for image in "${IMAGES[@]}"; do
    # shellcheck source=/dev/null
    tag=$(IMAGE_TAG='' && . "$SCRIPTS_DIR/images/${image%%:*}/image-${image#*:}.sh" && printf '%s' "$IMAGE_TAG")
    size=$(docker image inspect -f '{{.Size}}' "$tag" 2>/dev/null) || tb_die "image $tag is missing after the build"
    summary+=("$tag ($((size / 1024 / 1024)) MiB)")
done
images=$(printf ', %s' "${summary[@]}")
echo "testbed ready: docker engine $server_version (API $api_version, client $(docker version --format '{{.Client.Version}}')); images: ${images#, }; $(chromium --version 2>/dev/null)"
