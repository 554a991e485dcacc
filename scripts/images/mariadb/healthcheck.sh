#!/bin/sh
# Small stand-in for the official image's healthcheck.sh: --connect and
# --innodb_initialized both succeed once the server answers on TCP 127.0.0.1:3306 (the
# server opens TCP only after its storage engines, InnoDB included, are up; the
# entrypoint's initialisation server never listens on TCP).
set -eu
[ $# -gt 0 ] || set -- --connect
for arg in "$@"; do
    case $arg in
        --connect | --innodb_initialized | --su-mysql) ;;
        *) echo "healthcheck.sh: unsupported check $arg (supported: --connect, --innodb_initialized)" >&2; exit 1 ;;
    esac
done
exec mariadb-admin ping -h 127.0.0.1 -P 3306 --silent
