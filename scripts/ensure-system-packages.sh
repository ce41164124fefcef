#!/usr/bin/env bash
# Install the Debian packages riskmap needs, only those missing (fast when nothing is):
# - PostgreSQL 15 + PostGIS 3 (the embedded database), python3-venv on a bare Debian;
# - Chromium, a CJK font and libatomic1 for the browser tests (tests/web; Playwright for Python
#   drives Debian's Chromium, never a browser download);
# - espeak-ng and mosquitto for warning delivery (api/audio, api/dispatch);
# - nginx, the reverse proxy in front of several API instances (deploy/nginx.conf);
# - Pango for the duty report's PDF (WeasyPrint, geo/duty/render.py), whose Chinese text is set
#   in the same CJK font (fonts-noto-cjk: Noto Sans CJK SC);
# - Node.js + npm to build the web pages (web/), when missing or older than web/package.json's
#   "engines" asks for. A new enough node already on the PATH (nodesource, nvm, …) is used as it
#   is; otherwise Debian's own: Debian 12 has Node 18 with npm 9, which build the pages.
# Extra package names given as arguments are installed too (`make bench` asks for wrk).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(postgresql-15 postgresql-15-postgis-3 postgresql-contrib chromium fonts-noto-cjk "$@")
# the Latin font the map glyphs are made from (scripts/make_glyphs.py; checked by the tests)
packages+=(fonts-dejavu-core)
# the node binary inside the playwright wheel (its driver) links libatomic, which a minimal
# Debian 12 lacks ("libatomic.so.1: cannot open shared object file")
packages+=(libatomic1)
# village broadcast audio: the Mandarin voice of /api/broadcasts/{id}/audio.wav|mp3
packages+=(espeak-ng)
# the daily duty report's PDF: WeasyPrint draws text with Pango (>= 1.44) through fontconfig
# and subsets the embedded fonts with HarfBuzz
packages+=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0)
# the MQTT broker of the delivery tests and the demo (api/dispatch/broker.py starts its own
# process with its own config on a port of its own; Debian's system service is never used)
packages+=(mosquitto)
# the reverse proxy in front of several API instances (deploy/nginx.conf; tests/instances starts
# its own nginx with its own config on a port of its own, never Debian's system service)
packages+=(nginx)
# a fresh Debian's python3 has no venv/ensurepip until python3-venv is installed
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3-venv)
fi

# The oldest Node.js major the web build runs on: web/package.json "engines": {"node": ">=N…"}
node_min=$(sed -n 's/.*"node": *">= *\([0-9][0-9]*\).*/\1/p' web/package.json | head -n 1)
node_min=${node_min:-18}
npm_min=7  # package-lock.json lockfileVersion 3

major() {  # major version in a --version output ("v20.1.0", "11.2.0"); 0 for "none"
    local v=${1#v}
    v=${v%%.*}
    [[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}
versions() {  # node_has, npm_has: what the PATH gives now ("none" when missing or broken)
    hash -r
    node_has=$(node --version 2>/dev/null) || node_has=none
    npm_has=$(npm --version 2>/dev/null) || npm_has=none
}
versions

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for p in "${packages[@]}"; do
    is_installed "$p" || missing+=("$p")
done
# runuser (util-linux) starts the embedded cluster as 'postgres' when we are root
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
# Debian's nodejs when node is missing or too old (an older Debian nodejs is upgraded)
[ "$(major "$node_has")" -ge "$node_min" ] || missing+=(nodejs)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
updated=""

apt_install() {  # quiet apt-get install; on failure say what failed and show apt's last words
    local log
    log=$(mktemp)
    if [ -z "$updated" ]; then
        if ! $SUDO apt-get update -qq >"$log" 2>&1; then
            echo "system packages: FAILED: apt-get update" >&2
            tail -n 20 "$log" >&2
            rm -f "$log"
            exit 1
        fi
        updated=1
    fi
    echo "system packages: installing $*"
    if ! $SUDO apt-get install -y -qq --no-install-recommends "$@" >"$log" 2>&1; then
        echo "system packages: FAILED: apt-get install $*" >&2
        tail -n 30 "$log" >&2
        rm -f "$log"
        exit 1
    fi
    rm -f "$log"
    versions
}

if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
    # Debian's packages start a system-wide cluster on port 5432 and, where an init system
    # runs, a broker on 1883 and nginx on 80; riskmap uses none of them (its own cluster,
    # broker and, in the tests, nginx processes)
fi

# Debian packages npm on its own; nodesource's nodejs carries it (and conflicts with Debian's
# npm), so npm is asked for only when it is still missing after nodejs.
if [ "$(major "$npm_has")" -lt "$npm_min" ] && ! is_installed npm; then
    apt_install npm
fi

if [ "$(major "$node_has")" -lt "$node_min" ] || [ "$(major "$npm_has")" -lt "$npm_min" ]; then
    {
        echo "system packages: FAILED: the web build (web/) needs Node.js >= $node_min and npm >= $npm_min;"
        echo "  found node $node_has ($(command -v node || echo 'not on PATH')), npm $npm_has ($(command -v npm || echo 'not on PATH'))."
        echo "  Install a newer Node.js (Debian 12's nodejs and npm packages will do), or put one first on PATH."
    } >&2
    exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: all present (node $node_has, npm $npm_has)"
else
    echo "system packages: done (node $node_has, npm $npm_has)"
fi
