#!/bin/bash
# Installs the benchmark anchors under the checkout (target/anchors/bin):
#   virtiofsd     the Rust virtiofsd (crates.io, `cargo install --locked`)
#   virtiofsd-c   QEMU's C virtiofsd, taken from Debian bookworm's
#                 qemu-system-common 7.2 package (the last QEMU that ships it),
#                 unpacked with dpkg -x: the installed QEMU is left alone.
#   passthrough_hp libfuse's example server (the /dev/fuse anchor), built
#                 from Debian sid's fuse3 3.18.3 source (the first libfuse
#                 with both kernel passthrough and FUSE-over-io_uring;
#                 bookworm ships 3.14), checked against its sha256.
# Also installs (apt, as root) what they and the guest benchmarks need:
# libseccomp-dev, libcap-ng-dev, libglib2.0-0, strace, qemu-system-x86,
# and libfuse's build tools (meson, ninja-build, g++, liburing-dev,
# libnuma-dev, pkg-config).
# Prints the directory. Idempotent: what is there is kept.
#
# Usage: bench/setup-anchors.sh [--rust-version V] [--only NAME]
#   --only NAME: just that anchor (virtiofsd, virtiofsd-c or passthrough_hp).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
rust_version="" only=""
while [ $# -gt 0 ]; do
    case "$1" in
        --rust-version) rust_version=${2:?}; shift 2 ;;
        --only) only=${2:?}; shift 2 ;;
        *) echo "setup-anchors: unknown argument $1" >&2; exit 2 ;;
    esac
done
dir=$repo/target/anchors
# wanted NAME: whether this run installs anchor NAME.
wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }
case ${only:-all} in all | virtiofsd | virtiofsd-c | passthrough_hp) ;; *) echo "setup-anchors: unknown anchor $only" >&2; exit 2 ;; esac
mkdir -p "$dir/bin"
export DEBIAN_FRONTEND=noninteractive
libfuse_deps="meson ninja-build g++ liburing-dev libnuma-dev pkg-config curl"
if [ "$(id -u)" = 0 ]; then
    apt-get install -y -q libseccomp-dev libcap-ng-dev libglib2.0-0 strace qemu-system-x86 \
        busybox-static cpio gzip kmod gcc libc6-dev $libfuse_deps >/dev/null \
        || { apt-get update -q >/dev/null && apt-get install -y -q libseccomp-dev libcap-ng-dev \
             libglib2.0-0 strace qemu-system-x86 busybox-static cpio gzip kmod gcc libc6-dev \
             $libfuse_deps >/dev/null; }
fi
if wanted virtiofsd && [ ! -x "$dir/bin/virtiofsd" ]; then
    echo "setup-anchors: building the Rust virtiofsd${rust_version:+ $rust_version}" >&2
    CARGO_TARGET_DIR=$dir/build cargo install virtiofsd ${rust_version:+--version "$rust_version"} \
        --locked --root "$dir" -j 2 -q
fi
if wanted virtiofsd-c && [ ! -x "$dir/bin/virtiofsd-c" ]; then
    echo "setup-anchors: unpacking QEMU 7.2's C virtiofsd" >&2
    tmp=$(mktemp -d "$dir/deb.XXXXXX")
    # bookworm's own qemu-system-common (7.2), whatever else is installed.
    ver=$(apt-cache madison qemu-system-common | awk -F'|' '$2 ~ /7\.2/ { gsub(/ /, "", $2); print $2; exit }')
    [ -n "$ver" ] || { echo "setup-anchors: no qemu-system-common 7.2 in apt (apt-get update?)" >&2; exit 1; }
    (cd "$tmp" && apt-get -o APT::Sandbox::User=root download -q "qemu-system-common=$ver" >/dev/null)
    dpkg -x "$tmp"/qemu-system-common_*.deb "$tmp/x"
    cp "$tmp/x/usr/lib/qemu/virtiofsd" "$dir/bin/virtiofsd-c"
    rm -rf "$tmp"
fi
if wanted passthrough_hp && [ ! -x "$dir/bin/passthrough_hp" ]; then
    echo "setup-anchors: building libfuse 3.18.3's passthrough_hp" >&2
    tmp=$(mktemp -d "$dir/libfuse.XXXXXX")
    tarball=fuse3_3.18.3.orig.tar.gz
    curl -fsS -m 300 -o "$tmp/$tarball" "http://deb.debian.org/debian/pool/main/f/fuse3/$tarball"
    echo "bcd19582c5e30f7fe45dd86a5540e998590aa01903afc7ebcbeea6c8ac5421ee  $tmp/$tarball" | sha256sum -c --quiet
    tar -C "$tmp" -xzf "$tmp/$tarball"
    (cd "$tmp/fuse-3.18.3" &&
        meson setup build -Dexamples=true -Dutils=false -Dtests=false \
            -Ddefault_library=static -Dbuildtype=release >/dev/null &&
        ninja -C build example/passthrough_hp >/dev/null)
    # Both features or nothing: an anchor without them would not be the one
    # the tables name.
    grep -q '^#define HAVE_URING' "$tmp/fuse-3.18.3/build/fuse_config.h" \
        || { echo "setup-anchors: libfuse was built without io_uring" >&2; exit 1; }
    cp "$tmp/fuse-3.18.3/build/example/passthrough_hp" "$dir/bin/passthrough_hp"
    rm -rf "$tmp"
fi
if wanted virtiofsd; then "$dir/bin/virtiofsd" --version >&2; fi
if wanted virtiofsd-c; then "$dir/bin/virtiofsd-c" --version 2>&1 | head -n 1 >&2; fi
echo "$dir/bin"
