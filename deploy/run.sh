#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running foxpoold: installs
# what is missing, builds, and starts the server with its embedded defaults
# (2 warm headless windows, gRPC on 127.0.0.1:50051). Arguments are passed to
# foxpoold (e.g. --pool_size=4); `--help` lists them.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target foxpoold foxpool foxpool_python
exec build/server/foxpoold "$@"
