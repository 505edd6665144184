#!/bin/sh
# Builds the guest initramfs: busybox-static, the init script (init.sh), the
# arcbox-probe helper (probe.c, linked statically), the kernel modules the
# virtio-fs guest needs, in dependency order (resolved with modinfo), and,
# for the ownership workload (arcbox.mode=own), the host's git and GNU tar
# (and pjdfstest when $PJDFSTEST names it) with the shared libraries ldd(1)
# lists for them (each skipped, with a note, when the host has none: the
# guest then reports it missing).
#
# Usage: build-initramfs.sh KERNEL_DIR OUTPUT.cpio.gz
#   KERNEL_DIR as printed by fetch-kernel.sh (holds lib/modules/<version>).
set -eu

kdir=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
# Debian's busybox-static installs a static /bin/busybox.
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "build-initramfs: no $busybox (apt-get install busybox-static)" >&2; exit 1; }
moddir=$(ls -d "$kdir"/lib/modules/*/ | head -n1)
moddir=${moddir%/}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# The guest's "/" (mktemp made it 0700): other users must traverse it
# (pjdfstest's unprivileged cases reach the share through it).
chmod 755 "$stage"
mkdir -p "$stage/bin" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/mnt" \
         "$stage/tmp" "$stage/lib/modules"
cp "$busybox" "$stage/bin/busybox"
cp "$here/init.sh" "$stage/init"
# pjdfstest's configuration, the one the host suites use too.
mkdir -p "$stage/etc"
cp "$here/../pjdfstest.toml" "$stage/etc/pjdfstest.toml"
chmod 755 "$stage/init"
gcc -static -O2 -Wall -Werror -o "$stage/bin/arcbox-probe" "$here/probe.c"

# A dynamically linked host binary at /bin/NAME with every library ldd(1)
# names, at the same paths (the dynamic loader's included). GNU tar at
# /bin/tar takes the place of busybox's applet (--install keeps it).
add_dynamic() { # NAME HOST_PATH
    local lib
    [ -n "$2" ] && [ -x "$2" ] || { echo "build-initramfs: no $1 on the host; the guest goes without" >&2; return 0; }
    cp -L "$2" "$stage/bin/$1"
    for lib in $(ldd "$2" | sed -n -e 's/.*=> \(\/[^ ]*\) .*/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) .*/\1/p'); do
        mkdir -p "$stage$(dirname "$lib")"
        cp -L "$lib" "$stage$lib"
    done
}
add_dynamic git "$(command -v git || true)"
add_dynamic tar "$(command -v tar || true)"
# pjdfstest (the Rust suite) for arcbox.mode=pjd; only when PJDFSTEST
# names it.
[ -z "${PJDFSTEST:-}" ] || add_dynamic pjdfstest "$PJDFSTEST"

# The drivers the guest loads; their dependencies come first.
wanted="virtio_pci virtio_mmio virtiofs"
order=""
add_module() {
    local ko dep
    case " $order " in *" $1 "*) return 0 ;; esac
    # Built into the kernel (6.12: virtio_pci, virtiofs and their deps).
    if grep -q "/$1\.ko\$" "$moddir/modules.builtin" 2>/dev/null; then
        return 0
    fi
    ko=$(find "$moddir/kernel" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -n1)
    if [ -z "$ko" ]; then
        echo "build-initramfs: module $1 not found under $moddir" >&2
        exit 1
    fi
    for dep in $(modinfo -F depends "$ko" | tr ',' ' '); do
        add_module "$dep"
    done
    case "$ko" in
        *.xz) xz -dc "$ko" > "$stage/lib/modules/$1.ko" ;;
        *.zst) zstd -qdc "$ko" > "$stage/lib/modules/$1.ko" ;;
        *) cp "$ko" "$stage/lib/modules/$1.ko" ;;
    esac
    order="$order $1"
}
for m in $wanted; do
    add_module "$m"
done
echo $order > "$stage/modules.list"
echo "build-initramfs: modules:$order" >&2

(cd "$stage" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
