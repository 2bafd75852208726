#!/bin/sh
# The host side of A/B updates (ota/README.md "Slots and the trial"), installed by the .deb as
# /usr/libexec/lucid-appliance/lucid-ota-boot. It runs as root before every start of
# lucid-appliance.service (`lucid-slot prestart` calls `start` first, in
# lucid-appliance-slot.service), and a timer runs `watch` every minute; the image has no shell,
# the host has one. It alone decides which slot boots:
#
#   lucid-ota-boot.sh start   pick the slot for this start: commit or roll back a trial, begin a
#                             requested trial, count trial boots; point `active` at the slot
#   lucid-ota-boot.sh watch   while the appliance runs: record a commit, and end a trial that has
#                             not committed within LUCID_OTA_TRIAL_TIMEOUT_S (restart → rollback)
#   lucid-ota-boot.sh init SLOT   mark SLOT the committed slot (first install)
#
# Layout under LUCID_OTA_ROOT (default /var/lib/lucid):
#   slots/a, slots/b     rootfs/ (the image), slot.json, layers/, owners, ready (written by the agent)
#   active -> slots/X    the slot the next start boots (lucid-slot mounts it at root/, the unit's
#                        RootDirectory=: systemd 252 refuses a RootDirectory= through a symlink)
#   boot/state           key=value (committed=, trial=, boots=, last_*), written only here (root);
#                        boot/history, one line per outcome
#   data/ota/host/       requests the agent (uid 65532) writes: trial, commit, fail
# Nothing the agent writes is executed or evaluated: values are matched against patterns, paths
# are never followed through symlinks, and setuid/setgid bits are never restored.
set -eu
umask 022

ROOT=${LUCID_OTA_ROOT:-/var/lib/lucid}
DATA=${LUCID_OTA_DATA_DIR:-$ROOT/data}
REQ=$DATA/ota/host
STATE=$ROOT/boot/state
MAX_BOOTS=${LUCID_OTA_MAX_BOOTS:-3}
TRIAL_TIMEOUT_S=${LUCID_OTA_TRIAL_TIMEOUT_S:-1800}
AGENT_OWNER=${LUCID_OTA_AGENT_OWNER:-65532:65532}
RESTART_CMD=${LUCID_OTA_RESTART_CMD-systemctl restart --no-block lucid-appliance.service}
NOW=${LUCID_OTA_NOW:-$(date +%s)}

log() { printf 'lucid-ota-boot: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

valid_slot() { case $1 in a|b) return 0 ;; *) return 1 ;; esac; }
valid_id() { printf '%s' "$1" | grep -Eq '^[A-Za-z0-9._+-]{1,80}$'; }
other() { if [ "$1" = a ]; then echo b; else echo a; fi; }
clean_reason() { printf '%s' "$1" | tr -cd '[:print:]' | tr '=' ':' | cut -c1-300; }

# key=value reader: prints the value of $2 in file $1 (first match), nothing if absent.
get() {
  [ -f "$1" ] && [ ! -L "$1" ] || return 0
  sed -n "s/^$2=//p" "$1" | head -n 1
}

load_state() {
  # A host installed before this step existed (or by hand): adopt the slot `active` points at.
  if [ ! -f "$STATE" ]; then
    cur=$(readlink "$ROOT/active" 2>/dev/null || true)
    case $cur in slots/a|slots/b) cmd_init "${cur#slots/}"; log "initialised boot state: committed slot ${cur#slots/}" ;; esac
  fi
  committed=$(get "$STATE" committed); trial=$(get "$STATE" trial); trial_id=$(get "$STATE" trial_id)
  trial_version=$(get "$STATE" trial_version); boots=$(get "$STATE" boots); trial_started=$(get "$STATE" trial_started)
  last_id=$(get "$STATE" last_id); last_outcome=$(get "$STATE" last_outcome); last_reason=$(get "$STATE" last_reason)
  last_version=$(get "$STATE" last_version); last_at=$(get "$STATE" last_at); seq=$(get "$STATE" seq)
  release=$(get "$STATE" release)
  valid_slot "${committed:-}" || die "no valid committed slot in $STATE (run: $0 init a)"
  case ${boots:-0} in ''|*[!0-9]*) boots=0 ;; esac
  case ${seq:-0} in ''|*[!0-9]*) seq=0 ;; esac
  case ${trial_started:-0} in ''|*[!0-9]*) trial_started=0 ;; esac
}

