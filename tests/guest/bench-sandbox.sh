#!/bin/bash
# What the sandbox and seccomp cost: the guest benchmark workloads
# (init.sh, mode bench) against arcbox-virtiofsd with its defaults
# (--sandbox namespace --seccomp kill) and with --sandbox none --seccomp none,
# interleaved with the order swapped every round (A B, B A, A B, ...), ROUNDS
# rounds each (default 3). Prints per workload the median µs/op of each, the
# ratio of the medians and the median of the per-round ratios (hardened /
# none; above 1 means the hardened daemon is slower), as a markdown table.
# The per-round ratio pairs two guests booted back to back, which cancels
# most of the drift of a shared machine.
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
    order="hardened none"
    [ $((r % 2)) = 0 ] && order="none hardened"
    for v in $order; do
        extra=()
        [ "$v" = none ] && extra=(--daemon-args "--sandbox none --seccomp none")
        echo "bench-sandbox: round $r, $v" >&2
        "$here/run-guest.sh" --server arcbox --machine "$machine" --mode bench --scale "$scale" \
            --timeout 600 "${extra[@]}" > "$out/$v.$r.txt" 2>&1
        grep -q '^ARCBOX-BENCH' "$out/$v.$r.txt" || { echo "bench-sandbox: $v round $r produced no results" >&2; tail -n 5 "$out/$v.$r.txt" >&2; }
        awk -v v="$v" '/^ARCBOX-BENCH/ { split($3, o, "="); split($4, t, "=");
            if (o[2] > 0) printf "%s %s %.3f %s\n", v, $2, t[2] / o[2] / 1000, r }' r="$r" "$out/$v.$r.txt" >> "$out/all.txt"
    done
done
echo "| workload | hardened µs/op (median of $rounds) | none µs/op (median of $rounds) | ratio of medians | median of per-round ratios |"
echo "|---|---|---|---|---|"
for w in $(awk '{print $2}' "$out/all.txt" | awk '!seen[$0]++'); do
    med() { awk -v v="$1" -v w="$w" '$1 == v && $2 == w {print $3}' "$out/all.txt" | sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print 0}'; }
    h=$(med hardened); n=$(med none)
    # Per round: hardened / none of the same round, then the median.
    pr=$(awk -v w="$w" '$2 == w { if ($1 == "hardened") h[$4] = $3; else n[$4] = $3 }
        END { for (r in h) if ((r in n) && n[r] > 0) print h[r] / n[r] }' "$out/all.txt" |
        sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.3f", a[int((NR+1)/2)]; else print "-"}')
    awk -v w="$w" -v h="$h" -v n="$n" -v pr="$pr" 'BEGIN { printf "| %s | %.2f | %.2f | %s | %s |\n", w, h, n, (n > 0) ? sprintf("%.3f", h / n) : "-", pr }'
done
