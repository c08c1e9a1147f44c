#!/usr/bin/env bash
# Installs every Debian package that building, testing and benchmarking komainu need.
# Idempotent and non-interactive: safe to re-run. Needs root (or sudo).
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build pkg-config clang clang-format
  libpcap-dev libhyperscan-dev libpcre2-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev
  libfmt-dev libsqlite3-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libtcmalloc-minimal4
  tcpdump tcpreplay iproute2 python3 python3-scapy wireshark-common jq bc time
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
