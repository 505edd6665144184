#!/bin/sh
# Fetches Debian's cloud kernel (linux-image-*-cloud-amd64) into a cache
# directory outside git and prints the directory holding vmlinuz and the
# extracted module tree.
#
# Usage: fetch-kernel.sh [CACHE_DIR [VERSION]]
#   CACHE_DIR defaults to $ARCBOX_GUEST_CACHE or $HOME/.cache/arcbox-fs/guest.
#   VERSION: 6.1 (default; bookworm's linux-image-cloud-amd64) or 6.12
#   (bookworm-backports' linux-image-6.12*-cloud-amd64-unsigned, read through
#   a private apt source list and package index under CACHE_DIR: the host's
#   apt configuration is left alone).
# Output (stdout, last line): KERNEL_DIR=<dir>  (dir/vmlinuz, dir/lib/modules/<ver>)
set -eu

cache=${1:-${ARCBOX_GUEST_CACHE:-$HOME/.cache/arcbox-fs/guest}}
mkdir -p "$cache"

version=${2:-6.1}
apt_opts=""
case "$version" in
    6.1) ;;
    6.12)
        a=$cache/apt-backports
        mkdir -p "$a/lists/partial" "$a/cache/archives/partial"
        echo "deb http://deb.debian.org/debian bookworm-backports main" > "$a/sources.list"
        apt_opts="-o Dir::Etc::SourceList=$a/sources.list -o Dir::Etc::SourceParts=/dev/null \
                  -o Dir::State::Lists=$a/lists -o Dir::Cache=$a/cache"
        # shellcheck disable=SC2086
        [ -n "$(ls "$a/lists" | grep Packages)" ] || apt-get -q $apt_opts update >&2 ;;
    *) echo "fetch-kernel: unknown version $version (6.1 or 6.12)" >&2; exit 2 ;;
esac
# The meta package depends on the current versioned image package.
# shellcheck disable=SC2086
pkg=$(apt-cache $apt_opts depends linux-image-cloud-amd64 2>/dev/null \
      | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -n1)
case "$version:$pkg" in
    6.1:linux-image-6.1.*) ;;
    6.12:linux-image-6.12.*) pkg=$pkg-unsigned ;;
    *) echo "fetch-kernel: no $version kernel (got '$pkg'; run apt-get update?)" >&2; exit 1 ;;
esac
if [ -z "$pkg" ]; then
    echo "fetch-kernel: cannot resolve linux-image-cloud-amd64 (run apt-get update?)" >&2
    exit 1
fi
dir="$cache/$pkg"
if [ ! -f "$dir/vmlinuz" ] || [ ! -d "$dir/lib/modules" ]; then
    tmp=$(mktemp -d "$cache/fetch.XXXXXX")
    # shellcheck disable=SC2086
    (cd "$tmp" && apt-get $apt_opts download "$pkg" >&2)
    rm -rf "$dir.x"
    dpkg -x "$tmp"/"$pkg"_*.deb "$dir.x"
    ver=${pkg#linux-image-}
    ver=${ver%-unsigned}
    cp "$dir.x/boot/vmlinuz-$ver" "$dir.x/vmlinuz"
    rm -rf "$dir" "$tmp"
    mv "$dir.x" "$dir"
fi
echo "KERNEL_DIR=$dir"
