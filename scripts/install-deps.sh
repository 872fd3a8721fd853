#!/bin/bash
# scripts/install-deps.sh - install every Debian 12 package needed to build
# envsync and run its whole test suite (real MariaDB, PostgreSQL, S3).
#
# Run as root on Debian 12.  Idempotent: when dpkg says every package is
# already installed it does nothing (and does not need root).  Otherwise it
# runs `apt-get update` once and installs the missing set without
# recommends.  Package postinst scripts are kept from starting system
# services (a policy-rc.d that exits 101): the test rig starts its own
# throwaway servers (tests/rig/start.sh).
#
#   scripts/install-deps.sh           install what is missing
#   scripts/install-deps.sh --list    print the package list and exit
#   scripts/install-deps.sh --check   exit 0 if all installed, 1 if not
set -euo pipefail

PACKAGES=(
    # build
    build-essential autoconf automake libtool pkg-config
    # libraries (configure.ac, through pkg-config)
    libconfig-dev libcurl4-openssl-dev libssl-dev libarchive-dev libzstd-dev
    zlib1g-dev libjansson-dev libxml2-dev libpq-dev libmariadb-dev
    # unit tests, memory checks
    check valgrind
    # real servers for the integration tests (tests/rig)
    postgresql-15 postgresql-client-15 postgresql-contrib
    mariadb-server mariadb-client
    swift swift-proxy swift-object swift-container swift-account memcached
    # tools used by tests and the rig
    curl python3 zstd procps iproute2 ca-certificates
    # deploy/tests: YAML lint, the generator, schema checks run by node
    yamllint python3-yaml nodejs
    # bench/ comparisons (bench/*/bench.sh), not needed by make check
    mydumper pgcopydb awscli
)
# deploy/tests: kubectl (Kustomize) and npm from Debian unless the machine
# has them already (another vendor's kubectl or nodejs package ships the
# same files and would conflict)
command -v kubectl >/dev/null 2>&1 || PACKAGES+=(kubernetes-client)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

log() { echo "install-deps: $*" >&2; }

missing() {
    local p st
    for p in "${PACKAGES[@]}"; do
        st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
        case $st in ii*) ;; *) echo "$p" ;; esac
    done
}

case ${1:-} in
    --list)  printf '%s\n' "${PACKAGES[@]}"; exit 0 ;;
    --check) [ -z "$(missing)" ]; exit ;;
    "") ;;
    *) echo "usage: $0 [--list|--check]" >&2; exit 2 ;;
esac

mapfile -t todo < <(missing)
if [ ${#todo[@]} -eq 0 ]; then
    log "all ${#PACKAGES[@]} packages installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    log "missing packages: ${todo[*]}"
    log "run this script as root (apt-get install is needed)"
    exit 1
fi
log "installing ${#todo[@]} missing package(s): ${todo[*]}"

# Keep postinst scripts from starting services (there is no init system
# here, and the rig wants the ports).  Leave an existing policy alone.
made_policy=0
cleanup() {
    if [ "$made_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap cleanup EXIT
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# installed by envsync scripts/install-deps.sh\nexit 101\n' \
        > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for another apt/dpkg run instead of failing on its lock.
APT=(apt-get -q -o DPkg::Lock::Timeout=600)
"${APT[@]}" update
"${APT[@]}" install -y --no-install-recommends "${PACKAGES[@]}"

mapfile -t todo < <(missing)
if [ ${#todo[@]} -ne 0 ]; then
    log "still missing after apt-get install: ${todo[*]}"
    exit 1
fi
log "done"
