#!/bin/bash
# CI suite "fusedev": arcbox-fuse (PassthroughFs<LinuxHost> over /dev/fuse)
# against the Linux kernel's own FUSE client, as root:
#   - pjdfstest on a fresh mount (allow_other, default_permissions), compared
#     with the same run on a native directory, in each transport mode
#     (default, passthrough, io_uring, both; see mode_begin);
#   - stress-ng filesystem stressors on the mount, one at a time, bounded,
#     in each transport mode;
#   - the transport, data-integrity and git-workload integration tests
#     (transports/fusedev/tests) in release mode, integrity and the git
#     workload in each transport mode;
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
pkgs="stress-ng fio git fuse3 xfsprogs acl util-linux python3 gcc libc6-dev"
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
    # An io_uring mode cut short: the fuse module's parameter back as it was.
    if [ -n "${old_param:-}" ]; then echo "$old_param" >/sys/module/fuse/parameters/enable_uring; fi
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

# The four transport modes of issue 14: "default" (requests and data through
# read/write on /dev/fuse), "passthrough" (FUSE_PASSTHROUGH for file data,
# where the kernel offers it: auto), "io_uring" (FUSE-over-io_uring for
# requests) and "both".
# mode_begin MODE: sets $margs (arcbox-fuse arguments), $pt and $ring (the
# test daemons' ARCBOX_FUSE_PASSTHROUGH / ARCBOX_FUSE_IO_URING) and, for the
# io_uring modes, sets the fuse module's enable_uring to Y (mode_end
# restores it). Returns 1 (after saying so) where the kernel has no
# FUSE-over-io_uring.
uring_param=/sys/module/fuse/parameters/enable_uring
old_param=""
mode_begin() {
    case $1 in
    default) pt=off ring=off ;;
    passthrough) pt=auto ring=off ;;
    io_uring) pt=off ring=on ;;
    both) pt=auto ring=on ;;
    esac
    margs=(--passthrough "$pt" --io-uring "$ring")
    if [ "$ring" = on ]; then
        if [ ! -w "$uring_param" ]; then
            echo "### SKIPPED mode $1: $uring_param missing (kernel without FUSE io_uring)"
            return 1
        fi
        old_param=$(cat "$uring_param")
        echo Y >"$uring_param"
    fi
    return 0
}
mode_end() {
    if [ -n "$old_param" ]; then
        echo "$old_param" >"$uring_param"
        old_param=""
    fi
}
modes="default passthrough io_uring both"

# --- pjdfstest -----------------------------------------------------------
# The one pjdfstest configuration (also the guest kit's).
cp "$repo/tests/pjdfstest.toml" "$work/pjdfstest.toml"
summary() { grep -a '^Summary:' "$1" | tail -n 1; }
mkdir -m 777 "$work/native"
(cd "$work/native" && timeout -k 10 300 pjdfstest -c "$work/pjdfstest.toml" -p "$work/native" >"$work/pjd-native.log" 2>&1)
echo "pjdfstest native: $(summary "$work/pjd-native.log")"
# In each transport mode (see mode_begin).
for m in $modes; do
    mode_begin "$m" || continue
    label="mode $m"
    # Short mount names (pjd-d, pjd-p, ...): pjdfstest binds sockets by
    # absolute path, which must fit sun_path (108 bytes); "pjd-passthrough"
    # made two socket cases fail.
    if start "pjd-${m:0:1}" --allow-other --default-permissions "${margs[@]}"; then
        (cd "$mnt" && timeout -k 10 400 pjdfstest -c "$work/pjdfstest.toml" -p "$mnt" >"$work/pjd-fuse-$m.log" 2>&1)
        rc=$?
        s=$(summary "$work/pjd-fuse-$m.log")
        echo "pjdfstest arcbox-fuse ($label): $s"
        nfail=$(echo "$s" | sed -n 's/^Summary: \([0-9]*\) failed.*/\1/p')
        if [ "$rc" != 0 ] || [ "${nfail:-1}" != 0 ]; then
            grep -a -E '[[:space:]](FAILED|failed)$' "$work/pjd-fuse-$m.log" | head -50
            tail -n 20 "$work/pjd-fuse-$m.log"
        fi
        [ "$rc" = 0 ] && [ "${nfail:-1}" = 0 ]
        check "pjdfstest on the mount ($label)" $? "$s"
        grep -a -E "kernel passthrough:|io_uring:" "$work/pjd-${m:0:1}/daemon.log" | head -n 2
        stop "pjd-${m:0:1}"
    else
        check "pjdfstest: mount ($label)" 1
    fi
    mode_end
