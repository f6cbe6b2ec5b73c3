#!/usr/bin/env bash
# Test mail servers for FluenzR: Postfix + Dovecot on 127.0.0.1 high ports only, domain fluenzr.test.
#   scripts/mailservers.sh up       generate config (once), start both (idempotent, ~1 s when installed)
#   scripts/mailservers.sh down     stop both
#   scripts/mailservers.sh status   exit 0 when every port answers
# Ports (fixed; tests/support/mailservers.py mirrors them):
#   10025 SMTP plain, no AUTH, no STARTTLS (deliver test mail to local users)
#   10587 submission, STARTTLS required + AUTH      10465 submissions, implicit TLS + AUTH
#   10588 submission like 10587 with an anvil limit of 3 messages/20 s → "450 4.7.1 ... too much mail"
#   10143 IMAP (STARTTLS offered)                    10993 IMAPS
#   10891 OpenDKIM milter (signs mail from dkim-*@fluenzr.test; scripts/mailservers/opendkim.conf)
# Everything lives under $FLUENZR_MAIL_DIR (default /var/lib/fluenzr-test-mail); see docs/mail-servers.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
action="${1:-up}"
DIR="${FLUENZR_MAIL_DIR:-/var/lib/fluenzr-test-mail}"
TEMPLATES="$here/mailservers"
PORTS=(10025 10587 10465 10588 10143 10993)
LOOKUP_PORT=10029  # internal: Postfix asks it whether a recipient exists

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

all_ports_open() {
  local p
  for p in "${PORTS[@]}"; do port_open "$p" || return 1; done
}

render() {  # render TEMPLATE DEST: substitute @DIR@ (the only variable in the templates)
  sed -e "s|@DIR@|$DIR|g" "$TEMPLATES/$1" >"$2"
}

make_certs() {
  local tls="$DIR/tls"
  [ -s "$tls/server.pem" ] && [ -s "$tls/ca.crt" ] && return 0
  mkdir -p "$tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
    -subj "/O=FluenzR tests/CN=FluenzR Test CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/O=FluenzR tests/CN=mail.fluenzr.test" -keyout "$tls/server.key" \
    -out "$tls/server.csr" 2>/dev/null
  cat >"$tls/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:mail.fluenzr.test
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EXT
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 3650 -extfile "$tls/server.ext" -out "$tls/server.crt" 2>/dev/null
  cat "$tls/server.crt" "$tls/ca.crt" >"$tls/fullchain.pem"
  cat "$tls/server.key" "$tls/fullchain.pem" >"$tls/server.pem"
  chmod 0644 "$tls/ca.crt" "$tls/server.crt" "$tls/fullchain.pem"
  chmod 0600 "$tls/ca.key" "$tls/server.key" "$tls/server.pem"
}

install_file() {  # install_file TEMPLATE DEST: render; report "changed" when DEST differs
  local tmp
  tmp="$(mktemp)"
  render "$1" "$tmp"
  if cmp -s "$tmp" "$2"; then rm -f "$tmp"; else mv "$tmp" "$2" && chmod 0644 "$2" && echo changed; fi
}

configure() {  # prints "changed" when a running server must reload its configuration
  local fresh=""
  [ -d "$DIR/postfix/queue" ] || fresh=1
  mkdir -p "$DIR"/{postfix,postfix/queue,postfix/data,dovecot,run,log,vmail,users.d}
  # Users are added at runtime by tests (tests/support/mailservers.py): a passwd-file per user
  # in users.d/<email>, read by Dovecot and by Postfix's recipient lookup (user-lookup.sh).
  # World-writable on purpose: a test run as a normal user must be able to add users.
  chmod 0777 "$DIR/users.d"
  chown mail:mail "$DIR/vmail"
  chmod 0755 "$DIR" "$DIR/log"
  local changed  # not "| grep -q": grep exiting early would kill the remaining installs
  changed="$(
    install_file postfix-main.cf "$DIR/postfix/main.cf"
    install_file postfix-master.cf "$DIR/postfix/master.cf"
    install_file dovecot.conf "$DIR/dovecot/dovecot.conf"
    install_file dovecot-oauth2.conf.ext "$DIR/dovecot/dovecot-oauth2.conf.ext"
  )"
  if [ -n "$changed" ]; then echo changed; fi
  if [ -n "$fresh" ]; then postfix -c "$DIR/postfix" set-permissions >/dev/null 2>&1 || true; fi
  return 0
}

