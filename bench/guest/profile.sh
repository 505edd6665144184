#!/bin/bash
# Where the time goes: host syscalls and FUSE requests per guest operation,
# for arcbox-virtiofsd and both virtiofsd builds, on the guest benchmark's
# metadata rows (first missing-name lookup, stat, create+unlink, readdir).
#
# For each workload, one guest (bench/guest/compare.sh, one round) runs it
# on every daemon, each daemon under `strace -f -c`; a guest that only
# mounts and unmounts (workload "none") is the baseline subtracted from
# every count. Syscalls per operation = (workload's count - baseline) / the
# workload's operation count. FUSE requests per operation come from
# arcbox-virtiofsd's own per-opcode counters (its exit summary); the guest
# sends the same requests to every daemon, up to the cache timeouts and
# features each negotiates.
#
# Prints a markdown table: per workload and daemon, syscalls/op, then the
# five most frequent syscalls per op; then arcbox's FUSE requests per op.
#
# Usage: bench/guest/profile.sh [--scale N] [--cache MODE] [--out DIR]
#   Daemons: as compare.sh's anchors preset ($ARCBOX_VIRTIOFSD, virtiofsd on
#   PATH or ~/.cargo/bin, /usr/lib/qemu/virtiofsd or $VIRTIOFSD_C), each with
#   its defaults for sandbox and threads.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
scale=1
cache=auto
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --scale) scale=${2:?}; shift 2 ;;
        --cache) cache=${2:?}; shift 2 ;;
        --out) out=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "profile: unknown argument $1" >&2; exit 2 ;;
    esac
done
command -v strace >/dev/null || { echo "profile: strace missing (apt-get install strace)" >&2; exit 3; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "${ARCBOX_VIRTIOFSD:-}" ]; then
    cargo build --release -q -p arcbox-fs-vhost-user --bin arcbox-virtiofsd -j 2 || exit 1
    export ARCBOX_VIRTIOFSD=$CARGO_TARGET_DIR/release/arcbox-virtiofsd
fi
[ -n "$out" ] || out=$(mktemp -d /tmp/arcbox-profile.XXXXXX)
mkdir -p "$out"
# The anchors: bench/setup-anchors.sh's, else what is installed.
rust_bin=${VIRTIOFSD_RUST:-$repo/target/anchors/bin/virtiofsd}
[ -x "$rust_bin" ] || rust_bin=$(command -v virtiofsd || echo "$HOME/.cargo/bin/virtiofsd")
c_bin=${VIRTIOFSD_C:-$repo/target/anchors/bin/virtiofsd-c}
[ -x "$c_bin" ] || c_bin=/usr/lib/qemu/virtiofsd
ccache=$cache
[ "$cache" = never ] && ccache=none
specs=("arcbox=$ARCBOX_VIRTIOFSD --socket-path=@SOCK@ --shared-dir=@SHARE@ --cache=@CACHE@ --xattr --log-level=info")
names=(arcbox)
if [ -x "$rust_bin" ]; then
    specs+=("virtiofsd=$rust_bin --socket-path=@SOCK@ --shared-dir=@SHARE@ --cache=@CACHE@ --xattr --sandbox=none --log-level=warn")
    names+=(virtiofsd)
fi
if [ -x "$c_bin" ]; then
    specs+=("virtiofsd-c=$c_bin --socket-path=@SOCK@ -o source=@SHARE@ -o cache=$ccache -o xattr -o sandbox=chroot -o log_level=warn")
    names+=(virtiofsd-c)
fi
workloads="none miss stat create readdir"
for w in $workloads; do
    echo "profile: $w" >&2
    "$repo/bench/guest/compare.sh" --rounds 1 --scale "$scale" --cache "$cache" \
        --workloads "$w" --strace "$out/$w" "${specs[@]}" >"$out/$w.table" 2>"$out/$w.err" \
        || { echo "profile: $w failed:" >&2; tail -n 5 "$out/$w.err" >&2; exit 1; }
done

# strace -c table → "name calls" lines (the data rows; the total row left out).
calls() { awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { print $NF, $4 }' "$1"; }
# Operations of workload W for daemon index I (from the guest's lines).
ops() { awk -v t="t$2" '$1 == "ARCBOX-CMP" && $2 == t { split($5, o, "="); s += o[2] } END { print s + 0 }' "$out/$1/results.txt"; }
# arcbox's per-opcode counts at exit: "OPCODE count" lines.
fuse_ops() { awk '/^ *[A-Z_0-9]+ +[0-9]+ err/ { print $1, $2 }' "$1"; }

echo "| workload | daemon | syscalls/op | top syscalls per op |"
echo "|---|---|---:|---|"
for w in $workloads; do
    [ "$w" = none ] && continue
    for i in "${!names[@]}"; do
        n=${names[$i]}
        nops=$(ops "$w" "$i")
        [ "$nops" -gt 0 ] || continue
        row=$(join -a1 -e0 -o 0,1.2,2.2 <(calls "$out/$w/$n.strace" | sort) <(calls "$out/none/$n.strace" | sort) \
            | awk -v ops="$nops" '{ d = $2 - $3; if (d > 0) { tot += d; print d / ops, $1 } }
                END { printf "TOTAL %.2f\n", tot / ops }' | sort -k1,1gr)
        total=$(echo "$row" | awk '$1 == "TOTAL" { print $2 }')
        top=$(echo "$row" | awk '$1 != "TOTAL"' | head -n 5 | awk '{ printf "%s%s %.2f", (NR > 1 ? ", " : ""), $2, $1 }')
        echo "| $w | $n | $total | $top |"
    done
done
echo
echo "| workload | FUSE requests per op (arcbox-virtiofsd's counters) |"
echo "|---|---|"
for w in $workloads; do
    [ "$w" = none ] && continue
    nops=$(ops "$w" 0)
    [ "$nops" -gt 0 ] || continue
    r=$(join -a1 -e0 -o 0,1.2,2.2 <(fuse_ops "$out/$w/arcbox.log" | sort) <(fuse_ops "$out/none/arcbox.log" | sort) \
        | awk -v ops="$nops" '{ d = $2 - $3; if (d > 0) printf "%s%s %.2f", (n++ ? ", " : ""), $1, d / ops }')
    echo "| $w | $r |"
done
echo
echo "profile: raw strace summaries and logs in $out" >&2
