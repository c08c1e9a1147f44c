#!/usr/bin/env bash
# Live capture end to end: a veth pair inside a network namespace this test creates,
# tcpreplay of a corpus capture into one end, `komainu capture` on the other, then SIGTERM:
# the HTTP transactions must reach eve.json while it still captures (outputs are flushed
# every second on a live interface), so must the closed connections' flow records (data
# time moves on while the interface is quiet), outputs must be flushed at the end and every
# packet accounted for. Exit 77 = skipped (CTest).
#   live_capture.sh KOMAINU [SHARED_DIR [WORKERS]]
set -uo pipefail
komainu=${1:?usage: live_capture.sh KOMAINU [SHARED_DIR [WORKERS]]}
shared=${2:-$(cd "$(dirname "$0")/../.." && pwd)/../shared}
workers=${3:-1}
# HTTP transactions that complete within the capture: they are logged mid-stream.
pcap=${LIVE_PCAP:-"$shared/corpus/zeek/traces/http/http-filename.pcap"}

if [ -z "$pcap" ] || [ ! -f "$pcap" ]; then echo "SKIPPED: corpus capture not present under $shared"; exit 77; fi
command -v tcpreplay >/dev/null || { echo "SKIPPED: tcpreplay not installed"; exit 77; }
ns="kmn-live-$$"
if ! ip netns add "$ns" 2>/dev/null; then echo "SKIPPED: cannot create network namespaces here"; exit 77; fi
out=$(mktemp -d)
cleanup() { ip netns del "$ns" 2>/dev/null; rm -rf "$out"; }
trap cleanup EXIT
ip -n "$ns" link add kmnA type veth peer name kmnB || { echo "SKIPPED: no veth support"; exit 77; }
ip -n "$ns" link set kmnA up && ip -n "$ns" link set kmnB up && ip -n "$ns" link set lo up

ip netns exec "$ns" "$komainu" capture -i kmnB -l "$out" --zeek-logs --workers "$workers" >"$out/stdout" 2>"$out/stderr" &
pid=$!
sleep 1.5
expected=$(tcpdump -nr "$pcap" 2>/dev/null | wc -l)
ip netns exec "$ns" tcpreplay -q -i kmnA --mbps 50 "$pcap" >/dev/null 2>&1 || { echo "FAIL: tcpreplay failed"; kill $pid; exit 1; }
# Written while still capturing: nothing more arrives, so only the periodic flush can put
# the transactions in the file before SIGTERM.
live_http=0
for _ in $(seq 40); do
  if grep -q '"event_type":"http"' "$out/eve.json" 2>/dev/null; then live_http=1; break; fi
  sleep 0.1
done
# Flows that ended (FIN) are logged once their close delay passes in data time, which moves
# on with the clock while the interface is quiet: before SIGTERM too.
live_flow=0
for _ in $(seq 100); do
  if grep -q '"event_type":"flow"' "$out/eve.json" 2>/dev/null; then live_flow=1; break; fi
  sleep 0.1
done
kill -TERM $pid
wait $pid
rc=$?
fail=0
[ $rc -eq 0 ] || { echo "FAIL: komainu capture exited $rc"; cat "$out/stderr"; fail=1; }
[ -s "$out/stats.json" ] || { echo "FAIL: stats.json missing"; fail=1; }
read_pkts=$(jq .packets.read "$out/stats.json" 2>/dev/null || echo 0)
processed=$(jq '.packets.processed + .packets.invalid + .packets.dropped' "$out/stats.json" 2>/dev/null || echo -1)
sig=$(jq .stopped_by_signal "$out/stats.json" 2>/dev/null)
flows=$(grep -c '"event_type":"flow"' "$out/eve.json" 2>/dev/null || echo 0)
echo "replayed $expected packets; komainu ($workers workers) read $read_pkts, processed+invalid+dropped $processed, flows $flows, signal $sig"
[ "$read_pkts" -ge "$expected" ] || { echo "FAIL: fewer packets read than replayed"; fail=1; }
[ "$read_pkts" = "$processed" ] || { echo "FAIL: read != processed + invalid + dropped"; fail=1; }
[ "$flows" -ge 1 ] || { echo "FAIL: no flow records flushed"; fail=1; }
[ $live_http = 1 ] || { echo "FAIL: no http event in eve.json within 4 s while capturing"; fail=1; }
[ $live_flow = 1 ] || { echo "FAIL: no flow logged within 10 s of a quiet interface"; fail=1; }
[ "$sig" = 15 ] || { echo "FAIL: stats.json does not record SIGTERM"; fail=1; }
grep -q '^#close' "$out/conn.log" 2>/dev/null || { echo "FAIL: conn.log not closed"; fail=1; }
exit $fail
