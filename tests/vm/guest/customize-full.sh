#!/bin/sh
# mmdebstrap --customize-hook for the full Debian 12 guest: $1 is the guest's root directory.
# What it adds to a minbase system with systemd and udev:
# - the root filesystem on /dev/vda, no root password, a root shell on the serial console
#   (ttyS0, autologin) for a person reading the log;
# - the test agent (agent.sh beside this file) on the second serial port, ttyS1: it runs
#   base64-framed scripts as root (tests/vm/harness/agent.ts speaks its protocol);
# - DHCP on the virtio NIC through systemd-networkd (qemu's user-mode network answers it);
# - a quiet kernel console, a volatile journal (a power cut must not cost a journal replay), no
#   periodic jobs (apt, e2scrub, fstrim) that would compete with the tests for the emulated CPU;
# - a small initramfs: qemu boots the kernel directly, so only virtio and ext4 are needed to
#   mount the root (Debian's default MODULES=most initramfs costs ~8 s more to unpack under TCG).
# Any change to this file or agent.sh changes the cache key, so the disk is rebuilt.
set -eu
root=$1

echo lucid-vm > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 lucid-vm\n' > "$root/etc/hosts"
printf '/dev/vda / ext4 defaults,errors=remount-ro 0 1\n' > "$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null

mkdir -p "$root/etc/systemd/system/serial-getty@ttyS0.service.d"
cat > "$root/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf" <<'UNIT'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %I $TERM
UNIT

install -m 0755 "$(dirname "$0")/agent.sh" "$root/usr/local/sbin/lucid-vm-agent"
cat > "$root/etc/systemd/system/lucid-vm-agent.service" <<'UNIT'
[Unit]
Description=Test agent on ttyS1 (tests/vm)
DefaultDependencies=no
BindsTo=dev-ttyS1.device
After=dev-ttyS1.device systemd-remount-fs.service
Before=shutdown.target
Conflicts=shutdown.target
[Service]
ExecStart=/usr/local/sbin/lucid-vm-agent
Restart=always
RestartSec=0
[Install]
WantedBy=sysinit.target
UNIT
chroot "$root" systemctl enable lucid-vm-agent.service >/dev/null 2>&1

mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=en* eth*\n[Network]\nDHCP=ipv4\n' > "$root/etc/systemd/network/20-wired.network"
chroot "$root" systemctl enable systemd-networkd.service >/dev/null 2>&1

mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\n' > "$root/etc/systemd/journald.conf.d/volatile.conf"
printf 'kernel.printk = 3 4 1 3\n' > "$root/etc/sysctl.d/10-quiet-console.conf"
chroot "$root" systemctl mask e2scrub_reap.service e2scrub_all.timer fstrim.timer apt-daily.timer apt-daily-upgrade.timer >/dev/null 2>&1

mkdir -p "$root/etc/initramfs-tools/conf.d"
printf 'MODULES=list\nCOMPRESS=gzip\n' > "$root/etc/initramfs-tools/conf.d/lucid-vm.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' >> "$root/etc/initramfs-tools/modules"
chroot "$root" update-initramfs -u -k all >/dev/null 2>&1

# The .deb and other test files come in over 9p (read-only), mounted where tests expect them.
mkdir -p "$root/mnt/host"
