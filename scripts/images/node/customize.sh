#!/bin/sh
# mmdebstrap customize hook for mysql-replicas/node: nothing to add; Debian's nodejs is the image.
set -eu
