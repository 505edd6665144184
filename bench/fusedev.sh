#!/bin/bash
# Benchmark (not a test): arcbox-fuse (PassthroughFs<LinuxHost> over
# /dev/fuse) in each transport mode against the native directory, on the
# same disk, in one run. Needs root (mount, drop_caches, kernel passthrough).
#
#   bench/fusedev.sh [--rounds N] [--configs LIST] [--quick] [--threads N]
#                    [--watch MODE] [--raw FILE] [--stats] [--dir DIR]
#                    [-- extra arcbox-fuse args]
#
# Configurations (--configs, comma-separated; default
# native,default,pt,uring,both):
#   native   the directory itself
#   default  arcbox-fuse --passthrough off --io-uring off (requests and data
#            through read/write on /dev/fuse)
#   pt       --passthrough on --io-uring off (FUSE_PASSTHROUGH for file data)
#   uring    --passthrough off --io-uring on (FUSE-over-io_uring)
#   both     --passthrough on --io-uring on
#   wb       --passthrough off --io-uring off --writeback (write-back cache;
#            the kernel refuses it together with passthrough)
#   bindfs   bindfs (libfuse 2 high-level, single-threaded), if installed
#   hp       libfuse 3.18's passthrough_hp (kernel passthrough on, its
#            defaults: day-long timeouts), built by bench/setup-anchors.sh
#   hpu      passthrough_hp -o io_uring (kernel passthrough + io_uring)
# Every directory (native's, and each server's source) lives on one fresh
# ext4 file system with a journal, made for the run on a loop device
# (direct I/O to an image file under /var/tmp): ext4 without a journal, as
# this machine's root file system is, skips on allocation every inode freed
# in the last 30 s (recently_deleted(), fs/ext4/ialloc.c), so creating files
# soon after deleting others there costs O(n) per create, and each row
# would depend on what the previous configuration had just removed
# (measured: extracting the tree's tar right after an rm -rf took 5-6 s
# natively on the root file system, 0.25 s on the journaled image).
# --dir DIR runs on DIR's file system instead.
# Every arcbox-fuse configuration runs with --cache auto --timeout 86400
# (libfuse's passthrough_hp defaults to the same day-long timeouts) and
# --watch none (--watch MODE to change it: the default fanotify watcher
# marks the whole file system, so several mounts on one disk would each
# take the events of all the others and of native, slowing native). Each
# configuration is mounted once for the whole run. A round runs every
# workload set once in every configuration, the order rotating by one each
# round; the table shows native's median and each configuration's median
# slowdown against native (time ratio, > 1 = slower). The io_uring
# configurations set /sys/module/fuse/parameters/enable_uring to Y for the
# run and restore it at exit.
#
# Workloads: the C metadata loops of bench/fusedev-meta.c, fio (sequential
# write + fsync, sequential read cold and cached, 4 KiB random read), and a
# real one on a source tree: the first crates (in name order) of the local
# cargo registry's unpacked sources that reach 6000 files (600 with
# --quick), packed once per run into a tar; extract it, `git init && git add
# -A`, `git status` twice (the second, warm, is timed), sha256sum of every
# file of the tree (checked against native's), `rm -rf`. "cold" means after
# `sync; echo 3 > /proc/sys/vm/drop_caches`. --quick divides the counts by
# 10 and the fio size by 8 (a smoke run). --raw FILE keeps every sample
# (config, workload, round, seconds). --stats prints each daemon's request
# counts (its `--log-level info` stats at exit) after the table.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
threads="" quick=0 rounds=3 raw="" stats=0 watch=none on_dir=""

configs=native,default,pt,uring,both
extra=()
usage() {
    echo "usage: $0 [--rounds N] [--configs LIST] [--quick] [--threads N] [--watch MODE] [--raw FILE] [--stats] [--dir DIR] [-- arcbox-fuse args]" >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --threads) threads=$2; shift 2 ;;
    --watch) watch=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --configs) configs=$2; shift 2 ;;
    --raw) raw=$2; shift 2 ;;
    --stats) stats=1; shift ;;
    --dir) on_dir=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) usage ;;
    esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || usage
