#!/usr/bin/env bash
# Replaces fuzz/corpus/TARGET by the afl-cmin (edge coverage) minimum of QUEUE_DIR plus the
# current corpus: scripts/fuzz/minimize.sh TARGET [QUEUE_DIR] (default: the queue of the last
# run.sh campaign, fuzz/out/TARGET/default/queue). Files are named by their content hash.
set -euo pipefail
cd "$(dirname "$0")/../.."

target="$1"
queue="${2:-fuzz/out/$target/default/queue}"
corpus="fuzz/corpus/$target"
binary="fuzz/target/afl/release/afl_target"
# cargo-afl's afl-cmin (the Python one) finds no coverage with this persistent-mode harness;
# the shell version, from the same AFL++ build, works.
data="${XDG_DATA_HOME:-$HOME/.local/share}/afl.rs"
bin="$(ls -d "$data"/rustc-"$(rustc --version | awk '{print $2}')"-*/afl.rs-*/afl/bin | tail -1)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir "$work/in"
cp "$queue"/id* "$corpus"/* "$work/in/" 2>/dev/null || true
PATH="$bin:$PATH" AFL_SKIP_CPUFREQ=1 nice -n 10 "$bin/afl-cmin.bash" -e -i "$work/in" \
    -o "$work/out" -t 2000 -- "$binary" "$target" >"$work/cmin.log" 2>&1 || {
    tail -5 "$work/cmin.log" >&2
    exit 1
}
rm -rf "$corpus"
mkdir -p "$corpus"
for f in "$work/out"/*; do
    cp "$f" "$corpus/$(sha1sum "$f" | cut -c1-16)"
done
echo "$target: corpus minimized to $(ls "$corpus" | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes"
