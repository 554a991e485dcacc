#!/usr/bin/env bash
# Build one local test-bed image from Debian packages, without any container registry:
# mmdebstrap writes a minimal root filesystem as a tar stream and `docker import` turns it
# into an image.
#
#   scripts/images/build.sh NAME:VERSION   e.g. mysql:9.7, mariadb:11.8, haproxy:2.6
#
# NAME is a folder beside this script; it holds one recipe per VERSION and what they share:
#   image-VERSION.sh
#                  IMAGE_TAG, IMAGE_PACKAGES, IMAGE_SUITE (the Debian suite, default
#                  bookworm), IMAGE_UPDATES (0 for a suite without -updates/-security, such
#                  as sid), IMAGE_SERIES_RE (the packaged version must match it: a suite that
#                  moved to another series fails loudly), IMAGE_CHANGES (Dockerfile lines for
#                  `docker import --change`: on Debian 12's engine only CMD, ENTRYPOINT,
#                  ENV, EXPOSE, LABEL, ONBUILD, USER, VOLUME and WORKDIR), and
#                  IMAGE_VERSION_CMD / IMAGE_VERSION_RE: a command run in the new image,
#                  whose output must match the regex
#   customize.sh   run on the host by mmdebstrap with the root filesystem as $1
#   ...            the files customize.sh copies into the image
# and common/ holds what several images install (the server entrypoints' shared functions).
#
# The image is skipped when its tag exists and was built from the same recipe (a hash of
# this script, lib.sh, common/, the version's recipe and NAME/'s shared files, kept in a label);
# TESTBED_REBUILD=1 forces a rebuild.
#
# Environment:
#   TESTBED_REBUILD=1               rebuild even when the image is up to date
#   TESTBED_DEBIAN_MIRROR           default http://deb.debian.org/debian
#   TESTBED_DEBIAN_SECURITY_MIRROR  default http://deb.debian.org/debian-security
set -euo pipefail

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/images/lib.sh
. "$IMAGES_DIR/lib.sh"

