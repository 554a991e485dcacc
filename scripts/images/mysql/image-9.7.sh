# shellcheck shell=bash disable=SC2034
# mysql-replicas/mysql:9.7: MySQL 9.7 from Debian unstable (sid; bookworm and trixie have no
# MySQL), with the official `mysql` image's contract as far as the lab uses it (see
# docker-entrypoint.sh). sid moves: the version check below fails the build loudly when it
# no longer carries 9.7. Stop signal: docker's default, SIGTERM, which shuts mysqld down cleanly.
IMAGE_TAG=mysql-replicas/mysql:9.7
IMAGE_SUITE=sid
IMAGE_UPDATES=0
IMAGE_PACKAGES=(mysql-server mysql-client)
IMAGE_CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV LANG=C.UTF-8'
    'VOLUME /var/lib/mysql'
    'EXPOSE 3306 33060'
    'ENTRYPOINT ["docker-entrypoint.sh"]'
    'CMD ["mysqld"]'
)
IMAGE_VERSION_CMD=(mysqld --version)
IMAGE_VERSION_RE='Ver 9\.7\.[0-9]+'
