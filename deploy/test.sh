#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a passing test suite:
# installs what is missing, builds everything, and runs every test with
# ctest — unit tests and the integration tests that drive real headless
# Firefox through the real gRPC server.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests also run a real Prometheus server and promtool (package
# prometheus), and read screenshots and YAML from Python; the sanitizer and
# fuzzing stages need clang and its runtimes (libFuzzer, sanitizers).
deploy/install-deps.sh prometheus python3-pil python3-yaml tini clang-14 libclang-rt-14-dev
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
# Runs ctest in build dir $2 with the remaining arguments, keeping its
# summary line for the recap at the end (stage name $1).
summaries=()
stage_ctest() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && ctest --output-on-failure "$@") | tee "$dir/ctest-$name.log"
  summaries+=("$name: $(grep -E '% tests passed' "$dir/ctest-$name.log")")
}
stage_ctest all build --timeout 900

# The same unit and integration tests under AddressSanitizer +
# UndefinedBehaviorSanitizer (foxpoold too: the integration tests start this
# build's), then each libFuzzer target for FOXPOOL_FUZZ_SECONDS from its
# seed corpus, then the pool and hub tests under ThreadSanitizer. -O1 and
# line tables only: enough for symbolized reports, and quicker to build.
# Options and suppressions are built into the binaries
# (tests/sanitizers/sanitizer_defaults.cc).
sanitized=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG")
echo "=== AddressSanitizer + UndefinedBehaviorSanitizer: unit and integration tests"
cmake -S . -B build-asan "${sanitized[@]}" -DFOXPOOL_SANITIZE=address,undefined -DFOXPOOL_FUZZ=ON
cmake --build build-asan -j"$(nproc)"
stage_ctest asan+ubsan build-asan -L 'unit|integration' --timeout 900
echo "=== libFuzzer: hub frames and requests"
stage_ctest fuzzing build-asan -L fuzzing
echo "=== ThreadSanitizer: pool and hub tests"
cmake -S . -B build-tsan "${sanitized[@]}" -DFOXPOOL_SANITIZE=thread
cmake --build build-tsan -j"$(nproc)" --target pool_test hub_test tsan_absl_mutex_test
stage_ctest tsan build-tsan -L tsan --timeout 900

echo "=== summary (ctest, per stage)"
printf '%s\n' "${summaries[@]}"
