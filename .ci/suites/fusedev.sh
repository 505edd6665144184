#!/bin/bash
# CI suite "fusedev": arcbox-fuse (PassthroughFs<LinuxHost> over /dev/fuse)
# against the Linux kernel's own FUSE client, as root:
#   - pjdfstest on a fresh mount (allow_other, default_permissions), compared
#     with the same run on a native directory;
#   - stress-ng filesystem stressors on the mount, one at a time, bounded;
#   - the transport, data-integrity and git-workload integration tests
#     (transports/fusedev/tests) in release mode;
#   - clean unmount of every mount on SIGTERM.
# Installs its packages (stress-ng, fio, git, fuse3) and pjdfstest (crates.io,
# skipped when present), creates the `tests` user pjdfstest switches to,
# prints every check and a final "N passed, M failed" line, and exits
# non-zero if any check failed. Skips (loudly) only without root or /dev/fuse.
set -u
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

skip() {
    echo "############################################################"
    echo "### SKIPPED: fusedev suite: $*"
    echo "############################################################"
    exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (mount(2), pjdfstest user switching)"
[ -c /dev/fuse ] || skip "/dev/fuse is absent"

passed=0
failed=0
failures=()
check() { # check NAME STATUS [DETAIL]
    if [ "$2" = 0 ]; then
        passed=$((passed + 1))
        echo "PASS $1${3:+: $3}"
    else
        failed=$((failed + 1))
        failures+=("$1")
        echo "FAIL $1${3:+: $3}"
    fi
}
finish() {
    [ "$failed" = 0 ] || echo "fusedev failures: ${failures[*]}"
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

export DEBIAN_FRONTEND=noninteractive
pkgs="stress-ng fio git fuse3 xfsprogs acl util-linux"
if ! apt-get install -y -q $pkgs >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q $pkgs >/dev/null 2>&1
fi
for p in stress-ng git xfs_io fio; do
    command -v $p >/dev/null || { check "install $p" 1; finish; }
done
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v pjdfstest >/dev/null; then
    timeout 900 cargo install pjdfstest --locked -j 2 -q || { check "cargo install pjdfstest" 1; finish; }
fi
# fsx (the Rust port from crates.io; Debian packages no fsx).
if ! command -v fsx >/dev/null; then
    timeout 900 cargo install fsx --locked -j 2 -q || { check "cargo install fsx" 1; finish; }
fi
id tests >/dev/null 2>&1 || useradd -M -U tests || { check "useradd tests" 1; finish; }

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
if ! cargo build --release -q -p arcbox-fs-fusedev --bin arcbox-fuse -j 2; then
    check "build arcbox-fuse" 1
    finish
fi
bin=$CARGO_TARGET_DIR/release/arcbox-fuse

work=$(mktemp -d /var/tmp/arcbox-fusedev.XXXXXX)
chmod 755 "$work" # pjdfstest's unprivileged users must traverse it
daemons=()
cleanup() {
    for pid in "${daemons[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    grep -o " $work/[^ ]*" /proc/self/mountinfo | while read -r m; do umount -l "$m"; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mounted() { grep -q " $1 " /proc/self/mountinfo; }

# start NAME ARGS...: serves $work/NAME/src at $work/NAME/mnt; sets $mnt, $pid.
start() {
    local name=$1
    shift
    mkdir -p "$work/$name/src" "$work/$name/mnt"
    chmod 777 "$work/$name/src"
    mnt=$work/$name/mnt
    "$bin" "$work/$name/src" "$mnt" "$@" 2>"$work/$name/daemon.log" &
    pid=$!
    daemons+=("$pid")
    for _ in $(seq 200); do
        mounted "$mnt" && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "arcbox-fuse did not mount $mnt:"
    cat "$work/$name/daemon.log"
    return 1
}

# stop NAME: SIGTERM, and check that the daemon exits and the mount is gone.
stop() {
    local name=$1 st=0
    kill -TERM "$pid" 2>/dev/null
    timeout 30 tail --pid="$pid" -f /dev/null || st=1
    wait "$pid" 2>/dev/null || st=1
    mounted "$work/$name/mnt" && st=1
    check "$name: clean exit and unmount on SIGTERM" "$st"
}

# --- pjdfstest -----------------------------------------------------------
cat >"$work/pjdfstest.toml" <<'TOML'
[features]
posix_fallocate = {}
utime_now = {}
utimensat = {}
rename_ctime = {}

[settings]
naptime = 0.01
allow_remount = false

[dummy_auth]
entries = [["nobody", "nogroup"], ["tests", "tests"]]
TOML
summary() { grep -a '^Summary:' "$1" | tail -n 1; }
mkdir -m 777 "$work/native"
(cd "$work/native" && timeout -k 10 300 pjdfstest -c "$work/pjdfstest.toml" -p "$work/native" >"$work/pjd-native.log" 2>&1)
echo "pjdfstest native: $(summary "$work/pjd-native.log")"
if start pjdfstest --allow-other --default-permissions; then
    (cd "$mnt" && timeout -k 10 400 pjdfstest -c "$work/pjdfstest.toml" -p "$mnt" >"$work/pjd-fuse.log" 2>&1)
    rc=$?
    s=$(summary "$work/pjd-fuse.log")
    echo "pjdfstest arcbox-fuse: $s"
    nfail=$(echo "$s" | sed -n 's/^Summary: \([0-9]*\) failed.*/\1/p')
    if [ "$rc" != 0 ] || [ "${nfail:-1}" != 0 ]; then
        grep -a -E '[[:space:]](FAILED|failed)$' "$work/pjd-fuse.log" | head -50
        tail -n 20 "$work/pjd-fuse.log"
    fi
    [ "$rc" = 0 ] && [ "${nfail:-1}" = 0 ]
    check "pjdfstest on the mount" $? "$s"
    stop pjdfstest
else
    check "pjdfstest: mount" 1
fi

# --- stress-ng -----------------------------------------------------------
if start stress --allow-other; then
    for s in dir dentry rename link symlink xattr lockf flock fallocate seek iomix mmap open; do
        extra=()
        case $s in
        fallocate) extra=(--fallocate-bytes 64M) ;;
        iomix) extra=(--iomix-bytes 64M) ;;
        seek) extra=(--seek-size 64M) ;;
        mmap) extra=(--mmap-file --mmap-bytes 64M) ;;
        dentry) extra=(--dentries 4096) ;;
        esac
        mkdir -p "$mnt/$s"
        out=$(timeout -k 10 60 stress-ng --"$s" 2 "${extra[@]}" --timeout 6s --verify \
            --temp-path "$mnt/$s" --metrics-brief 2>&1)
        rc=$?
        line=$(echo "$out" | grep -E "stress-ng: (info|metrc).*\b$s\b" | grep -v 'stressor' | tail -n 1 | sed 's/.*\] *//')
        if [ "$rc" != 0 ] || echo "$out" | grep -qiE 'fail|error'; then
            echo "$out" | tail -n 15
            check "stress-ng --$s" 1 "exit $rc"
        else
            check "stress-ng --$s" 0 "$line"
        fi
    done
    stop stress
