#!/bin/sh
# Fetches Debian's cloud kernel (linux-image-*-cloud-amd64) into a cache
# directory outside git and prints the directory holding vmlinuz and the
# extracted module tree.
#
# Usage: fetch-kernel.sh [CACHE_DIR]
#   CACHE_DIR defaults to $ARCBOX_GUEST_CACHE or $HOME/.cache/arcbox-fs/guest.
# Output (stdout, last line): KERNEL_DIR=<dir>  (dir/vmlinuz, dir/lib/modules/<ver>)
set -eu

cache=${1:-${ARCBOX_GUEST_CACHE:-$HOME/.cache/arcbox-fs/guest}}
mkdir -p "$cache"

# The meta package depends on the current versioned image package.
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null \
      | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
if [ -z "$pkg" ]; then
    echo "fetch-kernel: cannot resolve linux-image-cloud-amd64 (run apt-get update?)" >&2
    exit 1
fi
dir="$cache/$pkg"
if [ ! -f "$dir/vmlinuz" ] || [ ! -d "$dir/lib/modules" ]; then
    tmp=$(mktemp -d "$cache/fetch.XXXXXX")
    (cd "$tmp" && apt-get download "$pkg" >&2)
    rm -rf "$dir.x"
    dpkg -x "$tmp"/"$pkg"_*.deb "$dir.x"
    ver=${pkg#linux-image-}
    cp "$dir.x/boot/vmlinuz-$ver" "$dir.x/vmlinuz"
    rm -rf "$dir" "$tmp"
    mv "$dir.x" "$dir"
fi
echo "KERNEL_DIR=$dir"
