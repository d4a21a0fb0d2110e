#!/usr/bin/env bash
# Installs the Debian packages that the tests drive for real. Idempotent; needs root (or sudo)
# only when something is missing. Tests that still lack a tool say exactly why and skip.
set -uo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need+=(iptables)
command -v g++ >/dev/null 2>&1 || need+=(g++)  # optimizers.compiled: torch inductor builds C++
[ ${#need[@]} -eq 0 ] && { echo "sysdeps: all present"; exit 0; }
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "sysdeps: missing ${need[*]} and not root: the tests that need them will skip and say so"
    exit 0
  fi
fi
echo "sysdeps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || echo "sysdeps: apt-get update failed"
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" fonts-dejavu-core >/dev/null \
  || echo "sysdeps: apt-get install failed for ${need[*]}: the tests that need them will skip and say so"
exit 0
