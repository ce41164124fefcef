#!/usr/bin/env bash
# Install the Debian packages riskmap needs, only those missing (fast when nothing is).
set -euo pipefail

packages=(postgresql-15 postgresql-15-postgis-3 postgresql-contrib "$@")  # + extra ones asked for
# a fresh Debian's python3 has no venv/ensurepip until python3-venv is installed
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
# runuser (util-linux) starts the embedded cluster as 'postgres' when we are root
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)

if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: all present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's package starts a system-wide cluster on port 5432; riskmap does not use it
echo "system packages: done"
