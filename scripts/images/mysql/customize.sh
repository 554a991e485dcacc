#!/bin/sh
# mmdebstrap customize hook for mysql-replicas/mysql: $1 is the image's root filesystem.
set -eu
root=$1
src=$(cd "$(dirname "$0")" && pwd)

install -d "$root/usr/local/lib/mysql-replicas"
install -m 0644 "$src/../common/entrypoint-lib.sh" "$root/usr/local/lib/mysql-replicas/"
install -m 0755 "$src/docker-entrypoint.sh" "$root/usr/local/bin/"
install -m 0644 "$src/docker.cnf" "$root/etc/mysql/mysql.conf.d/zz-docker.cnf"

# Debian binds to 127.0.0.1 and logs to a file; the official image binds every address and
# logs to stderr (docker logs). Comment those lines out so that zz-docker.cnf is the only say.
sed -i -e 's/^\([[:space:]]*\(bind-address\|mysqlx-bind-address\|log_error\|log-error\)\)/#\1/' \
    "$root/etc/mysql/mysql.conf.d/mysqld.cnf"

# The package's postinst initialised a data directory: the image ships an empty one, so the
# entrypoint initialises a new volume with the requested root password.
find "$root/var/lib/mysql" -mindepth 1 -delete
mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/mysql-files"
chroot "$root" chown mysql:mysql /var/lib/mysql /var/lib/mysql-files
chmod 0755 "$root/var/lib/mysql"
chmod 0750 "$root/var/lib/mysql-files"
# /var/run/mysqld is made by the entrypoint (/run is not kept in the image).
