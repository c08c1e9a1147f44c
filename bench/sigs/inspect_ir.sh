#!/usr/bin/env bash
# Instructions spent in the signature engine, per binary, on the same slice of the benchmark
# capture with the full ET Open set: a deterministic A/B for engine changes.
#
#   bench/sigs/inspect_ir.sh [-c PACKETS] BIN...
#
# Why: on the shared 2-core VM task-clock varies by +-10% between identical runs and perf has
# no hardware counters (instructions "<not supported>"), so a 2-5% engine change cannot be
# seen with perf stat. callgrind counts the instructions executed inside Engine::inspect
# (--toggle-collect: rule loading and the rest of the pipeline are not counted) and gives the
# same number on every run. The slice (default 60,000 packets, ~45 MB) is cut once into
# $KOMAINU_BENCH_CACHE. Prints: binary, Ir inside inspect(), Ir inside Hyperscan.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
count=60000
while getopts ":c:" o; do
  case $o in c) count=$OPTARG ;; *) echo "usage: $0 [-c PACKETS] BIN..."; exit 2 ;; esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-c PACKETS] BIN..."; exit 2; }
command -v valgrind >/dev/null || { echo "SKIPPED: valgrind not installed"; exit 0; }
cache=${KOMAINU_BENCH_CACHE:-/var/tmp/komainu-bench}
big="$cache/bench-mixed-1G.pcap"
[ -f "$big" ] || { echo "SKIPPED: $big missing (bench/throughput.sh builds it)"; exit 0; }
slice="$cache/bench-slice-$count.pcap"
[ -f "$slice" ] || tcpdump -r "$big" -w "$slice" -c "$count" 2>/dev/null
rules=()
for f in "$here"/../shared/corpus/rules/et-open/2025-08/*.rules; do rules+=(-S "$f"); done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for bin in "$@"; do
  n=$(basename "$bin")
  # Warm the Hyperscan cache first so neither run compiles databases.
  "$bin" analyze --no-progress -l "$out/w" "${rules[@]}" "$slice" >/dev/null 2>&1 || true
  valgrind --tool=callgrind --toggle-collect='komainu::sig::Engine::inspect*' \
    --callgrind-out-file="$out/cg.$n" "$bin" analyze --no-progress -l "$out/o.$n" \
    "${rules[@]}" "$slice" >/dev/null 2>&1
  total=$(callgrind_annotate "$out/cg.$n" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  hs=$(callgrind_annotate "$out/cg.$n" 2>/dev/null | awk '/libhs/ {gsub(",", "", $1); s += $1} END {print s + 0}')
  echo "$n inspect_Ir=$total hyperscan_Ir=$hs"
done
