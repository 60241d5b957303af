#!/usr/bin/env bash
# CI fuzz check: every target's checks over its checked-in corpus (`cargo test`, no fuzzer), then
# each target fuzzed for FUZZ_SECONDS (default 20) from that corpus, FUZZ_JOBS targets at a time
# (default: the number of cores). Exit non-zero on any failing corpus input, crash or hang.
# Needs scripts/fuzz/install.sh first.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds="${FUZZ_SECONDS:-20}"
jobs="${FUZZ_JOBS:-$(nproc)}"
targets=(binance bybit okx binance_fast decimal sync router)

(cd fuzz && cargo test --release --quiet)
(cd fuzz && cargo afl build --release --features afl --quiet --target-dir target/afl)

export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

fuzz_one() {
    local target="$1"
    cargo afl fuzz -i "fuzz/corpus/$target" -o "$out/$target" -x fuzz/dict/mmcore.dict -t 2000 \
        -V "$seconds" -- fuzz/target/afl/release/afl_target "$target" >"$out/$target.log" 2>&1
}

running=0
for target in "${targets[@]}"; do
    fuzz_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

failed=0
for target in "${targets[@]}"; do
    stats="$out/$target/default/fuzzer_stats"
    if [ ! -f "$stats" ]; then
        echo "$target: the fuzzer did not run" >&2
        tail -20 "$out/$target.log" >&2
        failed=1
        continue
    fi
    field() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$stats"; }
    crashes="$(field saved_crashes)"
    hangs="$(field saved_hangs)"
    echo "$target: execs=$(field execs_done) edges=$(field edges_found) crashes=$crashes hangs=$hangs"
    if [ "$crashes" != 0 ] || [ "$hangs" != 0 ]; then
        for input in "$out/$target"/default/{crashes,hangs}/id*; do
            [ -f "$input" ] || continue
            echo "--- $target finding $(basename "$input") (base64):" >&2
            base64 -w0 "$input" >&2
            echo >&2
        done
        failed=1
    fi
done
exit "$failed"