done

# --- stress-ng -----------------------------------------------------------
# In each transport mode.
for m in $modes; do
    mode_begin "$m" || continue
    if start "st-${m:0:1}" --allow-other "${margs[@]}"; then
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
            # From inside the mount: some stressors (open) also make files in
            # the working directory, which would otherwise be the checkout.
            out=$(cd "$mnt/$s" && timeout -k 10 60 stress-ng --"$s" 2 "${extra[@]}" --timeout 4s --verify \
                --temp-path "$mnt/$s" --metrics-brief 2>&1)
            rc=$?
            line=$(echo "$out" | grep -E "stress-ng: (info|metrc).*\b$s\b" | grep -v 'stressor' | tail -n 1 | sed 's/.*\] *//')
            if [ "$rc" != 0 ] || echo "$out" | grep -qiE 'fail|error'; then
                echo "$out" | tail -n 15
                check "stress-ng --$s (mode $m)" 1 "exit $rc"
            else
                check "stress-ng --$s (mode $m)" 0 "$line"
            fi
        done
        stop "st-${m:0:1}"
    else
        check "stress-ng: mount (mode $m)" 1
    fi
    mode_end
done

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
# fsx again on a plain mount, once with kernel passthrough and once without.
for pt in auto off; do
    if start "fsx-$pt" --allow-other --log-level info --passthrough "$pt"; then
        mkdir -p "$mnt/fsx" "$work/fsx-art-$pt"
        out=$(timeout -k 5 180 fsx -f "$work/fsx.toml" -N 10000 -S 17 -P "$work/fsx-art-$pt" "$mnt/fsx/f" 2>&1)
        rc=$?
        [ "$rc" = 0 ] || echo "$out" | tail -n 15
        check "fsx, passthrough $pt (10000 ops)" "$rc"
        grep -a "kernel passthrough:" "$work/fsx-$pt/daemon.log"
        check "fsx, passthrough $pt: the log says the data path" $?
        stop "fsx-$pt"
    else
        check "fsx: mount (passthrough $pt)" 1
    fi
done
# fsx-rs has no O_DIRECT mode (C fsx -Z is not packaged); the equivalents:
# the same run where every open is FOPEN_DIRECT_IO, the path an O_DIRECT
# open takes here, and the integrity test's O_DIRECT run (cargo test -p
# arcbox-fs-fusedev --test integrity: random aligned and unaligned O_DIRECT
# writes and reads checked against a model, as fsx -Z does).
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

# --- mount options, mount.fuse.arcbox, fstab (issue 13.5) ---------------
# mountopt NAME EXPECT-REGEX ARGS...: the mount's mountinfo line matches.
optn=0
mountopt() { # mountopt DESCRIPTION EXPECT-REGEX ARGS...
    local name=$1 re=$2 line
    shift 2
    optn=$((optn + 1))
    if start "opt$optn" "$@"; then
        line=$(grep " $mnt " /proc/self/mountinfo | tail -n 1)
        echo "$line" | grep -qE "$re"
        check "-o $name" $? "$line"
        stop "opt$optn"
    else
        check "-o $name: mount" 1
    fi
}
mountopt "suid,dev (default: nosuid,nodev)" ' rw,relatime - fuse' -o suid,dev
mountopt "noexec,noatime,nodiratime" ' rw,nosuid,nodev,noexec,noatime,nodiratime - ' -o noexec,noatime,nodiratime
mountopt "ro,strictatime -o sync,dirsync" ' ro,nosuid,nodev - fuse\.arcbox [^ ]+ ro,sync,dirsync,' -o ro,strictatime -o sync,dirsync
mountopt "fsname,subtype,allow_other,default_permissions,max_read" \
    ' - fuse\.other myname rw,.*default_permissions,allow_other,max_read=65536' \
    -o fsname=myname,subtype=other,allow_other,default_permissions,max_read=65536
mountopt "cache=never,timeout=0,threads=3,max_write=65536,no_xattr,log_level=error" \
    ' - fuse\.arcbox ' -o cache=never,timeout=0,threads=3,max_write=65536,no_xattr,log_level=error
