# shellcheck shell=bash
# Helpers shared by scripts/testbed.sh and scripts/images/build.sh (sourced, not run).

tb_log() { printf '[testbed] %s\n' "$*" >&2; }
tb_die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }

# tb_as_root CMD...: run CMD as root (directly, or through sudo when we are not root).
tb_as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        tb_die "need root to run: $*"
    fi
}

# tb_apt_install PKG...: install Debian packages; `apt-get update` only when the package
# lists do not know a package or the install fails on stale lists.
tb_apt_install() {
    command -v apt-get >/dev/null 2>&1 || tb_die "apt-get not found: install $* by hand"
    local pkg need_update=0
    for pkg in "$@"; do
        if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [^(]'; then
            need_update=1
        fi
    done
    if [ "$need_update" = 1 ]; then
        tb_log "apt-get update (package lists do not know: $*)"
        tb_as_root apt-get update -qq || tb_die "apt-get update failed"
    fi
    tb_log "apt-get install $*"
    if ! tb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; then
        tb_log "install failed; refreshing package lists and retrying once"
        tb_as_root apt-get update -qq || tb_die "apt-get update failed"
        tb_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" \
            || tb_die "apt-get install $* failed"
    fi
}
