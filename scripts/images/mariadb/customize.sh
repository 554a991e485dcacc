#!/bin/sh
# mmdebstrap customize hook for mysql-replicas/mariadb: $1 is the image's root filesystem.
set -eu
root=$1
src=$(cd "$(dirname "$0")" && pwd)

install -d "$root/usr/local/lib/mysql-replicas"
install -m 0644 "$src/../common/entrypoint-lib.sh" "$root/usr/local/lib/mysql-replicas/"
install -m 0755 "$src/docker-entrypoint.sh" "$src/healthcheck.sh" "$root/usr/local/bin/"
install -m 0644 "$src/docker.cnf" "$root/etc/mysql/mariadb.conf.d/99-docker.cnf"

# Debian binds to 127.0.0.1; 99-docker.cnf binds 0.0.0.0. Comment Debian's line out so
# that only one bind-address is left in the configuration.
sed -i -e 's/^\([[:space:]]*bind-address\)/#\1/' "$root/etc/mysql/mariadb.conf.d/50-server.cnf"

# The package's postinst initialised a data directory: the image ships an empty one, so
# the entrypoint initialises a new volume with the requested root password (and docker
# copies nothing into a new named volume).
find "$root/var/lib/mysql" -mindepth 1 -delete
mkdir -p "$root/docker-entrypoint-initdb.d"
chroot "$root" chown mysql:mysql /var/lib/mysql
chmod 0755 "$root/var/lib/mysql"
# /run/mysqld is made by the entrypoint (/run is not kept in the image).
