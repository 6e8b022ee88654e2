#!/usr/bin/env bash
# Builds the libFuzzer targets and runs one of them (or each in turn) for SECONDS.
#
#   fuzz/run.sh TARGET SECONDS     e.g. fuzz/run.sh FuzzRESPCommand 600
#   fuzz/run.sh all SECONDS        every target, one after another
#   fuzz/run.sh list               the target names
#
# Inputs that find new coverage are merged (libFuzzer -merge=1, which keeps the smallest
# input per feature) into fuzz/corpus/TARGET/; a crash, timeout or allocation over the
# limit leaves its input in fuzz/artifacts/ and makes the script fail. The last stats
# line of each run is appended to fuzz/artifacts/runs.log (exec/s, coverage, corpus).
# FUZZ_JOBS_NICE (default 19): the runs' niceness. FUZZ_MERGE=0: leave the corpus as it is
# (CI's short runs).
set -euo pipefail
# Swift's own crash backtracer reads the stack in ways AddressSanitizer reports as errors.
export SWIFT_BACKTRACE=enable=no

here="$(cd "$(dirname "$0")" && pwd)"
targets=(FuzzRESPCommand FuzzRESPReply FuzzReplicationFrame FuzzStandbyHandshake
         FuzzHandshakeAnswer FuzzWitnessMessage FuzzWALRecord FuzzSnapshot)

if [[ "${1:-}" == "list" ]]; then printf '%s\n' "${targets[@]}"; exit 0; fi
if [[ $# -ne 2 ]]; then
    echo "usage: $0 TARGET|all SECONDS   (targets: $0 list)" >&2
    exit 2
fi
target="$1"
seconds="$2"

# SwiftPM passes --sanitize values as separate -sanitize= flags and swiftc keeps only the
# last, so ask for fuzzer (for the link and libFuzzer's main) and give swiftc the pair.
build_flags=(-c debug --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address)
swift build --package-path "$here" "${build_flags[@]}" >&2
bin="$(swift build --package-path "$here" "${build_flags[@]}" --show-bin-path)"

run_one() {
    local name="$1"
    local seeds="$here/corpus/$name"
    local grown
    grown="$(mktemp -d "/tmp/understudy-fuzz-$name.XXXXXX")"
    mkdir -p "$seeds" "$here/artifacts"
    local log="$grown/fuzz.log"
    echo "== $name for ${seconds}s" >&2
    local status=0
    # New inputs go to the scratch directory first; the committed corpus is only read.
    # rss 2 GiB, one allocation at most 512 MiB, 10 s per input: beyond them is a finding.
    nice -n "${FUZZ_JOBS_NICE:-19}" "$bin/$name" "$grown" "$seeds" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -max_len=16384 -print_final_stats=1 -artifact_prefix="$here/artifacts/$name-" \
        >"$log" 2>&1 || status=$?
    grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$log" | tail -1 | sed "s|^|$(date -u +%FT%TZ) $name ${seconds}s |" \
        >>"$here/artifacts/runs.log" || true
    grep -E '^stat::' "$log" | tr '\n' ' ' | sed "s|^|    |; s|\$|\n|" >>"$here/artifacts/runs.log" || true
    if [[ $status -ne 0 ]]; then
        tail -40 "$log" >&2
        echo "!! $name failed (exit $status); its input is in $here/artifacts/" >&2
        return "$status"
    fi
    if [[ "${FUZZ_MERGE:-1}" == 1 ]]; then
        nice -n "${FUZZ_JOBS_NICE:-19}" "$bin/$name" -merge=1 "$seeds" "$grown" >"$grown/merge.log" 2>&1
    fi
    tail -1 "$here/artifacts/runs.log" >&2
    rm -rf "$grown"
}

if [[ "$target" == "all" ]]; then
    for name in "${targets[@]}"; do run_one "$name"; done
else
    run_one "$target"
fi