# Atomic and durable: temp file, fsync (sync FILE), rename, fsync of the directory.
save_state() {
  seq=$((seq + 1))
  mkdir -p "$ROOT/boot"
  tmp=$STATE.tmp.$$
  {
    printf 'seq=%s\ncommitted=%s\ntrial=%s\ntrial_id=%s\ntrial_version=%s\nboots=%s\ntrial_started=%s\nmax_boots=%s\n' \
      "$seq" "$committed" "${trial:-}" "${trial_id:-}" "${trial_version:-}" "${boots:-0}" "${trial_started:-0}" "$MAX_BOOTS"
    printf 'last_id=%s\nlast_outcome=%s\nlast_reason=%s\nlast_version=%s\nlast_at=%s\nrelease=%s\n' \
      "${last_id:-}" "${last_outcome:-}" "${last_reason:-}" "${last_version:-}" "${last_at:-}" "${release:-}"
  } > "$tmp"
  sync "$tmp"
  mv -f "$tmp" "$STATE"
  sync "$ROOT/boot"
}

point_active() {
  if [ "$(readlink "$ROOT/active" 2>/dev/null || true)" != "slots/$1" ]; then
    ln -sfn "slots/$1" "$ROOT/active.tmp.$$"
    mv -Tf "$ROOT/active.tmp.$$" "$ROOT/active"
    sync "$ROOT"
  fi
}

# The trial's outcome, kept in state (last_*) and appended to boot/history.
outcome() { # outcome committed|rolled-back REASON
  last_id=$trial_id; last_outcome=$1; last_reason=$(clean_reason "$2"); last_version=$trial_version; last_at=$NOW
  printf '%s id=%s version=%s slot=%s outcome=%s boots=%s reason=%s\n' "$NOW" "$trial_id" "$trial_version" "$trial" "$1" "$boots" "$last_reason" >> "$ROOT/boot/history"
  if [ "$(wc -l < "$ROOT/boot/history")" -gt 200 ]; then
    tail -n 100 "$ROOT/boot/history" > "$ROOT/boot/history.tmp.$$" && mv -f "$ROOT/boot/history.tmp.$$" "$ROOT/boot/history"
  fi
  log "trial $trial_id ($trial_version in slot $trial): $1${2:+ — $last_reason}"
}

end_trial() {
  trial=; trial_id=; trial_version=; boots=0; trial_started=0
}

# A slot that is not booting may be rewritten by the agent: hand it to the agent's user.
release_slot() {
  s=$1
  [ -d "$ROOT/slots/$s" ] && [ ! -L "$ROOT/slots/$s" ] || return 0
  rm -f "$ROOT/slots/$s/ready"
  chown -hR "$AGENT_OWNER" "$ROOT/slots/$s"
}

# Before a slot boots: owned by root as the image says (the agent unpacked it as its own user),
# exceptions from slots/X/owners applied without following symlinks, no setuid/setgid ever.
seal_slot() {
  s=$1; dir=$ROOT/slots/$s; fs=$dir/rootfs
  [ -d "$fs" ] && [ ! -L "$fs" ] && [ ! -L "$dir" ] || return 1
  chown -hR 0:0 "$dir"
  real=$(cd "$fs" && pwd -P)
  if [ -f "$dir/owners" ] && [ ! -L "$dir/owners" ]; then
    while read -r uid gid mode path; do
      case $uid$gid in ''|*[!0-9]*) continue ;; esac
      case $mode in ''|*[!0-7]*) continue ;; esac
      case /$path/ in *'/../'*|'//'*) continue ;; esac
      parent=$(dirname "$path")
      [ "$parent" = . ] || [ "$(cd "$fs/$parent" 2>/dev/null && pwd -P)" = "$real/$parent" ] || continue
      [ -e "$fs/$path" ] || [ -L "$fs/$path" ] || continue
      chown -h "$uid:$gid" "$fs/$path"
      [ -L "$fs/$path" ] || chmod "$(printf '%o' $((0$mode & 01777)))" "$fs/$path"
    done < "$dir/owners"
  fi
  sync -f "$fs" 2>/dev/null || sync
}

