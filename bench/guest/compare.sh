#!/bin/bash
# Several virtio-fs daemons in ONE Linux guest (QEMU TCG, vhost-user-fs-pci):
# each daemon serves its own copy of the benchmark share on its own device,
# and the guest (tests/guest/init.sh, mode compare) runs the benchmark
# workloads (missing-name lookup storm, stat, create+unlink, readdir,
# sequential write and read) on each mount in turn, ROUNDS rounds, the order
# rotating every round. Same guest, same boot, interleaved: the boot-to-boot
# speed differences of a TCG guest (±20 % here) cancel out.
#
# Prints, per workload, each daemon's median µs/op over the rounds (MiB/s for
# the sequential rows) and, for every daemon after the first, the ratio
# first / that daemon of the medians and the median of the per-round ratios
# (below 1: the first daemon is faster), as a markdown table.
#
# Usage: bench/guest/compare.sh [--rounds N] [--scale N] [--cache MODE] [--smp N]
#          [--par P] [--workloads W,W...] [--kernel 6.1|6.12] [--queues N]
#          [--strace DIR] PRESET|NAME=CMD...
#   --par P: also the parallel rows (P guest processes: create+stat+unlink,
#          P writers of 64 MiB x scale each, P verifying readers); the host
#          checks the last round's files against the guest's checksums.
#   --workloads: a subset of storm,miss,stat,create,readdir,seq (miss: the
#          first pass of storm only; none: mount
#          and unmount only, the baseline of --strace).
#   --queues N: num-request-queues of every device (default 1);
#          --queues-of NAME=N for one daemon's device (the virtiofsd builds
#          serve one request queue only).
#   --strace DIR: run each daemon under `strace -f -c` and leave its syscall
#          summary in DIR/NAME.strace (and its log in DIR/NAME.log).
#   PRESET sandbox: arcbox-virtiofsd with its defaults (--sandbox namespace
#          --seccomp kill) vs --sandbox none --seccomp none.
#   PRESET anchors: arcbox-virtiofsd vs the Rust virtiofsd vs QEMU's C
#          virtiofsd (those installed), each with --thread-pool-size as given
#          by $ARCBOX_POOL / $RUST_POOL (default: each daemon's default).
#   NAME=CMD: a daemon command line; @SOCK@ and @SHARE@ are replaced by its
#          socket and share, @CACHE@ by the cache mode.
#   arcbox-virtiofsd is built in release first unless $ARCBOX_VIRTIOFSD names one.
# As root, the shares live on one fresh journaled ext4 made for the run on a
# loop device (direct I/O to an image under /var/tmp), as in
# bench/fusedev.sh: ext4 without a journal (this machine's root file
# system) skips every inode freed in the last 30 s when it allocates one
# (recently_deleted(), fs/ext4/ialloc.c), so one daemon's creates would pay
# for the files another daemon had just removed. ARCBOX_COMPARE_ON_ROOT=1
# keeps them on /tmp's file system.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
gk=$repo/tests/guest
rounds=3
scale=1
cache=auto
smp=1
par=0
workloads=storm,stat,create,readdir,seq
kernel=6.1
queues=1
strace_dir=""
queues_of=()
specs=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) rounds=${2:?}; shift 2 ;;
        --scale) scale=${2:?}; shift 2 ;;
        --cache) cache=${2:?}; shift 2 ;;
        --smp) smp=${2:?}; shift 2 ;;
        --par) par=${2:?}; shift 2 ;;
        --workloads) workloads=${2:?}; shift 2 ;;
        --kernel) kernel=${2:?}; shift 2 ;;
        --queues) queues=${2:?}; shift 2 ;;
        --queues-of) queues_of+=("${2:?}"); shift 2 ;;
        --strace) strace_dir=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
        *) specs+=("$1"); shift ;;
    esac
