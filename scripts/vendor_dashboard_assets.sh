#!/usr/bin/env bash
# Fetches the dashboard's chart library from the npm registry into gateway/dashboard/static/vendor/.
# The result is committed, so installing or running ftgate never needs the network or a CDN.
# `npm pack` checks the tarball against the registry's integrity hash; the sha256 below pins
# the extracted file.
set -euo pipefail
cd "$(dirname "$0")/.."

CHART_JS_VERSION=4.6.1
CHART_JS_SHA256=87364cc2b2a76a6684929e7d6b80b18a897794db38400caff1fcf1791c6925d2
VENDOR=gateway/dashboard/static/vendor

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm pack --silent --pack-destination "$work" "chart.js@${CHART_JS_VERSION}" >/dev/null
tar -xzf "$work/chart.js-${CHART_JS_VERSION}.tgz" -C "$work"
echo "${CHART_JS_SHA256}  $work/package/dist/chart.umd.min.js" | sha256sum --check --quiet

mkdir -p "$VENDOR"
cp "$work/package/dist/chart.umd.min.js" "$VENDOR/chart.umd.min.js"
cp "$work/package/LICENSE.md" "$VENDOR/chart.js.LICENSE.md"
echo "vendored chart.js ${CHART_JS_VERSION} into $VENDOR"