raise_limits() {
  # Detection watches 1,000 mailboxes with IDLE: each Dovecot imap process needs an inotify
  # instance. Best effort: a container may not let us write sysctls.
  local f=/proc/sys/fs/inotify/max_user_instances
  if [ -w "$f" ] && [ "$(cat "$f")" -lt 8192 ]; then echo 8192 >"$f" 2>/dev/null || true; fi
  f=/proc/sys/fs/inotify/max_user_watches
  if [ -w "$f" ] && [ "$(cat "$f")" -lt 524288 ]; then echo 524288 >"$f" 2>/dev/null || true; fi
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
}

start() {  # start [changed]: start what is down; reload what runs on a changed configuration
  raise_limits
  if [ -S "$DIR/run/dovecot/master" ] && doveadm -c "$DIR/dovecot/dovecot.conf" who >/dev/null 2>&1; then
    [ "${1:-}" = changed ] && doveadm -c "$DIR/dovecot/dovecot.conf" reload
  else
    dovecot -c "$DIR/dovecot/dovecot.conf"
  fi
  if ! port_open "$LOOKUP_PORT"; then
    setsid socat "TCP-LISTEN:$LOOKUP_PORT,bind=127.0.0.1,fork,reuseaddr" \
      EXEC:"$TEMPLATES/user-lookup.sh $DIR" </dev/null >>"$DIR/log/user-lookup.log" 2>&1 &
    echo $! >"$DIR/run/user-lookup.pid"
  fi
  if postfix -c "$DIR/postfix" status >/dev/null 2>&1; then
    [ "${1:-}" = changed ] && postfix -c "$DIR/postfix" reload >/dev/null 2>&1
  else
    postfix -c "$DIR/postfix" start >/dev/null 2>&1
  fi
  local i
  for i in $(seq 1 50); do
    all_ports_open && return 0
    sleep 0.1
  done
  echo "mailservers: ports did not open; see $DIR/log/" >&2
  tail -n 20 "$DIR/log/postfix.log" "$DIR/log/dovecot.log" >&2 || true
  return 1
}

DKIM_PORT=10891

start_opendkim() {  # the DKIM signing milter; key made once, public record in opendkim/fz1.txt
  command -v opendkim >/dev/null || return 0
  local d="$DIR/opendkim"
  mkdir -p "$d"
  if [ ! -s "$d/fz1.private" ]; then
    opendkim-genkey -b 2048 -d fluenzr.test -s fz1 -D "$d" >/dev/null 2>&1
  fi
  echo "fz1._domainkey.fluenzr.test fluenzr.test:fz1:$d/fz1.private" >"$d/key.table"
  echo "dkim-*@fluenzr.test fz1._domainkey.fluenzr.test" >"$d/signing.table"
  render opendkim.conf "$d/opendkim.conf"
  chown -R opendkim:opendkim "$d" && chmod 0700 "$d" && chmod 0600 "$d/fz1.private"
  chmod 0755 "$d" && chmod 0644 "$d/fz1.txt"  # the public record is read by tests
  port_open "$DKIM_PORT" && return 0
  opendkim -x "$d/opendkim.conf" 2>>"$DIR/log/opendkim.log" || {
    echo "mailservers: opendkim did not start; see $DIR/log/opendkim.log" >&2
    return 1
  }
  local i
  for i in $(seq 1 50); do port_open "$DKIM_PORT" && return 0; sleep 0.1; done
  echo "mailservers: opendkim port $DKIM_PORT did not open" >&2
  return 1
}

stop() {
  postfix -c "$DIR/postfix" stop >/dev/null 2>&1 || true
  doveadm -c "$DIR/dovecot/dovecot.conf" stop >/dev/null 2>&1 || true
  if [ -s "$DIR/run/opendkim.pid" ]; then
    kill "$(cat "$DIR/run/opendkim.pid")" 2>/dev/null || true
    rm -f "$DIR/run/opendkim.pid"
  fi
  if [ -s "$DIR/run/user-lookup.pid" ]; then
    kill "$(cat "$DIR/run/user-lookup.pid")" 2>/dev/null || true
    rm -f "$DIR/run/user-lookup.pid"
  fi
}

need_tools() {
  local t
  for t in postfix dovecot doveadm openssl socat; do
    command -v "$t" >/dev/null || {
      echo "mailservers: $t missing (install: postfix dovecot-imapd dovecot-lmtpd socat)" >&2
      exit 1
    }
  done
}

case "$action" in
  up)
    need_tools
    make_certs
    start "$(configure)"
    start_opendkim
    echo "mailservers: postfix 10025/10587/10465/10588 + dovecot 10143/10993 up on 127.0.0.1 ($DIR)"
    ;;
  down) stop ;;
  status) all_ports_open ;;
  restart) "$0" down && "$0" up ;;
  *) echo "usage: $0 up|down|status|restart" >&2; exit 2 ;;
esac