done
[ ${#specs[@]} -gt 0 ] || { echo "compare: name a preset or NAME=CMD daemons" >&2; exit 2; }
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
if [ -z "${ARCBOX_VIRTIOFSD:-}" ]; then
    cargo build --release -q -p arcbox-fs-vhost-user --bin arcbox-virtiofsd -j 2 || exit 1
    ARCBOX_VIRTIOFSD=$CARGO_TARGET_DIR/release/arcbox-virtiofsd
fi
A=$ARCBOX_VIRTIOFSD
# The anchors: bench/setup-anchors.sh's, else what is installed.
rust_bin=${VIRTIOFSD_RUST:-$repo/target/anchors/bin/virtiofsd}
[ -x "$rust_bin" ] || rust_bin=$(command -v virtiofsd || echo "$HOME/.cargo/bin/virtiofsd")
c_bin=${VIRTIOFSD_C:-$repo/target/anchors/bin/virtiofsd-c}
[ -x "$c_bin" ] || c_bin=/usr/lib/qemu/virtiofsd
names=()
cmds=()
add() { names+=("$1"); cmds+=("$2"); }
for s in "${specs[@]}"; do
    case "$s" in
        sandbox)
            add hardened "$A --socket-path=@SOCK@ --shared-dir=@SHARE@ --cache=@CACHE@ --xattr --log-level=warn"
            add none "$A --socket-path=@SOCK@ --shared-dir=@SHARE@ --cache=@CACHE@ --xattr --log-level=warn --sandbox none --seccomp none" ;;
        anchors)
            add arcbox "$A --socket-path=@SOCK@ --shared-dir=@SHARE@ --cache=@CACHE@ --xattr --log-level=warn ${ARCBOX_POOL:+--thread-pool-size=$ARCBOX_POOL}"
            [ -x "$rust_bin" ] && add virtiofsd "$rust_bin --socket-path=@SOCK@ --shared-dir=@SHARE@ --cache=@CACHE@ --xattr --sandbox=none --log-level=warn ${RUST_POOL:+--thread-pool-size=$RUST_POOL}"
            [ -x "$c_bin" ] && add virtiofsd-c "$c_bin --socket-path=@SOCK@ -o source=@SHARE@ -o cache=@CCACHE@ -o xattr -o sandbox=chroot -o log_level=warn" ;;
        *=*) add "${s%%=*}" "${s#*=}" ;;
        *) echo "compare: unknown preset $s" >&2; exit 2 ;;
    esac
done
command -v qemu-system-x86_64 >/dev/null || { echo "compare: qemu-system-x86_64 missing" >&2; exit 3; }
cache_dir=${ARCBOX_GUEST_CACHE:-$repo/target/guest-cache}
mkdir -p "$cache_dir"
kdir=$("$gk/fetch-kernel.sh" "$cache_dir" "$kernel" | sed -n 's/^KERNEL_DIR=//p')
[ -n "$kdir" ] || { echo "compare: kernel fetch failed" >&2; exit 1; }
initrd=$cache_dir/initramfs-$kernel.cpio.gz
"$gk/build-initramfs.sh" "$kdir" "$initrd" 2>/dev/null || { echo "compare: initramfs build failed" >&2; exit 1; }

work=$(mktemp -d /tmp/arcbox-compare.XXXXXX)
pids=()
. "$repo/bench/scratch-fs.sh"
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    scratch_fs_remove
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
shares=$work
if [ "$(id -u)" = 0 ] && [ "${ARCBOX_COMPARE_ON_ROOT:-0}" != 1 ]; then
    scratch_fs_make "$work/fs" 8G || exit 1
    shares=$work/fs
