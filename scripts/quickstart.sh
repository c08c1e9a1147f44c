#!/usr/bin/env bash
# Quick start (a): installs what is needed, builds, and analyses the bundled sample data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=komainu-out
rm -rf "$out"
# The VPN-appliance exploit rules of ET Open (from the shared corpus, when it is beside us).
rules=()
vpn_rules=../shared/corpus/rules/vpn-appliances.rules
if [ -f "$vpn_rules" ]; then rules=(-S "$vpn_rules"); else echo "note: $vpn_rules absent: no signatures"; fi
build/src/cli/komainu analyze --zeek-logs -l "$out" --zones samples/zones.yaml "${rules[@]}" samples/sample.pcap
echo
echo "Results are in $out/:"
ls -l "$out"
echo
echo "Events by type (eve.json):"
jq -r .event_type "$out/eve.json" | sort | uniq -c | sort -rn
if grep -q '"event_type":"alert"' "$out/eve.json"; then
  echo
  echo "Alerts:"
  jq -r 'select(.event_type=="alert") | "\(.timestamp)  \(.alert.signature)  \(.src_ip // "-") -> \(.dest_ip // "-")"' \
    "$out/eve.json" | head -30
fi
echo
echo "Packets (stats.json):"
jq -c .packets "$out/stats.json"
