# shellcheck shell=bash disable=SC2034
# mysql-replicas/node:20: Node.js 20 from Debian 13 (trixie), standing in for the official `node`
# image the demo app runs on (config demoAppImage, default node:22-alpine): the lab only runs
# `node FILE` in it, and the app's bundle targets Node 20, so either image serves.
IMAGE_TAG=mysql-replicas/node:20
IMAGE_SUITE=trixie
IMAGE_PACKAGES=(nodejs)
IMAGE_CHANGES=(
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    'ENV LANG=C.UTF-8'
    'CMD ["node"]'
)
IMAGE_VERSION_CMD=(node --version)
IMAGE_VERSION_RE='^v20\.'
