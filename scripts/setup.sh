#!/usr/bin/env bash
# Installs what building arcbox-fs needs on a fresh Debian 12 / Linux machine
# (idempotent). Usage: scripts/setup.sh [--tests] [--mount-helper]
#   --tests   also what the tests need: clippy, rustfmt and the no_std / macOS
#             cross targets (scripts/test.sh passes it).
#   --mount-helper  install arcbox-fuse and mount.fuse.arcbox (mount -t fuse.arcbox).
# Suites under .ci/suites install their own extras.
set -euo pipefail
tests=0
helper=0
for arg in "$@"; do
  case "$arg" in
    --tests) tests=1 ;;
    --mount-helper) helper=1 ;;
    *) echo "setup: unknown argument $arg (usage: scripts/setup.sh [--tests] [--mount-helper])" >&2; exit 2 ;;
  esac
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

need_apt=()
for pkg in build-essential pkg-config git; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust with rustup first" >&2
  exit 1
fi
if [ "$tests" -eq 1 ]; then
  rustup component add clippy rustfmt >/dev/null 2>&1 || true
  rustup target add thumbv7em-none-eabihf aarch64-unknown-none riscv64gc-unknown-none-elf \
    x86_64-unknown-none aarch64-apple-darwin x86_64-apple-darwin >/dev/null
fi
# --mount-helper: install mount.fuse.arcbox (mount -t fuse.arcbox, fstab) and
# the release arcbox-fuse it starts.
if [ "$helper" -eq 1 ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  (cd "$here" && cargo build --release -q -p arcbox-fs-fusedev --bin arcbox-fuse)
  $SUDO install -m 755 "$here/target/release/arcbox-fuse" /usr/local/bin/arcbox-fuse
  $SUDO install -m 755 "$here/scripts/mount.fuse.arcbox" /sbin/mount.fuse.arcbox
  echo "setup: installed /usr/local/bin/arcbox-fuse and /sbin/mount.fuse.arcbox"
fi
echo "setup: ok"
