#!/usr/bin/env bash
# Installs what foxpool needs to build and run, from Debian 12's packages,
# plus any packages named as arguments (the tests add theirs). Installs only
# what is missing; works as root or through sudo.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  firefox-esr fonts-dejavu-core
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev
  libboost-dev libabsl-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  prometheus-cpp-dev libsqlite3-dev
  libgtest-dev libgmock-dev
  python3 python3-grpcio python3-protobuf
  "$@"
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
