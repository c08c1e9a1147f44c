#!/bin/sh
# End-to-end run: generate a scenario, analyse it with komainu, score the alerts against the
# truth (per-stage detection and delay, no alert from benign hosts). Exit status of score.py.
#   tools/scenario/e2e.sh KOMAINU_BINARY [SEED] [SIZE] [extra score.py options]
#   tools/scenario/e2e.sh build/src/cli/komainu 1 small --allow-missing a
set -eu
if [ $# -lt 1 ]; then
  echo "usage: $0 KOMAINU_BINARY [SEED] [SIZE] [score.py options...]" >&2
  exit 2
fi
komainu=$1
seed=${2:-1}
size=${3:-small}
[ $# -ge 3 ] && shift 3 || shift $#
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/komainu-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT
PYTHONDONTWRITEBYTECODE=1 python3 "$here/generate.py" --seed "$seed" --size "$size" --out "$work/scn"
"$komainu" analyze --zones "$work/scn/zones.yaml" -l "$work/out" "$work/scn/scenario.pcap"
PYTHONDONTWRITEBYTECODE=1 python3 "$here/score.py" --truth "$work/scn/truth.json" "$@" "$work/out/eve.json"
