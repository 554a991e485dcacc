# shellcheck shell=bash disable=SC2034
# mysql-replicas/mariadb:10.11: MariaDB 10.11 from Debian 12, with the official `mariadb`
# image's contract as far as the lab uses it (see docker-entrypoint.sh). Stop signal:
# docker's default, SIGTERM, which shuts mariadbd down cleanly.
IMAGE_TAG=mysql-replicas/mariadb:10.11
IMAGE_SUITE=bookworm
IMAGE_PACKAGES=(mariadb-server mariadb-client)
IMAGE_CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV LANG=C.UTF-8'
    'VOLUME /var/lib/mysql'
    'EXPOSE 3306'
    'ENTRYPOINT ["docker-entrypoint.sh"]'
    'CMD ["mariadbd"]'
)
IMAGE_VERSION_CMD=(mariadbd --version)
IMAGE_VERSION_RE='Ver 10\.11\.[0-9]+-MariaDB'
