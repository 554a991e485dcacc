# shellcheck shell=bash disable=SC2034
# mysql-replicas/haproxy:2.6: HAProxy 2.6 from Debian 12, with the official `haproxy`
# image's contract: config at /usr/local/etc/haproxy/haproxy.cfg (bind-mounted or uploaded
# by the user), master-worker in the foreground, runs as user haproxy.
# Stop signal: docker's default SIGTERM (hard stop, open connections closed at once), not
# upstream's SIGUSR1 (soft stop, which waits for long-lived MySQL connections to end):
# docker import cannot set STOPSIGNAL on the Debian 12 engine anyway.
IMAGE_TAG=mysql-replicas/haproxy:2.6
IMAGE_PACKAGES=(haproxy)
IMAGE_CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV LANG=C.UTF-8'
    'USER haproxy'
    'WORKDIR /var/lib/haproxy'
    'ENTRYPOINT ["docker-entrypoint.sh"]'
    'CMD ["haproxy", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]'
)
IMAGE_VERSION_CMD=(haproxy -v)
IMAGE_VERSION_RE='HAProxy version 2\.6\.'
