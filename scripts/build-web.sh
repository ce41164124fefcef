#!/usr/bin/env bash
# The web pages (web/), for `make setup`: `npm ci` from the committed package-lock.json when
# package.json or the lock changed, then `npm run build` (tsc + vite into api/webapp/) when any
# web source changed; otherwise nothing (a second `make test` is fast). The stamps live in what
# they stand for (web/node_modules/.riskmap-installed, api/webapp/.riskmap-built), so deleting
# either folder redoes that step. Quiet when all goes well; on a failure it shows the step's own
# output and says which step failed.
#   build-web.sh            both steps, each only when needed
#   build-web.sh install    npm ci now;   build-web.sh build    the build now
set -euo pipefail
cd "$(dirname "$0")/.."

step=${1:-auto}
MODULES_STAMP=web/node_modules/.riskmap-installed
BUILT_STAMP=api/webapp/.riskmap-built
# what the build reads: file names may hold spaces (fonts), so find, not make, compares them
SOURCES=(web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json
         web/index.html web/wall.html web/resources.html web/src web/public "$MODULES_STAMP")

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "web: FAILED: node and npm are needed to build the web pages; run \`make setup\`" >&2
    exit 1
fi

log=$(mktemp)
started=$(mktemp)  # a step's start time: what changes while it runs is seen the next time
trap 'rm -f "$log" "$started"' EXIT

changed_since() {  # stamp path…: true when the stamp is missing or anything listed is newer
    local stamp=$1
    shift
    [ -f "$stamp" ] || return 0
    local existing=()
    for p in "$@"; do [ -e "$p" ] && existing+=("$p"); done
    [ -n "$(find "${existing[@]}" -newer "$stamp" -print -quit)" ]
}

run() {  # run "what" cmd…: the command's output goes to the log, shown only when it fails
    local what=$1
    shift
    if ! (cd web && "$@") >"$log" 2>&1; then
        cat "$log" >&2
        echo "web: FAILED: $what (in web/: $*; node $(node --version), npm $(npm --version))" >&2
        exit 1
    fi
}

install() {
    touch "$started"
    echo "web: installing the pinned node packages (npm ci, node $(node --version), npm $(npm --version))"
    run "npm ci could not install web/package-lock.json" \
        npm ci --no-audit --no-fund --loglevel=error
    touch -r "$started" "$MODULES_STAMP"
}

build() {
    touch "$started"
    echo "web: building the pages into api/webapp/ (tsc + vite)"
    run "the web build (npm run build: tsc --noEmit && vite build)" npm run build
    if [ ! -f api/webapp/index.html ]; then
        echo "web: FAILED: the build wrote no api/webapp/index.html" >&2
        exit 1
    fi
    touch -r "$started" "$BUILT_STAMP"
    echo "web: done ($(find api/webapp -type f -not -name '.*' | wc -l) files in api/webapp/)"
}

case "$step" in
    auto)
        if changed_since "$MODULES_STAMP" web/package.json web/package-lock.json; then
            install
        fi
        if changed_since "$BUILT_STAMP" "${SOURCES[@]}"; then
            build
        fi
        ;;
    install) install ;;
    build) build ;;
    *)
        echo "usage: build-web.sh [install|build]" >&2
        exit 2
        ;;
esac