install -m 755 scripts/mount.fuse.arcbox /sbin/mount.fuse.arcbox
export ARCBOX_FUSE=$bin ARCBOX_FUSE_LOG=$work/helper.log
mkdir -p "$work/helper/src" "$work/helper/mnt"
echo hello >"$work/helper/src/hello"
if mount -t fuse.arcbox "$work/helper/src" "$work/helper/mnt" -o allow_other,noexec,cache=never 2>"$work/helper.err"; then
    line=$(grep " $work/helper/mnt " /proc/self/mountinfo | tail -n 1)
    [ "$(cat "$work/helper/mnt/hello" 2>/dev/null)" = hello ] &&
        echo "$line" | grep -qE " rw,noexec,relatime - fuse\.arcbox $work/helper/src rw,.*allow_other"
    check "mount -t fuse.arcbox (mount.fuse.arcbox helper)" $? "$line"
    umount "$work/helper/mnt"
    sleep 0.5
    ! mounted "$work/helper/mnt" && ! pgrep -f "^$bin $work/helper/src " >/dev/null
    check "umount of a helper mount ends the daemon" $?
else
    cat "$work/helper.err"
    check "mount -t fuse.arcbox (mount.fuse.arcbox helper)" 1
fi
printf '%s %s fuse.arcbox ro,nodev,noatime,default_permissions,nofail 0 0\n' \
    "$work/helper/src" "$work/helper/mnt" >"$work/fstab"
if mount -T "$work/fstab" "$work/helper/mnt" 2>"$work/helper.err"; then
    line=$(grep " $work/helper/mnt " /proc/self/mountinfo | tail -n 1)
    echo "$line" | grep -qE " ro,nodev,noatime - fuse\.arcbox .* ro,.*default_permissions" &&
        ! touch "$work/helper/mnt/new" 2>/dev/null
    check "fstab line (mount -T FSTAB MNT)" $? "$line"
    umount "$work/helper/mnt"
else
    cat "$work/helper.err"
    check "fstab line (mount -T FSTAB MNT)" 1
fi
out=$(mount -t fuse.arcbox "$work/helper/src" "$work/helper/mnt" -o no_such_option 2>&1)
rc=$?
[ "$rc" != 0 ] && echo "$out" | grep -q "unknown mount option no_such_option" && ! mounted "$work/helper/mnt"
check "helper: an unknown option is refused with a message" $? "$out"
sleep 0.3
for _ in $(seq 20); do mounted "$work/helper/mnt" || break; umount "$work/helper/mnt"; done

# --- safe unmount (issue 13.6) ------------------------------------------
# Two arcbox mounts stacked on one directory: `umount` removes the top one;
# its daemon must not take the one below with it.
mkdir -p "$work/stack/src1" "$work/stack/src2" "$work/stack/mnt"
echo one >"$work/stack/src1/who"
echo two >"$work/stack/src2/who"
"$bin" "$work/stack/src1" "$work/stack/mnt" 2>"$work/stack/1.log" &
p1=$!
daemons+=("$p1")
for _ in $(seq 100); do mounted "$work/stack/mnt" && break; sleep 0.05; done
"$bin" "$work/stack/src2" "$work/stack/mnt" 2>"$work/stack/2.log" &
p2=$!
daemons+=("$p2")
for _ in $(seq 100); do [ "$(cat "$work/stack/mnt/who" 2>/dev/null)" = two ] && break; sleep 0.05; done
grep -q "already a mount point" "$work/stack/2.log"
check "mounting on a mount point is logged as a warning" $? "$(head -n 1 "$work/stack/2.log")"
umount "$work/stack/mnt"
timeout 10 tail --pid="$p2" -f /dev/null
sleep 0.3
[ "$(cat "$work/stack/mnt/who" 2>/dev/null)" = one ] && kill -0 "$p1" 2>/dev/null
check "umount of the top mount leaves the one below (and its daemon)" $?
# Something else stacked on ours: SIGTERM must not unmount it.
mount -t tmpfs arcbox-stack-test "$work/stack/mnt"
echo tmp >"$work/stack/mnt/who"
kill -TERM "$p1"
timeout 10 tail --pid="$p1" -f /dev/null
st=$?
[ "$st" = 0 ] && [ "$(cat "$work/stack/mnt/who" 2>/dev/null)" = tmp ]
check "SIGTERM under a foreign mount: the foreign mount stays, the daemon ends" $? "$(tail -n 1 "$work/stack/1.log")"
umount "$work/stack/mnt"
umount -l "$work/stack/mnt" 2>/dev/null

