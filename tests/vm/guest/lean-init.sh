#!/lucid-vm/bin/sh
# /init of the lean guest: no systemd, no distribution — the kernel, this script, busybox, the
# image's root file system (the initramfs itself) and the data disk (/dev/vda, ext4) mounted at
# /data. It starts the test agent on ttyS1 and the appliance as uid/gid 65532 with its log on the
# console, then only reaps orphans. A power cut (qemu SIGKILLed) loses exactly what the kernel had
# not yet written to /dev/vda. Kernel command line:
#   lucid.env=<base64 of KEY='value' lines>   the appliance's settings (tests/vm/harness/lean-guest.ts)
#   lucid.autostart=0                          do not start the appliance (the test starts it)
#   lucid.dataopts=<mount options>             of /data (default: ext4's defaults, as on a Pi)
export PATH=/lucid-vm/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
for m in $(cat /lucid-vm/modules.order); do insmod "/lucid-vm/modules/$m"; done

arg() { sed -nE "s/^(.* )?$1=([^ ]*).*$/\\2/p" /proc/cmdline; }
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
opts=$(arg lucid.dataopts)
if mount -t ext4 -o "${opts:-defaults}" /dev/vda /data; then
  chown 65532:65532 /data
  chmod 0700 /data
else
  echo "lean-init: cannot mount /dev/vda on /data" >&2
fi
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
hostname lucid-lean

setsid /lucid-vm/bin/sh /lucid-vm/agent.sh &

arg lucid.env | base64 -d > /run/appliance.env 2>/dev/null
start_appliance() {
  # Like the unit: the image's entrypoint and environment, uid/gid 65532, working dir /app.
  setsid /lucid-vm/bin/sh -c 'cd /app && set -a && . /lucid-vm/image.env && . /run/appliance.env && set +a &&
    exec su -m -s /lucid-vm/bin/sh nonroot -c "exec /usr/local/bin/node /app/dist/entries/supervisor.mjs"' </dev/null >/dev/console 2>&1 &
  echo $! > /run/appliance.pid
}
[ "$(arg lucid.autostart)" = 0 ] || start_appliance
echo "lean-init: up after $(cut -d' ' -f1 /proc/uptime) s"

while :; do wait; sleep 1; done
