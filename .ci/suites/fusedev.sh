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
pkgs="stress-ng fio git fuse3"
if ! apt-get install -y -q $pkgs >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1
    apt-get install -y -q $pkgs >/dev/null 2>&1
fi
for p in stress-ng git; do
    command -v $p >/dev/null || { check "install $p" 1; finish; }
done
export PATH="$HOME/.cargo/bin:$PATH"
if ! command -v pjdfstest >/dev/null; then
    timeout 900 cargo install pjdfstest --locked -j 2 -q || { check "cargo install pjdfstest" 1; finish; }
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
