#!/bin/sh
# Log-path throughput: a generated Entra sign-in file of >= 1 GiB through ingest +
# normalise + every loaded Sigma rule + the built-in identity detectors, single thread,
# against a simdjson parse-only pass over the same file in the same run.
#
#   bench/logs/run.sh [BUILD_DIR]        (default: build-logs)
#
# The file is generated once (deterministic, seed 11) into $KOMAINU_BENCH_CACHE
# (default /var/tmp/komainu-bench), outside the repository.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-logs}
cache=${KOMAINU_BENCH_CACHE:-/var/tmp/komainu-bench}
data=$cache/entra-signins-1g
shared=${KOMAINU_SHARED_DIR:-$root/../shared}
mkdir -p "$cache"
if [ ! -s "$data/signins.jsonl" ]; then
  python3 "$root/tools/loggen/loggen.py" --out "$data" --seed 11 --users 5000 \
    --bench-bytes 1100000000
fi
sigma=""
for d in rules rules-emerging-threats rules-threat-hunting; do
  [ -d "$shared/corpus/sigma/$d" ] && sigma="$sigma --sigma $shared/corpus/sigma/$d"
done
# Page cache warm for both passes: read the file once first.
cat "$data/signins.jsonl" > /dev/null
# shellcheck disable=SC2086
"$build/bench/logs/logbench" $sigma "$data/signins.jsonl"
