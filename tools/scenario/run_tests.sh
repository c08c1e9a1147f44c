#!/bin/sh
# Runs the scenario generator's own tests; exits non-zero on failure. CTest hook:
#   add_test(NAME scenario_generator COMMAND ${CMAKE_SOURCE_DIR}/tools/scenario/run_tests.sh)
set -eu
cd "$(dirname "$0")"
PYTHONDONTWRITEBYTECODE=1 exec python3 -m unittest -v test_generate test_score
