#!/bin/sh
# mmdebstrap customize hook for mysql-replicas/haproxy: $1 is the image's root filesystem.
set -eu
root=$1
src=$(cd "$(dirname "$0")" && pwd)

install -m 0755 "$src/docker-entrypoint.sh" "$root/usr/local/bin/"
# Where the official image expects the configuration (none ships: the user provides it),
# with the error pages at the same place as upstream's.
mkdir -p "$root/usr/local/etc/haproxy"
ln -sfn /etc/haproxy/errors "$root/usr/local/etc/haproxy/errors"
# The working directory, owned by the user haproxy runs as (as upstream's).
mkdir -p "$root/var/lib/haproxy"
chroot "$root" chown haproxy:haproxy /var/lib/haproxy