[ "$(id -u)" = 0 ] || { echo "bench/fusedev.sh needs root" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "bench/fusedev.sh needs /dev/fuse" >&2; exit 1; }
IFS=, read -r -a cfgs <<<"$configs"
[ "${cfgs[0]:-}" = native ] || { echo "--configs must start with native" >&2; exit 2; }
want_uring=0 want_hp=0
for c in "${cfgs[@]}"; do
    case $c in
    native | default | pt | wb | bindfs) ;;
    uring | both) want_uring=1 ;;
    hp) want_hp=1 ;;
    hpu) want_hp=1 want_uring=1 ;;
    *) echo "unknown configuration $c" >&2; exit 2 ;;
    esac
done

missing=100000 files=10000 fsize=1G rsecs=10 treefiles=6000
if [ "$quick" = 1 ]; then missing=10000 files=1000 fsize=128M rsecs=3 treefiles=600; fi

export DEBIAN_FRONTEND=noninteractive
for p in fio gcc python3 git; do
    command -v $p >/dev/null || apt-get install -y -q $p >/dev/null
done
case ",$configs," in *,bindfs,*) command -v bindfs >/dev/null || apt-get install -y -q bindfs >/dev/null ;; esac

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build --release -q -p arcbox-fs-fusedev --bin arcbox-fuse -j 2
bin=$CARGO_TARGET_DIR/release/arcbox-fuse
hp_bin=$repo/target/anchors/bin/passthrough_hp
if [ "$want_hp" = 1 ] && [ ! -x "$hp_bin" ]; then
    bash "$repo/bench/setup-anchors.sh" --only passthrough_hp >/dev/null
fi

if [ -n "$on_dir" ]; then
    w=$(mktemp -d "$on_dir/arcbox-bench.XXXXXX")
else
    w=$(mktemp -d /var/tmp/arcbox-bench.XXXXXX)
    . "$repo/bench/scratch-fs.sh"
    scratch_fs_make "$w" 16G
fi
gcc -O2 -Wall -o "$w/meta" "$repo/bench/fusedev-meta.c"
param=/sys/module/fuse/parameters/enable_uring
old_param=""
declare -A pid
cleanup() {
    for c in "${cfgs[@]}"; do
        [ "$c" = native ] || umount "$w/$c/mnt" 2>/dev/null || umount -l "$w/$c/mnt" 2>/dev/null || true
    done
    for c in "${!pid[@]}"; do
        # The daemon ends on unmount; wait for its stats, then make sure.
        for _ in $(seq 100); do kill -0 "${pid[$c]}" 2>/dev/null || break; sleep 0.05; done
        kill "${pid[$c]}" 2>/dev/null || true
    done
    if [ "$stats" = 1 ]; then
        for c in "${!pid[@]}"; do
            echo "== $c: stats at exit" >&2
            sed -n '/stats at exit/,$p' "$w/$c.log" | sed 1d >&2 || true
        done
    fi
    [ -n "$old_param" ] && echo "$old_param" >"$param"
    if [ -n "$on_dir" ]; then
        rm -rf "$w"
    else
        scratch_fs_remove
        rmdir "$w"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$want_uring" = 1 ]; then
    [ -w "$param" ] || { echo "io_uring configurations need $param" >&2; exit 1; }
    old_param=$(cat "$param")
    echo Y >"$param"
fi

mounted() { grep -q " $1 " /proc/self/mountinfo; }
wait_mount() { # MNT [LOG]
    for _ in $(seq 200); do mounted "$1" && return 0; sleep 0.05; done
    echo "mount at $1 did not appear" >&2
    [ -n "${2:-}" ] && cat "$2" >&2
    exit 1
}

base=(--cache auto --timeout 86400 --watch "$watch" --log-level info)
[ -n "$threads" ] && base+=(--threads "$threads")
declare -A dir
for c in "${cfgs[@]}"; do
    case $c in
    native) mkdir -p "$w/native"; dir[$c]=$w/native; continue ;;
    default) mode=(--passthrough off --io-uring off) ;;
    pt) mode=(--passthrough on --io-uring off) ;;
    uring) mode=(--passthrough off --io-uring on) ;;
    both) mode=(--passthrough on --io-uring on) ;;
    wb) mode=(--passthrough off --io-uring off --writeback) ;;
    esac
    mkdir -p "$w/$c/src" "$w/$c/mnt"
    dir[$c]=$w/$c/mnt
    if [ "$c" = bindfs ]; then
        bindfs "$w/$c/src" "$w/$c/mnt"
    elif [ "$c" = hp ] || [ "$c" = hpu ]; then
        hp_args=()
        [ "$c" = hpu ] && hp_args=(-o io_uring)
        "$hp_bin" --foreground "${hp_args[@]}" "$w/$c/src" "$w/$c/mnt" 2>"$w/$c.log" &
        pid[$c]=$!
    else
        "$bin" "$w/$c/src" "$w/$c/mnt" "${base[@]}" "${mode[@]}" "${extra[@]}" 2>"$w/$c.log" &
        pid[$c]=$!
    fi
    wait_mount "$w/$c/mnt" "$w/$c.log"
