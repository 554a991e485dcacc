# shellcheck shell=bash disable=SC2034
# mysql-replicas/mariadb:11.8: MariaDB 11.8 from Debian 13 (trixie).
IMAGE_TAG=mysql-replicas/mariadb:11.8
IMAGE_SUITE=trixie
IMAGE_VERSION_RE='Ver 11\.8\.[0-9]+-MariaDB'
# shellcheck source=scripts/images/mariadb/recipe.sh
. "$(dirname "${BASH_SOURCE[0]}")/recipe.sh"
