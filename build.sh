#!/usr/bin/env bash
# The one entry point for developers and CI. Every subcommand installs what it needs first.
#   ./build.sh setup          install npm packages (and nothing else)
#   ./build.sh run            start the appliance in development mode (https://127.0.0.1:8443, http://127.0.0.1:8080)
#   ./build.sh test [args]    the whole suite (unit, contract, integration, e2e); args go to vitest
#   ./build.sh bench [name]   benchmarks as JSON lines (boot, …); all of them without a name
#   ./build.sh genesis [args] make a multi-node chain's genesis from node keys (--help for args)
#   ./build.sh typecheck      tsc --noEmit over the whole tree
#   ./build.sh build          bundle into dist/ only
#   ./build.sh image [opts]   the multi-arch OCI image into out/image/ (--verify: build twice, compare)
#   ./build.sh deb [opts]     lucid-appliance_<version>_{amd64,arm64}.deb into out/deb/ (from the image)
#   ./build.sh release <cmd>  release repository: init, sign, timestamp, rotate, publish, bundle (ota/README.md)
#   ./build.sh fleet          the fleet server (https://127.0.0.1:8090, LevelDB in ./fleet-data; ota/server/README.md)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

log() { printf '\033[1;34m[build]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[build]\033[0m %s\n' "$*" >&2; exit 1; }

require_node() {
  command -v node >/dev/null || die "Node.js >= 20.19 is required (https://nodejs.org); not found on PATH"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js >= 20.19 is required; found $(node --version)"
}

# The runtime: the suite, benchmarks and `./build.sh run` use the Node.js the image ships (the npm
# package node-linux-<cpu> pinned in image/build/node-runtime.json, integrity checked), not the
# host's; the host's Node (and its npm) only bootstraps the download. The tarball is shared with
# the image build's cache (.cache/image/node/). LUCID_HOST_NODE=1 keeps the host's Node instead.
ensure_runtime() {
  require_node
  [[ ${LUCID_HOST_NODE:-0} == 1 ]] && return
  local cpu arch version integrity dir tgz tmp
  case $(uname -m) in
    x86_64) cpu=x64 arch=amd64 ;;
    aarch64) cpu=arm64 arch=arm64 ;;
    *) die "no pinned Node.js runtime for $(uname -m); set LUCID_HOST_NODE=1 to use the host's Node" ;;
  esac
  version=$(node -p "require('./image/build/node-runtime.json').version")
  integrity=$(node -p "require('./image/build/node-runtime.json').integrity.$arch")
  dir=$ROOT/.cache/runtime/node-$version-linux-$cpu
  if [[ ! -x $dir/bin/node ]]; then
    tgz=$ROOT/.cache/image/node/node-linux-$cpu-$version.tgz
    if [[ ! -f $tgz || $(sri "$tgz") != "$integrity" ]]; then
      log "fetching Node.js $version (npm node-linux-$cpu)"
      tmp=$(mktemp -d "$ROOT/.cache/.pack-XXXXXX")
      npm pack "node-linux-$cpu@$version" --pack-destination "$tmp" --silent >/dev/null \
        || { rm -rf "$tmp"; die "npm pack node-linux-$cpu@$version failed (is the npm registry reachable?)"; }
      local got; got=$(sri "$tmp/node-linux-$cpu-$version.tgz")
      [[ $got == "$integrity" ]] || { rm -rf "$tmp"; die "node-linux-$cpu@$version: integrity $got is not the pinned $integrity"; }
      mkdir -p "$(dirname "$tgz")"; mv "$tmp/node-linux-$cpu-$version.tgz" "$tgz"; rm -rf "$tmp"
    fi
    tmp=$(mktemp -d "$ROOT/.cache/.unpack-XXXXXX")
    tar -xzf "$tgz" -C "$tmp" --strip-components=1
    mkdir -p "$(dirname "$dir")"; rm -rf "$dir"; mv "$tmp" "$dir"
  fi
  export PATH=$dir/bin:$PATH
  # node-gyp (npm's, for the native addons) builds against this runtime's own headers, offline.
  export npm_config_nodedir=$dir
}
sri() { node -e 'const h=require("crypto").createHash("sha512");h.update(require("fs").readFileSync(process.argv[1]));console.log("sha512-"+h.digest("base64"))' "$1"; }

# npm packages: reinstall only when package-lock.json changed since the last install.
ensure_npm() {
  mkdir -p .cache
  ensure_runtime
  local stamp=node_modules/.lucid-lock-hash want
  # The native addons are built for one Node ABI: a new runtime reinstalls them too.
  want="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version)"
  if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    log "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$want" > "$stamp"
  fi
  # npm does not run the build of a linked file: dependency, so the sd_notify addon (which the
  # supervisor uses under systemd) is compiled here with npm's own node-gyp when it is missing.
  # Its sources are part of the stamp: a checkout whose addon changed (dropFilePages joined
  # send) rebuilds it instead of keeping an old binary.
  local addon_want
  addon_want="$want $(cat hal/system/sd-notify/native/{binding.gyp,*.c,*.h} | sha256sum | cut -d' ' -f1)"
  if [[ ! -f hal/system/sd-notify/native/build/Release/sd_notify.node || ! -f $stamp.sd-notify || $(cat "$stamp.sd-notify") != "$addon_want" ]]; then
    log "compiling the sd_notify addon (node-gyp)"
    if npm run --silent build:sd-notify >/dev/null 2>&1; then echo "$addon_want" > "$stamp.sd-notify"
    else log "warning: sd_notify addon not built (systemd readiness unavailable)"; fi
  fi
}