done

# The source tree: whole crates in name order until $treefiles files.
reg=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/ 2>/dev/null | head -1)
[ -n "$reg" ] || { echo "no unpacked cargo registry sources to make the tree from" >&2; exit 1; }
n=0 crates=()
while read -r d; do
    crates+=("$d")
    n=$((n + $(find "$reg/$d" -type f | wc -l)))
    [ $n -ge $treefiles ] && break
done < <(ls "$reg" | LC_ALL=C sort)
tar -C "$reg" -cf "$w/tree.tar" "${crates[@]}"
treedesc="$n files, ${#crates[@]} crates ${crates[0]} .. ${crates[-1]} from the cargo registry, $(du -sm "$w/tree.tar" | cut -f1) MB tar"
echo "tree: $treedesc" >&2

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
samples=$w/samples.tsv
: >"$samples"
put() { printf '%s\t%s\t%s\t%s\n' "$c" "$1" "$round" "$2" >>"$samples"; }
# timed CMD... -> seconds, as bash measures them
timed() {
    local t0=$EPOCHREALTIME
    "$@" >/dev/null
    python3 -c "import sys; print('%.6f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$t0" "$EPOCHREALTIME"
}

# fio JOB DIR RW BS -> seconds (sequential) or seconds per 100k IOs (random)
fio_run() {
    local name=$1 d=$2 rw=$3 bs=$4
    shift 4
    fio --name="$name" --directory="$d" --filename=bench.dat --rw="$rw" --bs="$bs" --size="$fsize" \
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

export HOME=$w GIT_CONFIG_NOSYSTEM=1
git config --global init.defaultBranch main
git config --global safe.directory '*'
workloads() {
    local d=$1
    mkdir -p "$d/miss" "$d/files"
    drop
    put miss_cold "$("$w/meta" missing "$d/miss" $missing)"
    put miss_rep "$("$w/meta" missing "$d/miss" $missing)"
    put create "$("$w/meta" create "$d/files" $files)"
    drop
    put stat_cold "$("$w/meta" stat "$d/files" $files)"
    put stat_warm "$("$w/meta" stat "$d/files" $files)"
    drop
    put readdir_cold "$("$w/meta" readdir "$d/files" $files)"
    put readdir_rep "$("$w/meta" readdir "$d/files" $files)"
    put unlink "$("$w/meta" unlink "$d/files" $files)"
    rmdir "$d/miss" "$d/files"
    put seqwrite "$(fio_run seqwrite "$d" write 1M --end_fsync=1)"
    drop
    put seqread_cold "$(fio_run seqread "$d" read 1M)"
    put seqread_cached "$(fio_run seqread "$d" read 1M)"
    drop
    put randread "$(fio_run randread "$d" randread 4k --time_based --runtime=$rsecs)"
    rm -f "$d/bench.dat"
    cat "$w/tree.tar" >/dev/null # the tar itself is read from the page cache
    mkdir "$d/t"
    put tar "$(timed tar -C "$d/t" -xf "$w/tree.tar")"
    put gitadd "$(cd "$d/t" && timed sh -c 'git init -q && git add -A')"
    (cd "$d/t" && git status --porcelain >/dev/null)
    put gitstatus "$(cd "$d/t" && timed sh -c 'git status --porcelain >/dev/null')"
    put sha "$(cd "$d/t" && timed sh -c "find . -path ./.git -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum >'$w/sum.$c'")"
    cmp -s "$w/sum.$c" "$w/sum.native" || { echo "$c: checksums of the tree differ from native's" >&2; exit 1; }
    put rmrf "$(timed rm -rf "$d/t")"
}

nc=${#cfgs[@]}
for round in $(seq "$rounds"); do
    for i in $(seq 0 $((nc - 1))); do
        # Round 1 runs the list in order (native first: its checksums are
        # the reference); each later round starts one further on.
        c=${cfgs[$(((i + round - 1) % nc))]}
        echo "== round $round: $c ($(date +%T))" >&2
        workloads "${dir[$c]}"
    done
done
[ -n "$raw" ] && cp "$samples" "$raw"

echo
echo "arcbox-fuse ${base[*]} ${extra[*]}; $(nproc) CPUs; kernel $(uname -r); $rounds rounds; medians; tree: $treedesc"
for c in "${!pid[@]}"; do
    case $c in hp | hpu) continue ;; esac
    echo "- $c: $(grep -hoE '(kernel passthrough|io_uring): [^;(]*' "$w/$c.log" | paste -sd, -)"
done
echo
python3 - "$samples" "$configs" "$missing" "$files" "$fsize" <<'PY'
import statistics, sys
from collections import defaultdict
samples, cfgs, missing, files, fsize = sys.argv[1], sys.argv[2].split(","), *sys.argv[3:]
v = defaultdict(list)
for line in open(samples):
    c, k, _, s = line.split("\t")
    v[c, k].append(float(s))
names = {"default": "default", "pt": "passthrough", "uring": "io_uring",
         "both": "passthrough + io_uring", "wb": "writeback", "bindfs": "bindfs",
         "hp": "passthrough_hp", "hpu": "passthrough_hp + io_uring"}
rows = [  # key, label, "Done means" target with passthrough and io_uring both on
    ("miss_cold", f"stat ×{missing} missing names, cold", ""),
    ("miss_rep", f"stat ×{missing} missing names, repeated", "1.2"),
    ("create", f"create + write 4 KiB + close ×{files}", "1.6"),
    ("stat_cold", f"stat ×{files} files, cold", "8"),
    ("stat_warm", f"stat ×{files} files, warm", ""),
    ("readdir_cold", f"readdir of {files} entries, cold", ""),
    ("readdir_rep", f"readdir of {files} entries, repeated", "0.5"),
    ("unlink", f"unlink ×{files}", ""),
    ("seqwrite", f"fio seq write {fsize} bs 1M + fsync", "1.15"),
    ("seqread_cold", f"fio seq read {fsize} bs 1M, cold", "1.15"),
    ("seqread_cached", f"fio seq read {fsize} bs 1M, cached", "1.15"),
    ("randread", "fio rand read 4 KiB, s per 100k", "1.1"),
    ("tar", "extract the tree's tar", "3.9"),
    ("gitadd", "`git init && git add -A`", "1.7"),
    ("gitstatus", "`git status`, warm", "1.7"),
    ("sha", "sha256sum of every file", ""),
    ("rmrf", "`rm -rf` of the tree", "1.1"),
]
others = [c for c in cfgs if c != "native"]
# Against the anchor in the same run: arcbox-fuse with both features over
# passthrough_hp with both (< 1 = arcbox-fuse faster).
vs_hp = "both" in cfgs and "hpu" in cfgs
print("| workload | native s | " + " | ".join(names[c] for c in others)
      + (" | both ÷ passthrough_hp + io_uring" if vs_hp else "") + " | target (both) |")
print("| --- | ---: | " + " | ".join("---:" for _ in others) + (" | ---:" if vs_hp else "") + " | ---: |")
for k, label, target in rows:
    n = statistics.median(v["native", k])
    cells = []
    for c in others:
        m = statistics.median(v[c, k])
        cells.append("%.2f×" % (m / n) if n > 0 else "n/a")
    if vs_hp:
        h = statistics.median(v["hpu", k])
        cells.append("%.2f" % (statistics.median(v["both", k]) / h) if h > 0 else "n/a")
    print(f"| {label} | {n:.4g} | " + " | ".join(cells) + f" | {'≤ ' + target + '×' if target else ''} |")
PY
