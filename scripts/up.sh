#!/usr/bin/env bash
# Brings the lab up with the Pulumi CLI:  npm run up | npm run preview | npm run destroy
# Arguments after the action go to pulumi, e.g. `npm run up -- --refresh=false` for a forced failover.
# The CLI is a pulumi on PATH if there is one, else the version package.json pins, downloaded once by
# the npm package `pulumi` into $PULUMI_HOME/versions/<version> (~/.pulumi): scripts/lib/pulumiCli.ts.
# Uses a local file backend (.pulumi-state/) unless you are logged in to a backend already, and the
# passphrase "dev" for the stack's secrets unless you set PULUMI_CONFIG_PASSPHRASE(_FILE).
# STACK=name picks another stack (default dev).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

action=up
case "${1:-}" in
    up | preview | destroy) action=$1; shift ;;
    -*) ;;
    "") ;;
    *) echo "up.sh: unknown action '$1': expected up, preview or destroy" >&2; exit 1 ;;
esac
stack=${STACK:-dev}

die() { echo "up.sh: $*" >&2; exit 1; }
# Dependencies first: `npm test` works after this even when the checks below stop the up.
bash scripts/deps.sh
docker info >/dev/null 2>&1 || die "no Docker engine answers 'docker info': start Docker first"
# Not `pulumi` from PATH: under npm scripts that is node_modules/.bin/pulumi, the npm package's downloader.
cli=$(node_modules/.bin/ts-node --transpile-only scripts/lib/pulumiCli.ts) || exit 1
read -r cli_source PULUMI_BIN <<<"$cli"
pulumi() { "$PULUMI_BIN" "$@"; }
# The cached CLI's plugins (language hosts) sit beside it: put them first, as the npm launcher does.
[ "$cli_source" = path ] || export PATH="$(dirname "$PULUMI_BIN"):$PATH"

if [ -z "${PULUMI_BACKEND_URL:-}" ] && ! pulumi whoami >/dev/null 2>&1; then
    mkdir -p .pulumi-state
    export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
    echo "up.sh: state goes to .pulumi-state/ (run 'pulumi login' first to keep it elsewhere)"
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
    export PULUMI_CONFIG_PASSPHRASE=dev
    echo "up.sh: secrets are encrypted with the lab passphrase 'dev' (set PULUMI_CONFIG_PASSPHRASE for your own)"
fi

pulumi stack select "$stack" >/dev/null 2>&1 || pulumi stack init "$stack"

case "$action" in
    up) pulumi up --yes --stack "$stack" "$@" ;;
    preview) pulumi preview --diff --stack "$stack" "$@" ;;
    destroy) pulumi destroy --yes --stack "$stack" "$@" ;;
esac
