#!/bin/sh
# `komainu rules check --sigma DIR --json` over the corpus Sigma rules: the counts must be
# coherent (every rule file loaded or skipped with a reason) and the supported log sources
# must load. Exit 77 (skipped) when the corpus is absent.
#
#   rules_check_test.sh KOMAINU_BINARY SHARED_DIR
set -eu
komainu=$1
sigma=$2/corpus/sigma
if [ ! -d "$sigma/rules" ]; then
  echo "SKIP: Sigma corpus not found at $sigma"
  exit 77
fi
out=$("$komainu" rules check --sigma "$sigma/rules" --sigma "$sigma/rules-emerging-threats" \
  --sigma "$sigma/rules-threat-hunting" --json)
# Text form: the summary line is printed and the exit status is the same.
"$komainu" rules check --sigma "$sigma/rules" | grep -q "Sigma rules loaded"
files=$(find "$sigma/rules" "$sigma/rules-emerging-threats" "$sigma/rules-threat-hunting" \
  -name '*.yml' -o -name '*.yaml' | wc -l)
printf '%s' "$out" | python3 -c '
import json, sys
r = json.load(sys.stdin)
files = int(sys.argv[1])
print("loaded", r["loaded"], "skipped", r["skipped"], "rule files", files)
assert r["loaded"] >= 100, "too few rules loaded"
assert r["skipped"] > 0, "every corpus rule loaded: the unmapped logsources were not skipped"
assert sum(r["skipped_by_reason"].values()) == r["skipped"], "skips without a reason"
assert sum(r["loaded_by_logsource"].values()) == r["loaded"], "loads without a logsource"
assert r["loaded"] + r["skipped"] >= files, "rule files neither loaded nor skipped"
assert len(r["errors"]) == r["skipped"], "a skipped rule without its file and reason"
for src in ("azure/signinlogs/-", "azure/auditlogs/-", "m365/audit/-"):
    assert r["loaded_by_logsource"].get(src, 0) > 0, "nothing loaded for " + src
for e in r["errors"]:
    assert ".yml" in e or ".yaml" in e, "error without its file: " + e
' "$files"
