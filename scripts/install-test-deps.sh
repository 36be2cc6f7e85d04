#!/usr/bin/env bash
# Installs what the end-to-end suites need, idempotently: a second run checks
# stamps and exits in about a second without touching the network.
#
#   1. a Python venv at <repo>/.venv with the official LiveKit Python SDKs
#   2. the official LiveKit JavaScript SDKs in scripts/e2e/node/node_modules
#   3. Debian chromium + chromium-driver (browser tests) and iproute2 (`ip`)
#
# Works as root (CI) or through sudo when it is available.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

log() { printf '[install-test-deps] %s\n' "$*"; }

# Pinned Python requirements. Changing this list changes the stamp hash, which
# makes the next run reinstall.
python_requirements=(
  "livekit==1.2.1"
  "livekit-api==1.2.2"
  "pytest==9.2.0"
  "pytest-asyncio==1.5.0"
  "aiohttp==3.14.5"
  "numpy==2.4.6"
)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    log "need root for: $*"
    return 1
  fi
}

pick_python() {
  for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

hash_of() { sha256sum | cut -d' ' -f1; }

# --- 1. apt packages -------------------------------------------------------
apt_packages=()
[ -x /usr/bin/chromium ] || apt_packages+=(chromium chromium-driver)
command -v ip >/dev/null 2>&1 || apt_packages+=(iproute2)
# nftables: test_media_loss.py drops packets with it where the kernel has no sch_netem.
command -v nft >/dev/null 2>&1 || [ -x /usr/sbin/nft ] || apt_packages+=(nftables)
python_bin="$(pick_python || true)"
if [ -z "$python_bin" ]; then
  apt_packages+=(python3 python3-venv)
elif ! "$python_bin" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  apt_packages+=(python3-venv)
fi

if [ "${#apt_packages[@]}" -gt 0 ]; then
  log "apt-get install ${apt_packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Update the package lists only when they are missing or the install fails
  # on a stale list.
  if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
    as_root apt-get update -q
  fi
  if ! as_root apt-get install -y -q --no-install-recommends "${apt_packages[@]}"; then
    as_root apt-get update -q
    as_root apt-get install -y -q --no-install-recommends "${apt_packages[@]}"
  fi
  python_bin="$(pick_python)"
else
  log "apt packages present"
fi

# --- 2. Python venv --------------------------------------------------------
venv="$repo/.venv"
req_hash="$(printf '%s\n' "${python_requirements[@]}" | hash_of)"
stamp="$venv/.ringcast-requirements.sha256"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$req_hash" ]; then
  log "python venv up to date ($venv)"
else
  log "python venv: installing ${python_requirements[*]}"
  [ -x "$venv/bin/python" ] || "$python_bin" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "${python_requirements[@]}"
  echo "$req_hash" >"$stamp"
fi

# --- 3. Node packages ------------------------------------------------------
node_dir="$repo/scripts/e2e/node"
lock_hash="$(hash_of <"$node_dir/package-lock.json")"
node_stamp="$node_dir/node_modules/.ringcast-lock.sha256"
if [ -f "$node_stamp" ] && [ "$(cat "$node_stamp")" = "$lock_hash" ]; then
  log "node_modules up to date ($node_dir)"
else
  log "npm ci in $node_dir"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" >"$node_stamp"
fi

log "done"
