#!/usr/bin/env bash
# Quick start (b): installs what is needed, builds, and runs the whole test suite:
#   1. the unit, golden and parity tests (ctest) of the normal build;
#   2. every capture and log in ../shared/corpus through komainu built with ASan+UBSan;
#   3. the thread tests (lock, batch scheduler, pipeline with several workers, writers)
#      and the multi-worker comparison (tests/workers), built with TSan.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build -j2 --output-on-failure --timeout 1200
if [ "${KOMAINU_SKIP_ASAN:-0}" != 1 ]; then
  BUILD_DIR=build-asan scripts/build.sh -DKOMAINU_SANITIZE=ON -DBUILD_TESTING=OFF -DKOMAINU_BENCH=OFF
  tests/corpus_asan.sh build-asan/src/cli/komainu
fi
if [ "${KOMAINU_SKIP_TSAN:-0}" != 1 ]; then
  cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKOMAINU_TSAN=ON \
    -DKOMAINU_BENCH=OFF >/dev/null
  ninja -C build-tsan -j"${JOBS:-2}" komainu pipeline_test output_test core_test
  export TSAN_OPTIONS=halt_on_error=1:exitcode=88
  build-tsan/src/core/core_test --gtest_brief=1 --gtest_filter='SpinMutex.*'
  build-tsan/src/pipeline/pipeline_test --gtest_brief=1
  build-tsan/src/output/output_test --gtest_brief=1
  python3 tests/workers/run.py build-tsan/src/cli/komainu samples/sample.pcap ../shared
fi