recipes=$(cd "$IMAGES_DIR" && for f in */image-*.sh; do v=${f#*/image-}; printf '%s:%s ' "${f%%/*}" "${v%.sh}"; done)
if [ $# -ne 1 ] || [[ $1 != *:* ]]; then
    tb_die "usage: $0 NAME:VERSION (one of: $recipes)"
fi
NAME=${1%%:*}
VERSION=${1#*:}
SRC=$IMAGES_DIR/$NAME
RECIPE_FILE=image-$VERSION.sh
if [ ! -f "$SRC/$RECIPE_FILE" ] || [ ! -x "$SRC/customize.sh" ]; then
    tb_die "no recipe for $1 (need $SRC/$RECIPE_FILE and an executable customize.sh; recipes: $recipes)"
fi

IMAGE_TAG='' IMAGE_PACKAGES=() IMAGE_CHANGES=() IMAGE_VERSION_CMD=() IMAGE_VERSION_RE=''
IMAGE_SUITE=bookworm IMAGE_UPDATES=1
# shellcheck source=/dev/null
. "$SRC/$RECIPE_FILE"
if [ -z "$IMAGE_TAG" ] || [ ${#IMAGE_PACKAGES[@]} -eq 0 ] || [ -z "$IMAGE_VERSION_RE" ]; then
    tb_die "$SRC/$RECIPE_FILE must set IMAGE_TAG, IMAGE_PACKAGES, IMAGE_VERSION_CMD and IMAGE_VERSION_RE"
fi

SUITE=$IMAGE_SUITE
LABEL=org.mysql-replicas.testbed.recipe

# The recipe hash: every file that shapes the image, by name and content (the other
# versions' recipes excluded: they shape other images).
recipe_hash() {
    (
        cd "$IMAGES_DIR"
        { printf '%s\n' build.sh lib.sh; find common "$NAME" -type f \( ! -name 'image-*.sh' -o -name "$RECIPE_FILE" \) | LC_ALL=C sort; } |
            while IFS= read -r f; do
                x=-; [ -x "$f" ] && x=x
                printf '%s %s %s\n' "$f" "$x" "$(sha256sum <"$f" | cut -d' ' -f1)"
            done
    ) | sha256sum | cut -c1-16
}
RECIPE=$(recipe_hash)

if [ "${TESTBED_REBUILD:-0}" != 1 ] && docker image inspect "$IMAGE_TAG" >/dev/null 2>&1; then
    have=$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$IMAGE_TAG" 2>/dev/null || true)
    if [ "$have" = "$RECIPE" ]; then
        tb_log "image $IMAGE_TAG is present (recipe $RECIPE): not rebuilding (TESTBED_REBUILD=1 forces it)"
        exit 0
    fi
    tb_log "image $IMAGE_TAG is present but was built from another recipe (${have:-none}, now $RECIPE): rebuilding"
fi

old_id=$(docker image inspect -f '{{.Id}}' "$IMAGE_TAG" 2>/dev/null || true)

command -v mmdebstrap >/dev/null 2>&1 || tb_apt_install mmdebstrap
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || tb_apt_install debian-archive-keyring

mirror=${TESTBED_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${TESTBED_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
packages=$(IFS=,; echo "${IMAGE_PACKAGES[*]}")

# sid has no -updates or -security suite, and its Release file on the mirror may be past its
# Valid-Until date: apt would refuse it (signatures are still checked).
sources=("deb $mirror $SUITE main")
aptopts=()
if [ "$IMAGE_UPDATES" = 1 ]; then
    sources+=("deb $mirror $SUITE-updates main" "deb $security $SUITE-security main")
else
    aptopts+=(--aptopt='Acquire::Check-Valid-Until "false"')
fi

change_args=(--change "LABEL $LABEL=$RECIPE")
for c in "${IMAGE_CHANGES[@]}"; do change_args+=(--change "$c"); done

tb_log "building $IMAGE_TAG from Debian $SUITE packages: $packages"
start=$(date +%s)
# Root mode as root (chroot and mounts), unshare mode otherwise (needs user namespaces).
mode=root
[ "$(id -u)" = 0 ] || mode=unshare
# The image is imported untagged and tagged only once it is whole and runs, so that a
# failed build never leaves a broken image under the tag (pipefail: a failing mmdebstrap
# fails the pipeline even when docker import took its partial tar stream).
# The hooks run on the host with the root filesystem as $1 (single quotes are meant).
# shellcheck disable=SC2016
if ! new_id=$(
    mmdebstrap \
        --mode="$mode" \
        --variant=minbase \
        --format=tar \
        --skip=output/dev \
        --include="$packages" \
        --aptopt='APT::Install-Recommends "false"' \
        --aptopt='Acquire::Retries "3"' \
        "${aptopts[@]}" \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --customize-hook="$SRC/customize.sh" \
        --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/apt/* "$1"/var/cache/debconf/*-old' \
        "$SUITE" - "${sources[@]}" |
        docker import "${change_args[@]}" \
            --message "mysql-replicas test bed: $NAME from Debian $SUITE packages" -
); then
    [ -z "$new_id" ] || docker image rm "$new_id" >/dev/null 2>&1 || true
    tb_die "building $IMAGE_TAG failed (see the mmdebstrap or docker import messages above)"
fi
took=$(($(date +%s) - start))

# The image must run and hold the expected version series.
if [ ${#IMAGE_VERSION_CMD[@]} -gt 0 ]; then
    if ! version=$(docker run --rm --entrypoint "${IMAGE_VERSION_CMD[0]}" "$new_id" "${IMAGE_VERSION_CMD[@]:1}" 2>&1) ||
        ! [[ $version =~ $IMAGE_VERSION_RE ]]; then
        docker image rm "$new_id" >/dev/null 2>&1 || true
        tb_die "$IMAGE_TAG: '${IMAGE_VERSION_CMD[*]}' printed '$version', expected /$IMAGE_VERSION_RE/"
    fi
    tb_log "$IMAGE_TAG runs: $(head -n1 <<<"$version")"
fi
docker tag "$new_id" "$IMAGE_TAG"

# The image this one replaced, if nothing else uses it (a container may: then it stays).
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    if docker image rm "$old_id" >/dev/null 2>&1; then
        tb_log "removed the replaced image ${old_id#sha256:}"
    fi
fi
size=$(docker image inspect -f '{{.Size}}' "$IMAGE_TAG")
tb_log "built $IMAGE_TAG in ${took}s ($((size / 1024 / 1024)) MiB, recipe $RECIPE)"