# --- readable errors (issue 13.7) ----------------------------------------
errcase() { # errcase NAME EXPECTED-MESSAGE ARGS...
    local name=$1 want=$2 out rc
    shift 2
    out=$(timeout 10 "$bin" "$@" 2>&1 </dev/null)
    rc=$?
    [ "$rc" != 0 ] && [ "$out" = "$want" ]
    check "error: $name" $? "$out"
}
mkdir -p "$work/err/mnt"
errcase "missing source" "arcbox-fuse: cannot share $work/nope: No such file or directory" "$work/nope" "$work/err/mnt"
errcase "source is a file" "arcbox-fuse: cannot share /etc/hostname: Not a directory" /etc/hostname "$work/err/mnt"
errcase "missing mount point" "arcbox-fuse: cannot mount $work/nope: check mount point: No such file or directory (the mount point does not exist)" "$work/err" "$work/nope"
errcase "--threads 0" "arcbox-fuse: invalid --threads 0: at least 1 worker is needed" "$work/err" "$work/err/mnt" --threads 0
errcase "--max-write 2048" "arcbox-fuse: invalid --max-write 2048: between 4096 and 1048576 bytes" "$work/err" "$work/err/mnt" --max-write 2048
errcase '--fsname ""' "arcbox-fuse: invalid --fsname \"\": it must be non-empty, without ','" "$work/err" "$work/err/mnt" --fsname ""
errcase "-o max_read=100" "arcbox-fuse: mount option max_read=100: below 4096" "$work/err" "$work/err/mnt" -o max_read=100
out=$(timeout 10 "$bin" "$work/err" "$work/err/mnt" --log-level loud 2>&1)
[ $? != 0 ] && echo "$out" | grep -q 'unknown log level "loud"'
check "error: --log-level loud" $? "$(echo "$out" | head -n 1)"
out=$(timeout 10 "$bin" "$work/err" "$work/err/mnt" --watch kqueue 2>&1)
[ $? != 0 ] && echo "$out" | grep -q 'unknown watch mode "kqueue"'
check "error: --watch kqueue" $? "$(echo "$out" | head -n 1)"
if start loglevel --log-level info; then
    stop loglevel
    grep -q "arcbox-fuse: info: signal 15: unmounting" "$work/loglevel/daemon.log"
    check "--log-level info logs the unmount" $? "$(cat "$work/loglevel/daemon.log")"
    grep -q "^arcbox-fuse: host changes: " "$work/loglevel/daemon.log"
    check "the watcher in use is logged (--watch auto)" $? "$(cat "$work/loglevel/daemon.log")"
else
    check "--log-level info: mount" 1
fi

