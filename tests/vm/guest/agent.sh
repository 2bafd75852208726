#!/bin/sh
# The test agent of both guests (bash in the full guest, busybox ash in the lean one), on the
# second serial port: one request per line, "<id> <base64 of a shell script>"; the answer is
# "@@out <id> <base64 stdout>@@", "@@err <id> <base64 stderr>@@", "@@rc <id> <exit code>@@".
# Each start announces itself with the kernel's boot id, so the host can tell a reboot.
# The host side is tests/vm/harness/agent.ts. Scripts run as root, one at a time.
tty=${LUCID_AGENT_TTY:-/dev/ttyS1}
stty -F "$tty" raw -echo -onlcr -icrnl 115200
exec <"$tty" >"$tty" 2>/dev/null
shell=sh
command -v bash >/dev/null && shell=bash
printf '\n@@agent-ready %s@@\n' "$(cat /proc/sys/kernel/random/boot_id)"
while IFS= read -r line; do
  id=${line%% *}
  [ -n "$id" ] || continue
  printf '%s' "${line#* }" | base64 -d > /run/lucid-agent.sh 2>/dev/null
  $shell /run/lucid-agent.sh </dev/null >/run/lucid-agent.out 2>/run/lucid-agent.err
  rc=$?
  printf '@@out %s %s@@\n' "$id" "$(base64 -w0 /run/lucid-agent.out)"
  printf '@@err %s %s@@\n' "$id" "$(base64 -w0 /run/lucid-agent.err)"
  printf '@@rc %s %s@@\n' "$id" "$rc"
done
