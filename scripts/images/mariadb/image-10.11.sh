# shellcheck shell=bash disable=SC2034
# mysql-replicas/mariadb:10.11: MariaDB 10.11 from Debian 12 (bookworm).
IMAGE_TAG=mysql-replicas/mariadb:10.11
IMAGE_SUITE=bookworm
IMAGE_VERSION_RE='Ver 10\.11\.[0-9]+-MariaDB'
# shellcheck source=scripts/images/mariadb/recipe.sh
. "$(dirname "${BASH_SOURCE[0]}")/recipe.sh"
