#!/usr/bin/env bash
# A fuzz campaign on one target: scripts/fuzz/run.sh TARGET SECONDS [EXECS]
# Builds the AFL++ harness, then fuzzes TARGET (see fuzz/src/lib.rs) from its corpus in
# fuzz/corpus/TARGET for SECONDS (or until EXECS executions when given), niced, on one core.
# Findings go to fuzz/out/TARGET/default/{crashes,hangs}; the summary (executions, exec/s,
# edges) is printed at the end. With `--minimize`, fuzz/corpus/TARGET is then replaced by the
# afl-cmin minimum of the campaign's queue and the old corpus (scripts/fuzz/minimize.sh).
# Exit status: non-zero when the campaign saved a crash or a hang.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [EXECS] [--minimize]" >&2
    exit 2
fi
target="$1"
seconds="$2"
shift 2
execs=""
minimize=""
for arg in "$@"; do
    case "$arg" in
        --minimize) minimize=1 ;;
        *) execs="$arg" ;;
    esac
done

corpus="fuzz/corpus/$target"
out="fuzz/out/$target"
binary="fuzz/target/afl/release/afl_target"
if [ ! -d "$corpus" ]; then
    echo "no corpus $corpus (targets: $(ls fuzz/corpus | tr '\n' ' '))" >&2
    exit 2
fi

# Its own target dir: the instrumented build and `cargo test`'s plain one would evict each other.
(cd fuzz && nice -n 10 cargo afl build --release --features afl --quiet --target-dir target/afl)

# A shared machine: no CPU pinning or frequency checks, no UI; a run over 2 s is a hang (a
# loaded machine can stall one run for most of a second).
export AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
rm -rf "$out"
mkdir -p fuzz/out
limit=(-V "$seconds")
if [ -n "$execs" ]; then
    limit+=(-E "$execs")
fi
nice -n 10 cargo afl fuzz -i "$corpus" -o "$out" -x fuzz/dict/mmcore.dict -t 2000 \
    "${limit[@]}" -- "$binary" "$target" >"$out.log" 2>&1 || {
    tail -30 "$out.log" >&2
    exit 1
}

stats="$out/default/fuzzer_stats"
field() { awk -F' *: *' -v k="$1" '$1 == k {print $2}' "$stats"; }
echo "$target: execs=$(field execs_done) exec/s=$(field execs_per_sec) run_time=$(field run_time)s" \
    "edges=$(field edges_found)/$(field total_edges) coverage=$(field bitmap_cvg)" \
    "corpus=$(field corpus_count) crashes=$(field saved_crashes) hangs=$(field saved_hangs)"

if [ -n "$minimize" ]; then
    bash scripts/fuzz/minimize.sh "$target"
fi

if [ "$(field saved_crashes)" != 0 ] || [ "$(field saved_hangs)" != 0 ]; then
    echo "$target: findings in $out/default/crashes and $out/default/hangs" >&2
    exit 1
fi