# --- POSIX ACLs (issue 13.4) ---------------------------------------------
if start acl --allow-other; then
    a=$mnt/acl
    mkdir "$a"
    setfacl -d -m u::rwx,g::rwx,o::- "$a"
    (umask 022 && mkdir "$a/dir" && : >"$a/file" && mkdir "$mnt/plain" && : >"$mnt/plainf")
    got="$(stat -c %a "$a/dir") $(stat -c %a "$a/file") $(stat -c %a "$mnt/plain") $(stat -c %a "$mnt/plainf")"
    [ "$got" = "770 660 755 644" ]
    check "default ACL decides the mode, not the umask (mkdir, create; umask elsewhere)" $? "$got, want 770 660 755 644"
    getfacl -p "$a/dir" 2>/dev/null | grep -q '^default:group::rwx'
    check "a new directory inherits the default ACL" $?
    got=$(python3 -c '
import os, sys
os.umask(0o022)
a = os.open(sys.argv[1], os.O_TMPFILE | os.O_RDWR, 0o777)
b = os.open(sys.argv[2], os.O_TMPFILE | os.O_RDWR, 0o777)
print("%o %o" % (os.fstat(a).st_mode & 0o7777, os.fstat(b).st_mode & 0o7777))' "$a" "$mnt" 2>&1)
    [ "$got" = "770 755" ]
    check "O_TMPFILE: default ACL in an ACL directory, umask elsewhere" $? "$got, want 770 755"
    : >"$mnt/g"
    chown tests:root "$mnt/g"
    chmod 2770 "$mnt/g"
    runuser -u tests -- setfacl -m g::r-x "$mnt/g"
    got="$(stat -c %a "$mnt/g") $(stat -c %a "$work/acl/src/g")"
    [ "$got" = "750 750" ]
    check "setfacl by the owner (not in the group) updates the mode and clears S_ISGID" $? "$got, want 750 750"
    runuser -u tests -- setfacl -m u::r,g::r,o::r "$mnt/g"
    got=$(stat -c %a "$mnt/g")
    [ "$got" = 444 ] && getfacl -p "$mnt/g" 2>/dev/null | grep -q '^user::r--'
    check "mode and access ACL stay in sync (setfacl -m u::r,g::r,o::r)" $? "mode $got"
    : >"$mnt/u"
    setfacl -m u:tests:rw "$mnt/u"
    chmod 600 "$mnt/u"
    echo x | runuser -u tests -- sh -c "cat >>'$mnt/u'" 2>/dev/null
    [ $? != 0 ]
    check "chmod 600 masks a named-user ACL entry (kernel ACL check)" $?
    chmod 660 "$mnt/u"
    echo x | runuser -u tests -- sh -c "cat >>'$mnt/u'"
    check "an ACL entry grants access a mode alone would not" $?
    stop acl
else
    check "ACL: mount" 1
fi

# --- file handles (issue 13.2) -------------------------------------------
# Export support (the default as root): handles of a file and a directory
# open again after drop_caches 2 and 3, a deleted file's handle is ESTALE
# (the guest kit's probe, tests/guest/probe.c `handles`; the cargo test
# `--test export` checks more). With --export-support off the server sets
# FUSE_NO_EXPORT_SUPPORT: the kernel refuses to make handles (EOPNOTSUPP)
# instead of making ones that fail later with ESTALE.
cat >"$work/fh.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
    struct file_handle *h = malloc(sizeof(*h) + 128);
    int mnt;
    h->handle_bytes = 128;
    if (name_to_handle_at(AT_FDCWD, argv[1], h, &mnt, 0) != 0) {
        printf("%s\n", strerror(errno));
        return errno == EOPNOTSUPP ? 3 : 1;
    }
    printf("handle of %u bytes\n", h->handle_bytes);
    return 0;
}
C
if cc -O -o "$work/fh" "$work/fh.c" && cc -O2 -o "$work/probe" tests/guest/probe.c && start handles; then
    mkdir "$mnt/d"
    echo handle-me >"$mnt/d/f"
    out=$("$work/probe" handles "$mnt" "$mnt/d/f" "$mnt/d" 2>&1)
    check "file handles open again after drop_caches 2 and 3; a deleted file's is ESTALE" $? "$out"
    stop handles
else
    check "file handles: build or mount" 1
fi
if start handles-off --export-support off; then
    : >"$mnt/f"
    mkdir "$mnt/d"
    out="$("$work/fh" "$mnt/f"):$?,$("$work/fh" "$mnt/d"):$?"
    [ "$out" = "Operation not supported:3,Operation not supported:3" ]
    check "--export-support off: name_to_handle_at is refused (FUSE_NO_EXPORT_SUPPORT), never an ESTALE handle" $? "$out"
    stop handles-off
else
    check "file handles off: mount" 1
fi

# --- integration tests: transport, integrity, git workload ---------------
# Integrity and the git workload run in each transport mode (the test
# daemons read ARCBOX_FUSE_PASSTHROUGH / ARCBOX_FUSE_IO_URING, tests/common);
# the others in the default configuration (passthrough auto, io_uring auto:
# off unless enable_uring is Y; the io_uring tests flip it themselves).
for t in transport cached_readdir io_uring \
    integrity:default integrity:passthrough integrity:io_uring integrity:both \
    git_workload:default git_workload:passthrough git_workload:io_uring git_workload:both; do
    m=${t#*:}
    if [ "$m" = "$t" ]; then
        pt=auto ring=auto
    else
        mode_begin "$m" || continue
    fi
    out=$(ARCBOX_FUSE_PASSTHROUGH=$pt ARCBOX_FUSE_IO_URING=$ring ARCBOX_GIT_FULL=1 \
        ARCBOX_TEST_TMP=$work timeout -k 10 420 \
        cargo test --release -q -p arcbox-fs-fusedev -j 2 --test "${t%:*}" -- --nocapture --test-threads 1 2>&1)
    rc=$?
    mode_end
    echo "$out" | grep -E 'ops:|git workload:|SKIPPED|panicked|test result' | sed "s/^/[$t] /"
    [ "$rc" = 0 ] || echo "$out" | tail -n 30
    check "cargo test --test ${t%:*} (passthrough $pt, io_uring $ring)" "$rc"
done

finish
