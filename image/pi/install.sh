#!/bin/sh
# Installs (or updates to) a Lucid appliance image on a Debian-based host such as Raspberry Pi
# OS Lite (arm64), with no container engine: umoci unpacks the image's platform into a slot,
# /var/lib/lucid/current points at it, and systemd starts it (lucid-appliance.service).
# This is host-side tooling: the image itself has no shell.
#
#   sudo sh install.sh [--arch arm64|amd64] [--prefix DIR] [--no-activate] lucid-appliance-<version>.oci.tar
#
# --prefix DIR installs under DIR instead of / (for tests and for preparing an SD card's root
# file system); --no-activate skips users, udev and systemctl (implied by --prefix).
set -eu

arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
prefix=
activate=1
while [ $# -gt 1 ]; do
  case $1 in
    --arch) arch=$2; shift 2 ;;
    --prefix) prefix=$2; activate=0; shift 2 ;;
    --no-activate) activate=0; shift ;;
    *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: install.sh [--arch A] [--prefix DIR] [--no-activate] IMAGE.oci.tar" >&2; exit 2; }
archive=$1
case $arch in aarch64) arch=arm64 ;; x86_64) arch=amd64 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
lucid=$prefix/var/lib/lucid
command -v umoci >/dev/null || { echo "install.sh: umoci is missing: apt-get install umoci" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xf "$archive" -C "$work"
# The layout names each platform's image <version>-<arch> (umoci cannot pick one from an index).
ref=$(umoci ls --layout "$work" | grep -- "-$arch\$" | head -n 1)
[ -n "$ref" ] || { echo "install.sh: $archive has no image for $arch" >&2; exit 1; }

mkdir -p "$lucid/slots"
slot=$lucid/slots/$ref
rm -rf "$slot.new" "$slot.old"
umoci unpack --image "$work:$ref" "$slot.new" >/dev/null
[ -d "$slot" ] && mv "$slot" "$slot.old"
mv "$slot.new" "$slot"
# Switch atomically: a rename replaces the symlink in one step.
ln -sfn "slots/$ref" "$lucid/current.new"
mv -T "$lucid/current.new" "$lucid/current"
rm -rf "$slot.old"

# The data volume: the only place the appliance writes. uid/gid 65532 run the image.
install -d -m 0700 -o 65532 -g 65532 "$lucid/data"
install -d -m 0755 "$prefix/etc/systemd/system" "$prefix/etc/udev/rules.d" "$prefix/etc/lucid"
install -m 0644 "$here/lucid-appliance.service" "$prefix/etc/systemd/system/lucid-appliance.service"
install -m 0644 "$here/99-lucid-appliance.rules" "$prefix/etc/udev/rules.d/99-lucid-appliance.rules"
if [ ! -e "$prefix/etc/lucid/appliance.env" ]; then
  cat > "$prefix/etc/lucid/appliance.env" <<'ENV'
# Site settings of the Lucid appliance: LUCID_* variables (see the README's configuration table).
# LUCID_PROFILE and LUCID_DATA_DIR come from the image; /data is /var/lib/lucid/data on the host.
#LUCID_LED_GPIO=17
#LUCID_BUTTON_GPIO=27
#LUCID_WATCHDOG_DEVICE=/dev/watchdog
ENV
fi
echo "installed $ref into $slot (current → slots/$ref)"

[ "$activate" = 1 ] || exit 0
getent group lucid >/dev/null || groupadd --system --gid 65532 lucid
getent passwd 65532 >/dev/null || useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin lucid
udevadm control --reload-rules
udevadm trigger --action=add --subsystem-match=leds --subsystem-match=gpio --subsystem-match=watchdog --subsystem-match=hidraw
systemctl daemon-reload
systemctl enable lucid-appliance.service
systemctl restart lucid-appliance.service
echo "lucid-appliance.service restarted; journalctl -u lucid-appliance -f shows its log"
