#!/usr/bin/env bash
# Render report.html in headless Chromium, as a reader sees it, in both languages, and save
# PNG screenshots of its first 2600 pixels (headlines and trends).
#
# Usage: scripts/screenshot-report.sh [PIPELINE] [OUT_DIR]
#   PIPELINE  default pipelines/sample.toml
#   OUT_DIR   default reports/screenshots (report-bg.png, report-en.png)
#
# Needs Debian's chromium package (apt-get install chromium) and a built outcomes binary
# (cargo build --release, else target/debug). Chromium runs with its background networking off:
# the report itself must need no network at all.
set -euo pipefail
cd "$(dirname "$0")/.."
pipeline=${1:-pipelines/sample.toml}
out=$(realpath -m "${2:-reports/screenshots}")
bin="${CARGO_TARGET_DIR:-target}/release/outcomes"
[ -x "$bin" ] || bin="${CARGO_TARGET_DIR:-target}/debug/outcomes"
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for lang in bg en; do
  "$bin" run "$pipeline" --out "$work/$lang" --lang "$lang" --quiet || [ $? -eq 3 ]
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-quic \
    --user-data-dir="$work/profile-$lang" --hide-scrollbars \
    --window-size=1100,2600 --screenshot="$out/report-$lang.png" "file://$work/$lang/report.html" 2>/dev/null
  echo "wrote $out/report-$lang.png"
done