fi
ccache=$cache
[ "$cache" = never ] && ccache=none
# The request queues of daemon NAME's device.
queues_for() {
    local q=$queues s
    for s in "${queues_of[@]}"; do [ "${s%%=*}" = "$1" ] && q=${s#*=}; done
    echo "$q"
}
devs=()
tags=()
for i in "${!names[@]}"; do
    share=$shares/share$i
    mkdir -p "$share/bench/tree" "$share/bench/scratch"
    for f in $(seq 0 99); do echo "$f" > "$share/bench/tree/f$f"; done
    for r in $(seq 1 "$rounds"); do mkdir "$share/bench/storm$r"; done
    cmd=${cmds[$i]//@SOCK@/$work/sock$i}
    cmd=${cmd//@SHARE@/$share}
    cmd=${cmd//@CCACHE@/$ccache}
    cmd=${cmd//@CACHE@/$cache}
    wrap=()
    if [ -n "$strace_dir" ]; then
        mkdir -p "$strace_dir"
        wrap=(strace -f -c -o "$strace_dir/${names[$i]}.strace")
    fi
    # shellcheck disable=SC2086 # the command line is word-split on purpose.
    "${wrap[@]}" $cmd >"$work/daemon$i.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 300); do [ -S "$work/sock$i" ] && break; sleep 0.1; done
    [ -S "$work/sock$i" ] || { echo "compare: ${names[$i]} did not start: $(head -c 300 "$work/daemon$i.log")" >&2; exit 1; }
    devs+=(-chardev "socket,id=vufs$i,path=$work/sock$i"
           -device "vhost-user-fs-pci,queue-size=1024,num-request-queues=$(queues_for "${names[$i]}"),chardev=vufs$i,tag=t$i")
    tags+=("t$i")
done
echo "compare: ${names[*]} in one guest (kernel $kernel, $smp vCPU, $queues queue(s)), $rounds rounds, scale $scale, cache $cache, $par parallel processes" >&2
timeout 3600 qemu-system-x86_64 -M pc -accel tcg -cpu qemu64,-cx16 -m 1G -smp "$smp" -nographic -no-reboot -nodefaults \
    -serial stdio -kernel "$kdir/vmlinuz" -initrd "$initrd" \
    -object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem "${devs[@]}" \
    -append "console=ttyS0 panic=-1 quiet loglevel=4 arcbox.mode=compare arcbox.scale=$scale arcbox.rounds=$rounds arcbox.workloads=$workloads arcbox.par=$par arcbox.tags=$(IFS=,; echo "${tags[*]}")" \
    </dev/null 2>&1 | tr -d '\r' | grep -ao 'ARCBOX-[A-Z]*.*' >"$work/results.txt"
grep -q '^ARCBOX-DONE' "$work/results.txt" || { echo "compare: the guest did not finish:" >&2; tail -n 5 "$work/results.txt" >&2; exit 1; }
grep '^ARCBOX-RESULT .* FAIL' "$work/results.txt" >&2 && exit 1
# The parallel writers' files, checked on the host against the guest's sums.
while read -r _ f sum; do
    i=${f%%/*}; i=${i#t}
    host=$(sha256sum "$shares/share$i/bench/${f#*/}" | cut -d' ' -f1)
    [ "$host" = "$sum" ] || { echo "compare: ${names[$i]}: ${f#*/} differs on the host" >&2; exit 1; }
done < <(grep '^ARCBOX-HASH ' "$work/results.txt")
if [ -n "$strace_dir" ]; then
    # The daemons leave when the guest's connection closes; strace writes
    # its summary then.
    for p in "${pids[@]}"; do
        for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    done
    for i in "${!names[@]}"; do cp "$work/daemon$i.log" "$strace_dir/${names[$i]}.log"; done
    cp "$work/results.txt" "$strace_dir/results.txt"
fi

# ARCBOX-CMP <tag> <round> <workload> ops=N ns=T bytes=B → "i round workload value"
# (value: µs per op, or MiB/s for seq-*).
awk '/^ARCBOX-CMP/ { i = substr($2, 2); split($5, o, "="); split($6, t, "="); split($7, b, "=");
    if ($4 ~ /^(seq|par-write|par-read)/) v = (t[2] > 0) ? b[2] / 1048576 / (t[2] / 1e9) : 0;
    else v = (o[2] > 0) ? t[2] / o[2] / 1000 : 0;
    printf "%s %s %s %.3f\n", i, $3, $4, v }' "$work/results.txt" >"$work/all.txt"

med() { sort -g | awk '{a[NR]=$1} END {if (NR) printf "%.3f", a[int((NR+1)/2)]; else printf "-"}'; }
hdr="| workload (unit) |"
sep="|---|"
for n in "${names[@]}"; do hdr="$hdr $n |"; sep="$sep---|"; done
for n in "${names[@]:1}"; do hdr="$hdr ${names[0]} / $n (medians; per-round) |"; sep="$sep---|"; done
echo "$hdr"
echo "$sep"
for w in $(awk '{print $3}' "$work/all.txt" | awk '!seen[$0]++'); do
    unit="µs/op"
    case "$w" in seq*|par-write|par-read) unit="MiB/s" ;; esac
    row="| $w ($unit) |"
    m0=""
    for i in "${!names[@]}"; do
        m=$(awk -v i="$i" -v w="$w" '$1 == i && $3 == w {print $4}' "$work/all.txt" | med)
        [ "$i" = 0 ] && m0=$m
        row="$row $m |"
    done
    for i in "${!names[@]}"; do
        [ "$i" = 0 ] && continue
        m=$(awk -v i="$i" -v w="$w" '$1 == i && $3 == w {print $4}' "$work/all.txt" | med)
        # Time ratios for µs/op, inverse for MiB/s: below 1 = the first is faster.
        rate=0
        [ "$unit" = MiB/s ] && rate=1
        pr=$(awk -v i="$i" -v w="$w" -v rate="$rate" '$3 == w { if ($1 == 0) a[$2] = $4; if ($1 == i) b[$2] = $4 }
            END { for (r in a) if ((r in b) && a[r] > 0 && b[r] > 0) print rate ? b[r] / a[r] : a[r] / b[r] }' "$work/all.txt" | med)
        if [ "$rate" = 1 ]; then
            mr=$(awk -v a="$m0" -v b="$m" 'BEGIN { if (a > 0) printf "%.3f", b / a; else printf "-" }')
        else
            mr=$(awk -v a="$m0" -v b="$m" 'BEGIN { if (b > 0) printf "%.3f", a / b; else printf "-" }')
        fi
        row="$row $mr; $pr |"
    done
    echo "$row"
done