else
    check "stress-ng: mount" 1
fi

# --- O_DIRECT (issue 13.1) ---------------------------------------------
# The guest's O_DIRECT becomes FOPEN_DIRECT_IO; the host file is opened
# without it, so any size and alignment the guest sends works.
cat >"$work/fsx.toml" <<'TOML'
flen = 1048576
[opsize]
max = 131072
[weights]
close_open = 1
read = 10
write = 10
mapread = 5
mapwrite = 5
truncate = 2
fsync = 1
fdatasync = 1
posix_fallocate = 2
punch_hole = 2
sendfile = 1
copy_file_range = 2
TOML
if start direct --allow-other; then
    out=$(xfs_io -f -d -c "pwrite -S 0x5a 0 4k" -c "pwrite -S 0x33 4096 1m" \
        -c "pwrite -S 0x44 1052672 512" -c "pread -v 0 16" "$mnt/xfsio" 2>&1)
    rc=$?
    want=$( (head -c 4096 /dev/zero | tr '\0' '\132'; head -c 1048576 /dev/zero | tr '\0' '\063'; head -c 512 /dev/zero | tr '\0' '\104') | md5sum)
    got=$(md5sum <"$work/direct/src/xfsio")
    if [ "$rc" = 0 ] && [ "$want" = "$got" ] && echo "$out" | grep -q '5a 5a 5a'; then
        check "O_DIRECT: xfs_io -d pwrite 4k/1M/512 + pread, host bytes match" 0
    else
        echo "$out" | tail -n 5
        check "O_DIRECT: xfs_io -d pwrite 4k/1M/512 + pread, host bytes match" 1
    fi
    for rw in randwrite write; do
        out=$(timeout -k 5 120 fio --name=direct-$rw --filename="$mnt/fio-$rw" --direct=1 --rw=$rw \
            --bsrange=4k-256k --size=48M --ioengine=psync --verify=crc32c --do_verify=1 \
            --verify_fatal=1 --verify_state_save=0 --minimal 2>&1)
        rc=$?
        [ "$rc" = 0 ] || echo "$out" | tail -n 5
        check "O_DIRECT: fio direct=1 $rw + verifying read (crc32c)" "$rc"
    done
    out=$(timeout -k 5 120 fio --name=direct-read --filename="$mnt/fio-write" --direct=1 --rw=read \
        --bsrange=4k-256k --size=48M --ioengine=psync --verify=crc32c --verify_only=1 \
        --verify_fatal=1 --verify_state_save=0 --minimal 2>&1)
    rc=$?
    [ "$rc" = 0 ] || echo "$out" | tail -n 5
    check "O_DIRECT: fio direct=1 read, verify-only pass over the written file" "$rc"
    mkdir -p "$mnt/fsx" "$work/fsx-art"
    out=$(timeout -k 5 180 fsx -f "$work/fsx.toml" -N 10000 -S 13 -P "$work/fsx-art" "$mnt/fsx/f" 2>&1)
    rc=$?
    [ "$rc" = 0 ] || echo "$out" | tail -n 15
    check "fsx (10000 ops: rw, mmap, truncate, fallocate, punch, copy_file_range)" "$rc"
    stop direct
