#!/usr/bin/env bash
# Runs every capture and log of ../shared/corpus through a komainu built with ASan+UBSan.
# Passes when no run reports a sanitizer error and every run exits 0 or fails with a clear
# message (unreadable input); prints a summary line "N passed, N failed".
set -uo pipefail
komainu=${1:?usage: corpus_asan.sh KOMAINU_BINARY}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${KOMAINU_SHARED_DIR:-$here/../shared}
if [ ! -d "$shared/corpus" ]; then
  echo "corpus_asan: SKIPPED: $shared/corpus not present"
  exit 0
fi
export ASAN_OPTIONS=detect_leaks=0:exitcode=86:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
while IFS= read -r -d '' f; do
  out="$tmp/out"
  rm -rf "$out"
  "$komainu" analyze --zeek-logs -l "$out" "$f" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$tmp/stderr" || [ $rc -ge 80 ] ||
     { [ $rc -ne 0 ] && ! grep -q "$(basename "$f")" "$tmp/stderr"; }; then
    echo "corpus_asan: FAIL (exit $rc): $f"
    head -40 "$tmp/stderr"
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done < <(find "$shared/corpus" "$shared/bench/seed-pcaps" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
echo "corpus_asan: $pass passed, $fail failed"
[ $fail -eq 0 ]
