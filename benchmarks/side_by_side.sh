#!/usr/bin/env bash
# Side-by-side redis-benchmark: Understudy vs Debian's redis-server with matching durability.
# Builds Understudy in release mode, then runs benchmarks/side_by_side.py, which writes the
# table into docs/benchmarks.md between its markers.
#
#   benchmarks/side_by_side.sh                     # default -n 100000 (about 2-4 minutes)
#   benchmarks/side_by_side.sh -n 20000            # quicker
#   benchmarks/side_by_side.sh --candidate redis   # redis vs redis: checks the script itself
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_apt_packages redis-tools redis-server
build=1
for argument in "$@"; do
    case "$argument" in
        redis|--candidate=redis|--no-build) build=0 ;;
    esac
done
if [ "$build" = 1 ]; then
    ensure_liblz4
    swift build -c release
    export UNDERSTUDY_BIN="${UNDERSTUDY_BIN:-$(swift build -c release --show-bin-path)/understudy}"
fi
exec python3 benchmarks/side_by_side.py "$@"