else
    check "O_DIRECT: mount" 1
fi
# fsx-rs has no O_DIRECT mode (C fsx -Z is not packaged); the equivalent:
# the same run where every open is FOPEN_DIRECT_IO, the path an O_DIRECT
# open takes here.
if start direct-all --allow-other --cache never; then
    mkdir -p "$mnt/fsx" "$work/fsx-art2"
    out=$(timeout -k 5 180 fsx -f "$work/fsx.toml" -N 10000 -S 17 -P "$work/fsx-art2" "$mnt/fsx/f" 2>&1)
    rc=$?
    [ "$rc" = 0 ] || echo "$out" | tail -n 15
    check "fsx on FOPEN_DIRECT_IO (--cache never), the O_DIRECT path" "$rc"
    stop direct-all
else
    check "fsx direct: mount" 1
fi

# --- set-id bits cleared by a non-owner's modification (issue 13.3) ------
# Root's 06777 file written by `tests`: Linux clears S_ISUID and S_ISGID
# (S_ISGID only with group execute: the 02767 case keeps it).
if start killpriv --allow-other --default-permissions; then
    echo data >"$mnt/cfr-src"
    chmod 644 "$mnt/cfr-src"
    kp() { # kp NAME MODE WANT CMD...: run CMD as tests on a fresh MODE file
        local name=$1 m=$2 want=$3 f=$mnt/kp
        shift 3
        rm -f "$f"
        head -c 16384 /dev/zero >"$f"
        chmod "$m" "$f"
        stat -c %a "$f" >/dev/null # the kernel caches the mode
        runuser -u tests -- "$@" "$f" >/dev/null 2>&1
        local rc=$? got host
        got=$(stat -c %a "$f")
        host=$(stat -c %a "$work/killpriv/src/kp")
        [ "$rc" = 0 ] && [ "$got" = "$want" ] && [ "$host" = "$want" ]
        check "set-id clearing: $name on $m as non-owner" $? "mode $got (host $host), want $want"
    }
    kp write 6777 777 sh -c 'echo x >>"$0"'
    kp "write (O_DIRECT)" 6777 777 xfs_io -d -c "pwrite 0 4096"
    kp truncate 6777 777 truncate -s 100
    kp "open O_TRUNC" 6777 777 sh -c ': >"$0"'
    kp fallocate 6777 777 fallocate -l 65536
    kp "fallocate --keep-size" 6777 777 fallocate -n -l 65536
    kp "fallocate --punch-hole" 6777 777 fallocate --punch-hole -o 0 -l 4096
    kp "fallocate --zero-range" 6777 777 fallocate --zero-range -o 0 -l 4096
    kp copy_file_range 6777 777 xfs_io -c "copy_range -s 0 -d 0 -l 4 $mnt/cfr-src"
    kp "fallocate, no group exec" 6767 2767 fallocate -l 65536
    kp "copy_file_range, no group exec" 6767 2767 xfs_io -c "copy_range -s 0 -d 0 -l 4 $mnt/cfr-src"
    kp "write, no group exec" 6767 2767 sh -c 'echo x >>"$0"'
    # Root (CAP_FSETID) keeps the bits, as on Linux.
    rm -f "$mnt/kp"
    head -c 4096 /dev/zero >"$mnt/kp"
    chmod 6777 "$mnt/kp"
    fallocate -l 65536 "$mnt/kp"
    got=$(stat -c %a "$mnt/kp")
    [ "$got" = 6777 ]
    check "set-id clearing: root's fallocate keeps them" $? "mode $got"
    stop killpriv
else
    check "set-id clearing: mount" 1
fi

# --- integration tests: transport, integrity, git workload ---------------
for t in transport integrity git_workload; do
    out=$(ARCBOX_GIT_FULL=1 ARCBOX_TEST_TMP=$work timeout -k 10 420 \
        cargo test --release -q -p arcbox-fs-fusedev -j 2 --test "$t" -- --nocapture --test-threads 1 2>&1)
    rc=$?
    echo "$out" | grep -E 'ops:|git workload:|SKIPPED|panicked|test result' | sed "s/^/[$t] /"
    [ "$rc" = 0 ] || echo "$out" | tail -n 30
    check "cargo test --test $t" "$rc"
done

finish
