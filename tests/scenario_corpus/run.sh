#!/bin/sh
# The behavioural detectors on the public attack corpus (issue 5): every capture listed in
# expected.txt is analysed with default settings and each listed detector family must raise
# at least one gid 9000001 alert. Prints the families that fired per capture (the table in
# docs/detections.md). Exit 77 (CTest skip) when the corpus is absent.
#   tests/scenario_corpus/run.sh KOMAINU_BINARY SHARED_DIR
set -eu
komainu=$1
corpus=$2/corpus/pcap
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$corpus" ]; then
  echo "SKIP: public corpus not found at $corpus"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/komainu-corpus.XXXXXX")
trap 'rm -rf "$work"' EXIT
grep -v '^#' "$here/expected.txt" | while read -r capture families; do
  [ -n "$capture" ] || continue
  out="$work/$(basename "$capture")"
  "$komainu" analyze --no-progress -l "$out" "$corpus/$capture" >/dev/null
  fired=$(python3 - "$out/eve.json" <<'PY'
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    e = json.loads(line)
    a = e.get("alert") if e.get("event_type") == "alert" else None
    if a and a.get("gid") == 9000001:
        for d in a.get("metadata", {}).get("detector", []):
            c[d.split(".")[0]] += 1
print(" ".join("%s(%d)" % kv for kv in sorted(c.items())))
PY
)
  status=ok
  for f in $families; do
    case " $fired" in
      *" $f("*) ;;
      *) status="MISSING $f"; echo "$capture: expected $f" > "$work/failed" ;;
    esac
  done
  printf '%-4s %s: %s\n' "$status" "$capture" "${fired:--}"
done
if [ -e "$work/failed" ]; then
  echo "FAIL: some expected detectors did not fire"
  exit 1
fi
echo "all expected detectors fired"
