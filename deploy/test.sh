#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a passing test suite:
# installs what is missing, builds everything, and runs every test with
# ctest — unit tests and the integration tests that drive real headless
# Firefox through the real gRPC server.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also run a real Prometheus server and promtool (package
# prometheus), and read screenshots and YAML from Python.
deploy/install-deps.sh prometheus python3-pil python3-yaml tini
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
cd build
ctest --output-on-failure --timeout 900
