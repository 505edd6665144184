#!/bin/bash
# What the sandbox and seccomp cost: the guest benchmark workloads
# (init.sh, mode bench) against arcbox-virtiofsd with its defaults
# (--sandbox namespace --seccomp kill) and with --sandbox none --seccomp none,
# interleaved (A B A B ...), ROUNDS rounds each (default 3). Prints per
# workload the median µs/op of each and the ratio (hardened / none; above 1
# means the hardened daemon is slower), as a markdown table.
#
# Usage: tests/guest/bench-sandbox.sh [--rounds N] [--scale N] [--machine pci|microvm]
set -u
here=$(cd "$(dirname "$0")" && pwd)
rounds=3
scale=1
machine=pci
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=${2:?}; shift 2 ;;
        --scale) scale=${2:?}; shift 2 ;;
        --machine) machine=${2:?}; shift 2 ;;
        *) echo "bench-sandbox: unknown argument $1" >&2; exit 2 ;;
    esac
done
out=$(mktemp -d /tmp/arcbox-bench-sandbox.XXXXXX)
trap 'rm -rf "$out"' EXIT
for r in $(seq 1 "$rounds"); do
    for v in hardened none; do
        extra=()
        [ "$v" = none ] && extra=(--daemon-args "--sandbox none --seccomp none")
        echo "bench-sandbox: round $r, $v" >&2
        "$here/run-guest.sh" --server arcbox --machine "$machine" --mode bench --scale "$scale" \
            --timeout 600 "${extra[@]}" > "$out/$v.$r.txt" 2>&1
        grep -q '^ARCBOX-BENCH' "$out/$v.$r.txt" || { echo "bench-sandbox: $v round $r produced no results" >&2; tail -n 5 "$out/$v.$r.txt" >&2; }
        awk -v v="$v" '/^ARCBOX-BENCH/ { split($3, o, "="); split($4, t, "=");
            if (o[2] > 0) printf "%s %s %.3f\n", v, $2, t[2] / o[2] / 1000 }' "$out/$v.$r.txt" >> "$out/all.txt"
    done
done
echo "| workload | hardened µs/op (median of $rounds) | none µs/op (median of $rounds) | hardened / none |"
echo "|---|---|---|---|"
for w in $(awk '{print $2}' "$out/all.txt" | awk '!seen[$0]++'); do
    med() { awk -v v="$1" -v w="$w" '$1 == v && $2 == w {print $3}' "$out/all.txt" | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print 0}'; }
    h=$(med hardened); n=$(med none)
    awk -v w="$w" -v h="$h" -v n="$n" 'BEGIN { printf "| %s | %.2f | %.2f | %s |\n", w, h, n, (n > 0) ? sprintf("%.3f", h / n) : "-" }'
done
