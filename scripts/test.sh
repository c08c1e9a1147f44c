#!/usr/bin/env bash
# Quick start (b): installs what is needed, builds, and runs the whole test suite:
#   1. the unit, golden and parity tests (ctest) of the normal build;
#   2. every capture and log in ../shared/corpus through komainu built with ASan+UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build -j2 --output-on-failure --timeout 1200
if [ "${KOMAINU_SKIP_ASAN:-0}" != 1 ]; then
  BUILD_DIR=build-asan scripts/build.sh -DKOMAINU_SANITIZE=ON -DBUILD_TESTING=OFF -DKOMAINU_BENCH=OFF
  tests/corpus_asan.sh build-asan/src/cli/komainu
fi
