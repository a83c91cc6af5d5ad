#!/usr/bin/env bash
# Render report.html in headless Chromium, as a reader would see it, and save PNG screenshots.
# Usage: scripts/screenshot-report.sh REPORT.html OUT.png [WIDTH] [HEIGHT]
# Needs Debian's chromium package (apt-get install chromium). The flags keep Chromium off the
# network: the report must render with no request to anywhere.
set -euo pipefail
report=$(realpath "$1")
out=$(realpath -m "$2")
width=${3:-1200}
height=${4:-3000}
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run --disable-quic \
  --user-data-dir="$profile" --hide-scrollbars \
  --window-size="$width,$height" --screenshot="$out" "file://$report" 2>/dev/null
echo "wrote $out"
