#!/usr/bin/env bash
# Install what `make` targets need on a fresh Debian machine: uv (the lockfile's tool), and,
# when running as root on Debian, the system packages the test suite talks to for real.
set -euo pipefail

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet "uv==0.13.8"
fi

[ "${1:-}" = "--test" ] || exit 0

need=()
command -v oathtool >/dev/null 2>&1 || need+=(oathtool)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
[ "${#need[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages for the test suite: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "note: missing ${need[*]}; the tests that need them will be skipped (or fail under CI=true)"
fi
