#!/bin/bash
# Benchmark (not a test): arcbox-fuse (PassthroughFs<LinuxHost> over
# /dev/fuse) against the native directory and bindfs, in one run, on the same
# disk. Prints every figure and its slowdown vs native (time ratio, >1 =
# slower) as a markdown table. Needs root (mount, drop_caches).
#
#   bench/fusedev.sh [--threads N] [--quick] [-- extra arcbox-fuse args]
#
# arcbox-fuse runs with --cache auto --timeout 86400 by default (libfuse's
# passthrough_hp defaults to the same day-long timeouts). "cold" means after
# `echo 3 > /proc/sys/vm/drop_caches`. --quick divides the counts by 10 and
# fio sizes by 8 (for a smoke run).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
threads=""
quick=0
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --threads) threads=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: $0 [--threads N] [--quick] [-- arcbox-fuse args]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bench/fusedev.sh needs root" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "bench/fusedev.sh needs /dev/fuse" >&2; exit 1; }

missing=100000 files=10000 fsize=1G rsecs=10
if [ "$quick" = 1 ]; then missing=10000 files=1000 fsize=128M rsecs=3; fi

export DEBIAN_FRONTEND=noninteractive
for p in fio bindfs gcc python3; do
    command -v $p >/dev/null || apt-get install -y -q fio bindfs gcc python3 >/dev/null
done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -q -p arcbox-fs-fusedev --bin arcbox-fuse -j 2
bin=$CARGO_TARGET_DIR/release/arcbox-fuse

w=$(mktemp -d /var/tmp/arcbox-bench.XXXXXX)
gcc -O2 -Wall -o "$w/meta" "$repo/bench/fusedev-meta.c"
pids=()
cleanup() {
    for m in "$w/arcbox/mnt" "$w/bindfs/mnt"; do umount -l "$m" 2>/dev/null || true; done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$w"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mounted() { grep -q " $1 " /proc/self/mountinfo; }
wait_mount() {
    for _ in $(seq 200); do mounted "$1" && return 0; sleep 0.05; done
    echo "mount at $1 did not appear" >&2
    exit 1
}

mkdir -p "$w/native" "$w/arcbox/src" "$w/arcbox/mnt" "$w/bindfs/src" "$w/bindfs/mnt"
args=(--cache auto --timeout 86400)
[ -n "$threads" ] && args+=(--threads "$threads")
"$bin" "$w/arcbox/src" "$w/arcbox/mnt" "${args[@]}" "${extra[@]}" &
pids+=($!)
wait_mount "$w/arcbox/mnt"
bindfs "$w/bindfs/src" "$w/bindfs/mnt"
wait_mount "$w/bindfs/mnt"

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
declare -A R

# fio JOB DIR RW BS -> seconds (sequential) or seconds per 100k IOs (random)
fio_run() {
    local name=$1 dir=$2 rw=$3 bs=$4
    shift 4
    fio --name="$name" --directory="$dir" --filename=bench.dat --rw="$rw" --bs="$bs" --size="$fsize" \
        --ioengine=psync --output-format=json "$@" >"$w/fio.json"
    python3 - "$w/fio.json" "$rw" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
side = j["write"] if sys.argv[2] == "write" else j["read"]
if sys.argv[2] == "randread":
    print("%.6f" % (100000.0 / side["iops"]))   # seconds per 100k reads
else:
    print("%.6f" % (side["runtime"] / 1000.0))
PY
}

for t in native arcbox bindfs; do
    case $t in
    native) d=$w/native ;;
    *) d=$w/$t/mnt ;;
    esac
    echo "== $t" >&2
    mkdir -p "$d/miss" "$d/files"
    drop
    R[$t,miss_cold]=$("$w/meta" missing "$d/miss" $missing)
    R[$t,miss_rep]=$("$w/meta" missing "$d/miss" $missing)
    R[$t,create]=$("$w/meta" create "$d/files" $files)
    drop
    R[$t,stat_cold]=$("$w/meta" stat "$d/files" $files)
    R[$t,stat_warm]=$("$w/meta" stat "$d/files" $files)
    drop
    R[$t,readdir]=$("$w/meta" readdir "$d/files" $files)
    R[$t,unlink]=$("$w/meta" unlink "$d/files" $files)
    R[$t,seqwrite]=$(fio_run seqwrite "$d" write 1M --end_fsync=1)
    drop
    R[$t,seqread]=$(fio_run seqread "$d" read 1M)
    drop
    R[$t,randread]=$(fio_run randread "$d" randread 4k --time_based --runtime=$rsecs)
    rm -f "$d/bench.dat"
done

ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print('%.2f' % (b/a) if a > 0 else 'n/a')" "$1" "$2"; }
echo
echo "arcbox-fuse ${args[*]} ${extra[*]}; $(nproc) CPUs; kernel $(uname -r); times in seconds"
echo
echo "| benchmark | native | arcbox-fuse | slowdown | target | bindfs | slowdown |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
row() { # key label target
    local n=${R[native,$1]} a=${R[arcbox,$1]} b=${R[bindfs,$1]}
    echo "| $2 | $n | $a | $(ratio "$n" "$a")× | ≤ $3× | $b | $(ratio "$n" "$b")× |"
}
row miss_cold "stat ×$missing missing names, cold" 20
row miss_rep "stat ×$missing missing names, repeated" 1.1
row create "create + write 4 KiB + close ×$files" 3.5
row stat_cold "stat ×$files files, cold" 15
row stat_warm "stat ×$files files, warm" 1.15
row readdir "readdir of $files entries, cold" 2
row unlink "unlink ×$files" 1.3
row seqwrite "fio seq write $fsize bs 1M (+fsync)" 1.2
row seqread "fio seq read $fsize bs 1M, cold" 3
row randread "fio rand read 4 KiB, cold start, s per 100k" 2