# Debian packages the tests need (real Chromium, …). Installed only when a binary is missing.
APT_UPDATED=0
ensure_apt() { # ensure_apt <binary> <package>...
  local bin=$1; shift
  command -v "$bin" >/dev/null && return
  [[ $(id -u) == 0 ]] || die "$bin is missing; install the Debian packages: sudo apt-get install $*"
  if [[ $APT_UPDATED == 0 ]]; then log "apt-get update"; apt-get update -q >/dev/null; APT_UPDATED=1; fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

ensure_test_tools() {
  ensure_apt chromium chromium
  ensure_apt python3 python3
  # The fleet server's store contract and its multi-instance tests run a real PostgreSQL
  # (initdb/pg_ctl from /usr/lib/postgresql/<v>/bin, in a temp dir, as an unprivileged user).
  ensure_apt pg_ctlcluster postgresql
}

# The image build (and its tests) needs Debian's arm64 package lists for the arm64 base layer.
ensure_arm64_apt() {
  if dpkg --print-foreign-architectures | grep -qx arm64 && compgen -G '/var/lib/apt/lists/*binary-arm64_Packages*' >/dev/null; then return; fi
  [[ $(id -u) == 0 ]] || die "the image needs apt's arm64 lists: sudo dpkg --add-architecture arm64 && sudo apt-get update"
  log "dpkg --add-architecture arm64; apt-get update (the arm64 image's .debs)"
  dpkg --add-architecture arm64
  apt-get update -q >/dev/null
  APT_UPDATED=1
}

# Tools of the OCI image build and its tests (Debian amd64 host): cross compiler, strip and
# qemu for arm64, skopeo/umoci/docker-registry for the OCI side, bubblewrap to run the image.
ensure_image_tools() {
  command -v dpkg-deb >/dev/null && command -v apt-get >/dev/null || die "the image build needs a Debian host (apt-get, dpkg-deb)"
  ensure_arm64_apt
  ensure_apt make make
  ensure_apt x86_64-linux-gnu-g++ g++
  ensure_apt aarch64-linux-gnu-g++ g++-aarch64-linux-gnu
  ensure_apt qemu-aarch64-static qemu-user-static
  ensure_apt skopeo skopeo
  ensure_apt umoci umoci
  ensure_apt docker-registry docker-registry
  ensure_apt bwrap bubblewrap
  ensure_apt systemd-analyze systemd
  ensure_apt python3 python3
}

# The .deb checks and the VM tier (tests/vm/README.md): lintian, a Debian guest built with
# mmdebstrap and booted in qemu (copy-on-write overlays with qemu-img), ext4 images made with
# mkfs.ext4 -d, the lean guest's initramfs with cpio.
ensure_vm_tools() {
  ensure_apt lintian lintian
  ensure_apt qemu-system-x86_64 qemu-system-x86
  ensure_apt qemu-img qemu-utils
  ensure_apt mmdebstrap mmdebstrap
  ensure_apt mkfs.ext4 e2fsprogs
  ensure_apt cpio cpio
}

bundle() { node image/bundle.mjs "$@"; }

cmd=${1:-help}; shift || true
case $cmd in
  setup)
    ensure_npm ;;
  build)
    ensure_npm; bundle "$@" ;;
  run)
    ensure_npm
    bundle
    log "starting the appliance (Ctrl-C stops it); web UI on https://${LUCID_HOST:-127.0.0.1}:${LUCID_HTTPS_PORT:-8443}/ and http://${LUCID_HOST:-127.0.0.1}:${LUCID_PORT:-8080}/ (the certificate's fingerprint follows)"
    exec node dist/entries/supervisor.mjs ;;
  test)
    ensure_npm
    ensure_test_tools
    ensure_image_tools
    ensure_vm_tools
    bundle
    exec npx vitest run "$@" ;;
  bench)
    ensure_npm
    if [[ $# == 0 || " $* " == *" image "* || " $* " == *" ota "* ]]; then ensure_image_tools; fi
    if [[ $# == 0 || " $* " == *" fleet "* ]]; then ensure_apt pg_ctlcluster postgresql; fi
    bundle
    exec npx tsx tests/bench/run.ts "$@" ;;
  genesis)
    ensure_npm
    bundle >/dev/null 2>&1 || bundle
    exec node dist/entries/genesis.mjs "$@" ;;
  image)
    ensure_npm
    ensure_image_tools
    exec npx tsx image/build/cli.ts "$@" ;;
  deb)
    ensure_npm
    ensure_image_tools
    npx tsx image/build/cli.ts
    exec npx tsx image/deb/cli.ts "$@" ;;
  release)
    ensure_npm
    exec npx tsx ota/release/cli.ts "$@" ;;
  fleet)
    ensure_npm
    bundle >/dev/null 2>&1 || bundle
    log "starting the fleet server (Ctrl-C stops it); web UI on https://${LUCID_FLEET_HOST:-127.0.0.1}:${LUCID_FLEET_PORT:-8090}/ (its certificate pin and fingerprint are in the log)"
    exec node dist/fleet/server.mjs "$@" ;;
  typecheck)
    ensure_npm
    exec npx tsc -p tsconfig.json --noEmit ;;
  help|-h|--help)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)
    die "unknown command '$cmd' (try: setup, run, test, bench, genesis, typecheck, build, image, deb, release, fleet)" ;;
esac
