# shellcheck shell=bash disable=SC2034
# What the mysql-replicas/mariadb images share; image-VERSION.sh sets the tag, suite and version
# and sources this. The official `mariadb` image's contract as far as the lab uses it (see
# docker-entrypoint.sh). Stop signal: docker's default, SIGTERM, which shuts mariadbd down cleanly.
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
