#!/usr/bin/env bash
# Postfix tcp_table(5) server for virtual_mailbox_maps, one connection per smtpd (run by socat).
# A recipient exists when its Dovecot passwd-file users.d/<address> exists: the one source of
# truth, so a user added by a test is accepted at RCPT at once (a hash: map would be stale in
# smtpd processes that are already running).
dir="$1"
while IFS= read -r line; do
  line="${line%$'\r'}"
  key="${line#get }"
  key="$(printf '%b' "${key//%/\\x}")"  # tcp_table URL-encodes whitespace, % and controls
  key="${key,,}"
  # Postfix does not strip address extensions for tcp tables: user+tag@d is user@d here.
  local_part="${key%@*}"
  [[ "$key" == *@* && "$local_part" == *+* ]] && key="${local_part%%+*}@${key##*@}"
  if [[ "$line" == get\ * && "$key" == ?*@?* && "$key" != */* && -f "$dir/users.d/$key" ]]; then
    echo "200 OK"
  else
    echo "500 not%20found"
  fi
done
