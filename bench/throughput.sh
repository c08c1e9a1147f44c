#!/usr/bin/env bash
# Whole-run throughput on the benchmark capture, compared in the same run with the read
# floor `tcpdump -r FILE -w /dev/null` (the machines are noisy: only ratios are compared).
#
#   bench/throughput.sh [-n RUNS] [-s SIZE] [-- extra komainu analyze args]
# Without extra args: one worker thread and one per core, each timed.
#
# Builds the capture once with ../shared/bench/make-bench-pcap.sh into $KOMAINU_BENCH_CACHE
# (default /var/tmp/komainu-bench; never committed), then alternates the two commands RUNS
# times (default 5) and prints the medians, the ratio, Mbit/s and komainu's peak RSS.
# KOMAINU=path/to/komainu times another build (default build/src/cli/komainu).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=5
size=1G
while getopts ":n:s:" o; do
  case $o in n) runs=$OPTARG ;; s) size=$OPTARG ;; *) echo "usage: $0 [-n RUNS] [-s SIZE] [-- ARGS]"; exit 2 ;; esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
komainu=${KOMAINU:-$here/build/src/cli/komainu}
cache=${KOMAINU_BENCH_CACHE:-/var/tmp/komainu-bench}
gen="$here/../shared/bench/make-bench-pcap.sh"
[ -x "$komainu" ] || { echo "build komainu first (scripts/build.sh)"; exit 1; }
[ -f "$gen" ] || { echo "SKIPPED: $gen not present"; exit 0; }
mkdir -p "$cache"
pcap="$cache/bench-mixed-$size.pcap"
if [ ! -f "$pcap" ]; then
  echo "building $pcap (once)..."
  bash "$gen" -o "$pcap" "$size" >/dev/null
fi
bytes=$(stat -c %s "$pcap")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat "$pcap" >/dev/null  # page cache, as the peers were measured
# Without extra arguments two runs are timed: one worker thread (the per-core headline) and
# one per core (--workers 0: the whole machine).
configs=()
if [ $# -gt 0 ]; then configs=("@args"); else configs=("--workers 1" "--workers 0"); fi
t_tcpdump=()
declare -A t_k rss
for c in "${configs[@]}"; do rss[$c]=0; done
for i in $(seq "$runs"); do
  s=$(date +%s.%N); tcpdump -r "$pcap" -w /dev/null 2>/dev/null; e=$(date +%s.%N)
  t_tcpdump+=("$(echo "$e - $s" | bc)")
  for c in "${configs[@]}"; do
    rm -rf "$out/k"
    if [ "$c" = "@args" ]; then args=("$@"); else read -ra args <<<"$c"; fi
    s=$(date +%s.%N)
    /usr/bin/time -f %M -o "$out/rss" "$komainu" analyze --no-progress --zeek-logs -l "$out/k" "${args[@]}" "$pcap"
    e=$(date +%s.%N)
    t_k[$c]+="$(echo "$e - $s" | bc) "
    r=$(cat "$out/rss"); [ "$r" -gt "${rss[$c]}" ] && rss[$c]=$r
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mt=$(median "${t_tcpdump[@]}")
echo "capture: $pcap ($bytes bytes), $runs alternating runs, medians ($(nproc) cores)"
echo "tcpdump -r -w /dev/null : ${mt}s"
for c in "${configs[@]}"; do
  # shellcheck disable=SC2086
  mk=$(median ${t_k[$c]})
  name=$c; [ "$c" = "@args" ] && name="$*"
  echo "komainu analyze $name --zeek-logs : ${mk}s  ($(echo "scale=0; $bytes * 8 / $mk / 1000000" | bc) Mbit/s, peak RSS $((${rss[$c]} / 1024)) MiB)"
  echo "ratio komainu / tcpdump ($name) : $(echo "scale=2; $mk / $mt" | bc)x"
done
jq -c '{packets, flows: .flow.flows_created, evicted: .flow.flows_evicted}' "$out/k/stats.json" 2>/dev/null || true
