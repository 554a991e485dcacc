# shellcheck shell=bash disable=SC2034
# mysql-replicas/mariadb:11.8: MariaDB 11.8 from Debian 13 (trixie), with the official `mariadb`
# image's contract as far as the lab uses it (see docker-entrypoint.sh). Stop signal:
# docker's default, SIGTERM, which shuts mariadbd down cleanly.
IMAGE_TAG=mysql-replicas/mariadb:11.8
IMAGE_SUITE=trixie
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
IMAGE_VERSION_RE='Ver 11\.8\.[0-9]+-MariaDB'
