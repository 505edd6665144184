#!/bin/bash
# Guest benchmark: one Linux guest workload (tests/guest/init.sh, mode bench:
# missing-name lookup storm, stat of existing files, create/unlink of small
# files, readdir, sequential write and read) against arcbox-virtiofsd, the
# Rust virtiofsd and QEMU's C virtiofsd, back to back, under QEMU TCG over
# vhost-user-fs-pci. Prints the per-operation times and their ratios as a
# markdown table (ratio = arcbox time / other time: below 1 means arcbox is faster).
#
# Usage: bench/guest/run.sh [--scale N] [--cache MODE] [--machine pci|microvm]
#   pci (the default) runs bench/guest/compare.sh's anchors preset: every
#   daemon in one guest, $ROUNDS rounds (default 5) interleaved; microvm
#   boots one guest per daemon, back to back (one run each).
#   Servers not installed are left out (Rust: `cargo install virtiofsd`;
#   C: /usr/lib/qemu/virtiofsd from Debian's qemu-system-common).
#   arcbox-virtiofsd is built in release first, unless $ARCBOX_VIRTIOFSD names
#   a prebuilt binary.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
scale=1
cache=auto
machine=pci
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) scale=${2:?}; shift 2 ;;
        --cache) cache=${2:?}; shift 2 ;;
        --machine) machine=${2:?}; shift 2 ;;
        *) echo "bench/guest/run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
# Over pci the benchmark is compare.sh's: all daemons in one guest,
# interleaved, medians of the rounds ($ROUNDS, default 5).
if [ "$machine" = pci ]; then
    exec "$repo/bench/guest/compare.sh" --rounds "${ROUNDS:-5}" --scale "$scale" --cache "$cache" anchors
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "${ARCBOX_VIRTIOFSD:-}" ]; then
    cargo build --release -q -p arcbox-fs-vhost-user --bin arcbox-virtiofsd -j 2 || exit 1
    ARCBOX_VIRTIOFSD=$CARGO_TARGET_DIR/release/arcbox-virtiofsd
fi

out=$(mktemp -d /tmp/arcbox-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
servers=(arcbox)
# The anchors: bench/setup-anchors.sh's, else what is installed.
rust_bin=${VIRTIOFSD_RUST:-$repo/target/anchors/bin/virtiofsd}
[ -x "$rust_bin" ] || rust_bin=$(command -v virtiofsd || echo "$HOME/.cargo/bin/virtiofsd")
c_bin=${VIRTIOFSD_C:-$repo/target/anchors/bin/virtiofsd-c}
[ -x "$c_bin" ] || c_bin=/usr/lib/qemu/virtiofsd
[ -x "$rust_bin" ] && servers+=(virtiofsd)
[ -x "$c_bin" ] && servers+=(virtiofsd-c)
for s in "${servers[@]}"; do
    echo "bench: $s ($machine, cache=$cache, scale=$scale)" >&2
    bin=()
    case "$s" in
        arcbox) bin=(--server-bin "$ARCBOX_VIRTIOFSD") ;;
        virtiofsd) bin=(--server-bin "$rust_bin") ;;
        virtiofsd-c) bin=(--server-bin "$c_bin") ;;
    esac
    "$repo/tests/guest/run-guest.sh" --server "$s" "${bin[@]}" --machine "$machine" --mode bench \
        --scale "$scale" --cache "$cache" --timeout 600 > "$out/$s.txt" 2>&1
    if ! grep -q '^ARCBOX-BENCH' "$out/$s.txt"; then
        echo "bench: $s produced no results:" >&2
        tail -n 5 "$out/$s.txt" >&2
    fi
done

# Per-op microseconds for each server and workload, then the table.
for s in "${servers[@]}"; do
    awk -v s="$s" '/^ARCBOX-BENCH/ {
        split($3, o, "="); split($4, t, "="); split($5, b, "=");
        us = (o[2] > 0) ? t[2] / o[2] / 1000 : 0;
        mbs = (b[2] > 0 && t[2] > 0 && $2 ~ /^seq/) ? b[2] / 1048576 / (t[2] / 1e9) : 0;
        printf "%s %s %.3f %.1f\n", s, $2, us, mbs }' "$out/$s.txt"
done > "$out/all.txt"

awk -v servers="${servers[*]}" '
BEGIN { n = split(servers, S, " ") }
{ us[$1, $2] = $3; mbs[$1, $2] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++w] = $2 } }
END {
    hdr = "| workload |"; sep = "| --- |"
    for (i = 1; i <= n; i++) { hdr = hdr " " S[i] " µs/op |"; sep = sep " ---: |" }
    for (i = 2; i <= n; i++) { hdr = hdr " arcbox / " S[i] " |"; sep = sep " ---: |" }
    print hdr; print sep
    for (k = 1; k <= w; k++) {
        wl = order[k]; line = "| " wl " |"
        for (i = 1; i <= n; i++) {
            v = ((S[i], wl) in us) ? us[S[i], wl] : "-"
            if (mbs[S[i], wl] > 0) v = v " (" mbs[S[i], wl] " MiB/s)"
            line = line " " v " |"
        }
        for (i = 2; i <= n; i++) {
            a = us["arcbox", wl]; o = us[S[i], wl]
            line = line " " ((a > 0 && o > 0) ? sprintf("%.2f", a / o) : "-") " |"
        }
        print line
    }
}' "$out/all.txt"
