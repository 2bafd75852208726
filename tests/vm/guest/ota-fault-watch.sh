#!/bin/bash
# Test only (tests/vm/ota-update.test.ts, issue 21 §5): strikes the appliance at OTA states.
# Run by lucid-fault-watch.service, which starts before the appliance's slot step at every boot.
# The plan is one line on the host's share, `<action> <phase> [<phase> …]`; for each phase in
# turn it waits until the agent's state file first says that phase, then:
#   agent       kill -9 of the ota-agent process
#   supervisor  kill -9 of the unit's main process (systemd restarts the unit)
#   power       freezes the unit's cgroup (nothing of the appliance runs on) and stops: the
#               host cuts the power (SIGKILL of qemu) once it reads the hit
# Each hit is a line in /run/lucid-fault/hits: `<phase> <action> <pid|frozen|none> <phase seen>`.
# The agent replaces the state file by rename, so a read sees one whole state. It is read every
# 20 ms with builtins only (the wait is a timed read on a FIFO nobody writes: no fork), so
# polling costs the emulated guest next to nothing; the shortest state here (`fetching` of a
# one-layer update from a bundle) lasts several hundred ms under emulation.
set -u
DATA=/var/lib/lucid/data
STATE=$DATA/ota/state.json
OUT=/run/lucid-fault
UNIT=lucid-appliance.service
mkdir -p "$OUT"
read -r action phases < /mnt/host/fault-plan || { echo "no plan" >&2; exit 1; }
[ "$action" = none ] && exit 0
: > "$OUT/hits" # this plan's hits only (a boot can run several plans)
rm -f "$OUT/tick"; mkfifo "$OUT/tick"; exec {tick}<>"$OUT/tick"

now=''
read_phase() {
  local s=''
  now=''
  read -r -d "" s 2>/dev/null < "$STATE"
  if [[ $s =~ \"phase\":\"([a-z]+)\" ]]; then now=${BASH_REMATCH[1]}; fi
}

# The process the action kills, found with builtins only (a fork per process took seconds under
# emulation, long enough for the agent to reach its next state): sets $found.
case "$action" in
  agent) PATTERN=entries/ota-agent.mjs ;;
  *) PATTERN=entries/supervisor.mjs ;; # the unit's main process
esac
found=''
target() {
  local p a
  found=''
  for p in /proc/[0-9]*; do
    mapfile -d '' a 2>/dev/null < "$p/cmdline" || continue
    if [[ ${a[*]} == *"$PATTERN"* ]]; then found=${p#/proc/}; return; fi
  done
}

strike() {
  local pid=none p
  case "$action" in
    agent|supervisor)
      target
      if [ -n "$found" ] && kill -9 "$found" 2>/dev/null; then pid=$found; fi ;;
    power)
      echo 1 > "/sys/fs/cgroup/system.slice/$UNIT/cgroup.freeze" && pid=frozen ;;
  esac
  read_phase
  killed=$pid
  echo "$1 $action $pid $now" >> "$OUT/hits"
  echo "hit: $1 $action $pid, state now $now" >&2
}

echo "plan: $action at $phases" >&2
last=''
for want in $phases; do
  while :; do
    read_phase
    if [ "$now" != "$last" ]; then echo "state: $now (waiting for $want)" >&2; last=$now; fi
    [ "$now" = "$want" ] && break
    read -r -t 0.02 -u "$tick" _ || true
  done
  strike "$want"
  # The update lock the test's finalizer child held to keep the agent in `staged` is let go.
  [ "$want" = staged ] && [ "$action" != power ] && rm -f "$DATA/hold-update-lock"
  [ "$action" = power ] && exit 0
  # The killed agent may have written the next state just before it died: the next strike waits
  # for its successor (restarted by the supervisor, or the unit by systemd), which resumes from
  # that state, so every kill hits a live process in the state it names.
  while :; do
    target
    [ -n "$found" ] && [ "$found" != "$killed" ] && break
    read -r -t 0.05 -u "$tick" _ || true
  done
  echo "successor: $found" >&2
done
exit 0