# A commit or fail request from the agent for the running trial.
settle_trial() { # sets $settled to committed|rolled-back|''
  settled=
  [ -n "${trial:-}" ] || return 0
  if [ "$(get "$REQ/commit" id)" = "$trial_id" ]; then
    committed=$trial; outcome committed "$(get "$REQ/commit" reason)"; settled=committed
  elif [ "$(get "$REQ/fail" id)" = "$trial_id" ]; then
    outcome rolled-back "$(get "$REQ/fail" reason)"; settled=rolled-back
  fi
}

# After a settled trial: clear it; the slot that does not boot goes to the agent (at once, or —
# while the appliance still runs from it — at the next start, through `release`).
finish() { # finish now|later
  end_trial
  if [ "$1" = now ]; then release=; else release=$(other "$committed"); fi
  save_state
  rm -f "$REQ/commit" "$REQ/fail"
  [ "$1" = later ] || release_slot "$(other "$committed")"
}

cmd_start() {
  load_state
  settle_trial
  if [ -z "$settled" ] && [ -n "${trial:-}" ]; then
    if [ "$boots" -ge "$MAX_BOOTS" ]; then
      outcome rolled-back "no commit after $boots boots (crash loop or failed start)"; settled=rolled-back
    else
      boots=$((boots + 1)); save_state; point_active "$trial"
      log "trial boot $boots of $MAX_BOOTS: $trial_version in slot $trial"
      return 0
    fi
  fi
  [ -z "$settled" ] || finish now
  if [ -n "${release:-}" ]; then
    valid_slot "$release" && [ "$release" != "$committed" ] && release_slot "$release"
    release=; save_state
  fi
  # A new trial the agent asked for: the slot it staged (or the previous one, for a rollback).
  r_slot=$(get "$REQ/trial" slot); r_id=$(get "$REQ/trial" id); r_version=$(get "$REQ/trial" version)
  if [ -n "$r_slot" ]; then
    if valid_slot "$r_slot" && [ "$r_slot" != "$committed" ] && valid_id "$r_id" && valid_id "${r_version:-}" \
       && [ "$(get "$ROOT/slots/$r_slot/ready" id)" = "$r_id" ] && seal_slot "$r_slot"; then
      trial=$r_slot; trial_id=$r_id; trial_version=$r_version; boots=1; trial_started=$NOW
      save_state
      mv -f "$REQ/trial" "$REQ/trial.taken"
      point_active "$trial"
      log "trial boot 1 of $MAX_BOOTS: $trial_version in slot $trial (id $trial_id)"
      return 0
    fi
    log "ignoring an invalid trial request (slot=$r_slot id=$r_id): the slot is not ready"
    mv -f "$REQ/trial" "$REQ/trial.invalid"
  fi
  point_active "$committed"
}

# Root never writes into the agent's folder (data/ota/host): a symlink planted there would
# redirect the write. A trial that timed out is settled here, in boot/state, and restarted.
cmd_watch() {
  load_state
  [ -n "${trial:-}" ] || return 0
  settle_trial
  if [ "$settled" = committed ]; then finish now; return 0; fi
  if [ -z "$settled" ]; then
    [ $((NOW - trial_started)) -ge "$TRIAL_TIMEOUT_S" ] || return 0
    outcome rolled-back "no commit within ${TRIAL_TIMEOUT_S} s of the trial start"
  fi
  finish later
  echo restart
  [ -z "$RESTART_CMD" ] || $RESTART_CMD
}

cmd_init() {
  s=${1:-}; valid_slot "$s" || die "usage: $0 init a|b"
  mkdir -p "$ROOT/slots/a" "$ROOT/slots/b" "$ROOT/boot"
  committed=$s; seq=0; end_trial
  save_state
  point_active "$s"
  release_slot "$(other "$s")"
}

# `start` (before each start) and `watch` (the timer) may run at the same moment: one at a time.
mkdir -p "$ROOT/boot"
exec 9>"$ROOT/boot/lock"
flock 9

case ${1:-} in
  start) cmd_start ;;
  watch) cmd_watch ;;
  init) shift; cmd_init "$@" ;;
  *) echo "usage: $0 start|watch|init SLOT" >&2; exit 2 ;;
esac
