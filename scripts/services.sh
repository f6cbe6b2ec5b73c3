#!/usr/bin/env bash
# Install (if missing) and start every service the test suite needs, on 127.0.0.1 only.
# Idempotent: safe to run again while services are up. Needs root (or sudo) for apt-get.
#   scripts/services.sh up      install + start PostgreSQL, Postfix + Dovecot, check Chromium
#   scripts/services.sh down    stop what it started
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
action="${1:-up}"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(postgresql postfix dovecot-imapd dovecot-lmtpd chromium swaks socat postfix-pcre)
APT_PACKAGES+=(opendkim opendkim-tools)  # DKIM signing milter for the test Postfix (deliverability)
APT_PACKAGES+=(nodejs libnet-ssleay-perl libio-socket-ssl-perl)  # benchmark references: Node; swaks --tls

missing_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

install_packages() {
  local missing
  missing="$(missing_packages | tr '\n' ' ')"
  [ -z "${missing// /}" ] && return 0
  echo "services: installing $missing"
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  echo "postfix postfix/mailname string fluenzr.test" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

start_postgres() {
  local version
  version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
  if ! pg_lsclusters -h 2>/dev/null | grep -q "^$version main"; then
    $SUDO pg_createcluster "$version" main >/dev/null
  fi
  if ! pg_lsclusters -h | grep "^$version main" | grep -q online; then
    $SUDO pg_ctlcluster "$version" main start
  fi
  as_postgres psql -q -v ON_ERROR_STOP=1 <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'fluenzr') THEN
    CREATE ROLE fluenzr LOGIN SUPERUSER PASSWORD 'fluenzr';
  END IF;
END $$;
SQL
  echo "services: postgresql $version up on 127.0.0.1:5432"
}

stop_postgres() {
  local version
  version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
  $SUDO pg_ctlcluster "$version" main stop 2>/dev/null || true
}

# The benchmarks' Node references, from their lock files, so the benchmark smoke test
# (tests/integration/test_benchmarks_smoke.py) never downloads anything itself.
install_bench_references() {
  local dir
  command -v npm >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
  for dir in "$here"/../benchmarks/*/; do
    if [ -f "$dir/package-lock.json" ] && [ ! -d "$dir/node_modules" ]; then
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  done
}

case "$action" in
  up)
    install_packages
    install_bench_references
    start_postgres
    if [ -x "$here/mailservers.sh" ]; then "$here/mailservers.sh" up; fi
    ;;
  down)
    if [ -x "$here/mailservers.sh" ]; then "$here/mailservers.sh" down || true; fi
    stop_postgres
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
