#!/bin/bash
# Boots a Linux guest under QEMU (TCG) whose virtio-fs share is served by a
# vhost-user daemon, and reports what the guest (init.sh) and the host saw.
#
# Usage: run-guest.sh [options]
#   --server arcbox|virtiofsd|virtiofsd-c   daemon serving the share (default arcbox)
#   --server-bin PATH     the daemon binary (defaults: target/release/arcbox-virtiofsd,
#                         virtiofsd on PATH or ~/.cargo/bin, /usr/lib/qemu/virtiofsd)
#   --machine pci|microvm vhost-user-fs-pci on q35/pc, or vhost-user-fs-device on
#                         -M microvm (the guest's virtio-mmio driver) (default pci)
#   --mode test|bench|own functional checks, the benchmark workloads, or the
#                         ownership workload (needs --shape unpriv: guest root
#                         extracts a multi-owner archive, mknod, chown, git; the
#                         host files must all belong to 65534 and hold the
#                         user.containers.override_stat attribute), or pjd:
#                         pjdfstest as guest root on the share (pjdfstest from PATH
#                         or ~/.cargo/bin goes into the initramfs; one "PJD-FAILED
#                         <case>" line per failing case) (default test)
#   --scale N             workload multiplier (default 1)
#   --cache MODE          the daemons' cache mode (default auto)
#   --shape NAME          arcbox-virtiofsd's command line: default (--socket-path
#                         --shared-dir --cache --xattr), libvirt (libvirt's exact shape:
#                         --fd=N -o source=DIR,cache=auto,sandbox=chroot,xattr
#                         --thread-pool-size=N), readme (virtiofsd README's example:
#                         --socket-path --shared-dir --announce-submounts
#                         --inode-file-handles=mandatory), ch (cloud-hypervisor's docs:
#                         --log-level debug --socket-path --shared-dir --cache=never),
#                         unpriv (as uid/gid 65534 with setpriv(1), the share owned by
#                         them: a user namespace with --uid-map/--gid-map :0:65534:1:)
#   --daemon-args "ARGS"  extra arguments for arcbox-virtiofsd (word-split)
#   --kernel 6.1|6.12     guest kernel (fetch-kernel.sh; default 6.1)
#   --queues N            request queues of the device (QEMU's num-request-queues;
#                         default 1); the daemon must offer at least N
#   --timeout SECS        bound on the guest's run (default 300); QEMU is killed after
#   --keep DIR            keep the share, logs and serial output in DIR
# Output: one "PASS <check>" / "FAIL <check> <detail>" line per check, then
# "N passed, M failed"; in bench mode also the guest's ARCBOX-BENCH lines.
# Exit status: 0 when nothing failed, 1 on failures, 2 on bad usage, 3 when
# QEMU cannot run at all.
set -u

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
server=arcbox
server_bin=""
machine=pci
mode=test
scale=1
cache=auto
timeout_s=300
keep=""
shape=default
daemon_args=""
kernel=6.1
queues=1

die_usage() { echo "run-guest: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
    case "$1" in
        --server) server=${2:?}; shift 2 ;;
        --server-bin) server_bin=${2:?}; shift 2 ;;
        --machine) machine=${2:?}; shift 2 ;;
        --kernel) kernel=${2:?}; shift 2 ;;
        --queues) queues=${2:?}; shift 2 ;;
        --mode) mode=${2:?}; shift 2 ;;
        --scale) scale=${2:?}; shift 2 ;;
        --cache) cache=${2:?}; shift 2 ;;
        --timeout) timeout_s=${2:?}; shift 2 ;;
        --keep) keep=${2:?}; shift 2 ;;
        --shape) shape=${2:?}; shift 2 ;;
        --daemon-args) daemon_args=${2:?}; shift 2 ;;
        -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
        *) die_usage "unknown argument $1" ;;
    esac
done
case "$machine" in pci|microvm) ;; *) die_usage "bad --machine $machine" ;; esac
case "$mode" in test|bench|own|pjd) ;; *) die_usage "bad --mode $mode" ;; esac
[ "$mode" != own ] || { [ "$server" = arcbox ] && [ "$shape" = unpriv ]; } \
    || die_usage "--mode own needs --server arcbox --shape unpriv"
case "$shape" in default|libvirt|readme|ch|unpriv) ;; *) die_usage "bad --shape $shape" ;; esac
# Shapes without --xattr: the guest and host skip the xattr checks.
xattr=1
case "$shape" in readme|ch) xattr=0 ;; esac

if [ -z "$server_bin" ]; then
    case "$server" in
        arcbox) server_bin=${CARGO_TARGET_DIR:-$repo/target}/release/arcbox-virtiofsd ;;
        virtiofsd) server_bin=$(command -v virtiofsd || echo "$HOME/.cargo/bin/virtiofsd") ;;
        virtiofsd-c) server_bin=/usr/lib/qemu/virtiofsd ;;
        *) die_usage "bad --server $server" ;;
    esac
fi
[ -x "$server_bin" ] || die_usage "server binary $server_bin not found"
command -v qemu-system-x86_64 >/dev/null || { echo "run-guest: qemu-system-x86_64 missing" >&2; exit 3; }

cache_dir=${ARCBOX_GUEST_CACHE:-$repo/target/guest-cache}
mkdir -p "$cache_dir"
kdir=$("$here/fetch-kernel.sh" "$cache_dir" "$kernel" | sed -n 's/^KERNEL_DIR=//p')
[ -n "$kdir" ] || { echo "run-guest: kernel fetch failed" >&2; exit 1; }
initrd=$cache_dir/initramfs-$kernel.cpio.gz
pjd_bin=""
if [ "$mode" = pjd ]; then
    pjd_bin=$(command -v pjdfstest || echo "$HOME/.cargo/bin/pjdfstest")
    [ -x "$pjd_bin" ] || die_usage "--mode pjd: no pjdfstest (cargo install pjdfstest)"
    initrd=$cache_dir/initramfs-$kernel-pjd.cpio.gz
fi
PJDFSTEST=$pjd_bin "$here/build-initramfs.sh" "$kdir" "$initrd" 2>/dev/null || { echo "run-guest: initramfs build failed" >&2; exit 1; }

work=${keep:-$(mktemp -d /tmp/arcbox-guest.XXXXXX)}
mkdir -p "$work"
share=$work/share
sock=$work/vhost.sock
serial=$work/serial.log
dlog=$work/daemon.log
rm -rf "$share" "$sock"
mkdir -p "$share"

server_pid=""
qemu_pid=""
cleanup() {
    [ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null
    [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null
    [ -z "$keep" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- share contents --------------------------------------------------------
if [ "$mode" = test ]; then
    mkdir -p "$share/host/tree" "$share/guest"
    echo "hello from the host" > "$share/host/hello.txt"
    head -c 2097275 /dev/urandom > "$share/host/big.bin"
    sha256sum "$share/host/big.bin" | cut -d' ' -f1 > "$share/host/big.sha256"
    for i in $(seq 0 99); do echo "$i" > "$share/host/tree/f$i"; done
    if command -v setfattr >/dev/null; then
        setfattr -n user.fromhost -v host-value "$share/host/hello.txt"
    fi
elif [ "$mode" = pjd ]; then
    : # pjdfstest makes its own files
elif [ "$mode" = own ]; then
    # The archive guest root extracts: several owners, set-id bits, a
    # device node and a FIFO (numeric owners only, no names).
    mkdir -p "$share/host"
    python3 - "$share/host/archive.tar" <<'PY' || { echo "run-guest: cannot make the archive (python3)" >&2; exit 1; }
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.USTAR_FORMAT) as t:
    def add(name, uid, gid, mode, typ=tarfile.REGTYPE, data=b"", dev=(0, 0)):
        i = tarfile.TarInfo(name)
        i.uid, i.gid, i.mode, i.type = uid, gid, mode, typ
        i.devmajor, i.devminor = dev
        i.size = len(data) if typ == tarfile.REGTYPE else 0
        t.addfile(i, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
    add("a", 0, 0, 0o755, tarfile.DIRTYPE)
    add("a/root-file", 0, 0, 0o644, data=b"root\n")
    add("a/user-file", 1000, 1000, 0o600, data=b"user\n")
    add("a/setuid", 0, 0, 0o4755, data=b"#!/bin/sh\n")
    add("a/other", 4242, 33, 0o640, data=b"www\n")
    add("a/null", 0, 0, 0o666, tarfile.CHRTYPE, dev=(1, 3))
    add("a/fifo", 1000, 1000, 0o644, tarfile.FIFOTYPE)
PY
else
    mkdir -p "$share/bench/tree" "$share/bench/scratch"
    for i in $(seq 0 99); do echo "$i" > "$share/bench/tree/f$i"; done
fi

# ---- daemon ----------------------------------------------------------------
# With several queues the daemon logs its per-queue request counts (info).
log_level=warn
[ "$queues" -gt 1 ] && log_level=info
case "$server" in
    # shellcheck disable=SC2086 # --daemon-args is word-split on purpose.
    arcbox) case "$shape" in
        default) "$server_bin" --socket-path="$sock" --shared-dir="$share" --cache="$cache" --xattr \
                    --log-level="$log_level" $daemon_args >"$dlog" 2>&1 & ;;
        libvirt) # libvirt makes the listening socket and passes it as --fd
                 # (perl-base, always on Debian, binds it without CLOEXEC).
                 perl -MSocket -e '$^F = 1023; socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
                     bind($s, pack_sockaddr_un(shift @ARGV)) or die "bind: $!"; listen($s, 16) or die "listen: $!";
                     my $fd = fileno($s); exec map { s/\@FD\@/$fd/gr } @ARGV or die "exec: $!"' \
                     "$sock" "$server_bin" --fd=@FD@ -o source="$share",cache="$cache",sandbox=chroot,xattr \
                     --thread-pool-size=4 $daemon_args >"$dlog" 2>&1 & ;;
        readme) "$server_bin" --socket-path="$sock" --shared-dir "$share" --announce-submounts \
                    --inode-file-handles=mandatory $daemon_args >"$dlog" 2>&1 & ;;
        unpriv) chown 65534:65534 "$work"; chown -R 65534:65534 "$share"
                setpriv --reuid=65534 --regid=65534 --clear-groups "$server_bin" --socket-path="$sock" \
                    --shared-dir="$share" --uid-map=:0:65534:1: --gid-map=:0:65534:1: --xattr \
                    $daemon_args >"$dlog" 2>&1 & ;;
        ch) "$server_bin" --log-level debug --socket-path="$sock" --shared-dir="$share" --cache=never \
                $daemon_args >"$dlog" 2>&1 & ;;
        esac ;;
    virtiofsd) "$server_bin" --socket-path="$sock" --shared-dir="$share" --cache="$cache" --xattr \
                --sandbox=none --log-level=warn >"$dlog" 2>&1 & ;;
    virtiofsd-c) [ "$cache" = never ] && cache=none
                "$server_bin" --socket-path="$sock" -o source="$share" -o cache="$cache" -o xattr \
                -o sandbox=chroot -o log_level=warn >"$dlog" 2>&1 & ;;
esac
server_pid=$!
for _ in $(seq 1 100); do
    [ -S "$sock" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ ! -S "$sock" ]; then
    echo "FAIL daemon-start $(head -c 300 "$dlog" | tr '\n' ' ')"
    echo "0 passed, 1 failed"
    exit 1
fi

# ---- guest -----------------------------------------------------------------
# The host's TSC frequency in kHz: the kernel's "tsc: Refined TSC clocksource
# calibration" or "tsc: Detected N MHz" line (dmesg), else /proc/cpuinfo's
# "cpu MHz", else 2 GHz.
host_tsc_khz() {
    mhz=$(dmesg 2>/dev/null | sed -n -e 's/.*tsc: Refined TSC clocksource calibration: \([0-9.]*\) MHz.*/\1/p' \
              -e 's/.*tsc: Detected \([0-9.]*\) MHz processor.*/\1/p' | tail -n 1)
    [ -n "$mhz" ] || mhz=$(sed -n 's/^cpu MHz[[:space:]]*: \([0-9.]*\)$/\1/p' /proc/cpuinfo 2>/dev/null | head -n 1)
    [ -n "$mhz" ] || mhz=2000
    awk -v m="$mhz" 'BEGIN { printf "%d\n", m * 1000 }'
}
# Linux (>= 6.11) maps its request queues to CPUs: with several queues the
# guest gets 2 vCPUs (more only slows TCG down on a small host).
smp=1
[ "$queues" -gt 1 ] && smp=2
# -cpu qemu64,-cx16: with 2 vCPUs, Debian's 6.12 kernel takes a double fault
# or a NULL call in early boot under QEMU 7.2's TCG (in kmem_cache_alloc's
# cmpxchg16b, with thread=single too); without CMPXCHG16B it boots every time
# (4 of 4 here, 2026-12-07). 6.1 guests run the same CPU model.
common=(-accel tcg -cpu qemu64,-cx16 -m 1G -smp "$smp" -nographic -no-reboot -nodefaults -serial stdio
        -kernel "$kdir/vmlinuz" -initrd "$initrd"
        -chardev socket,id=vufs,path="$sock"
        -object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem)
# A daemon with worker pools serves other requests while a SETLKW waits: the
# guest checks it (with 0 workers the queue would wait behind the lock).
lockwait=0
case "$shape $daemon_args" in libvirt*|*--thread-pool-size=[1-9]*) [ "$server" = arcbox ] && lockwait=1 ;; esac
append="console=ttyS0 panic=-1 quiet loglevel=4 arcbox.mode=$mode arcbox.scale=$scale arcbox.xattr=$xattr"
# arcbox-virtiofsd offers export support where it holds inodes by file
# handle (root, CAP_DAC_READ_SEARCH): the guest checks file handles then.
handles=0
[ "$server" = arcbox ] && [ "$shape" != unpriv ] && handles=1
append="$append arcbox.lockwait=$lockwait arcbox.handles=$handles"
if [ "$machine" = pci ]; then
    args=(-M pc "${common[@]}" -device vhost-user-fs-pci,queue-size=1024,num-request-queues="$queues",chardev=vufs,tag=arcbox)
else
    # microvm has no PIT/HPET reference under TCG: the kernel sometimes stops
    # in early boot after "tsc: Unable to calibrate against PIT" unless it is
    # told the frequency (the host's TSC, which TCG's guest TSC follows) and
    # the delay-loop constant.
    append="$append tsc_early_khz=$(host_tsc_khz) lpj=4000000"
    args=(-M microvm,acpi=on "${common[@]}" -global virtio-mmio.force-legacy=false
          -device vhost-user-fs-device,queue-size=1024,num-request-queues="$queues",chardev=vufs,tag=arcbox)
fi
qemu-system-x86_64 "${args[@]}" -append "$append" </dev/null >"$serial" 2>&1 &
qemu_pid=$!
elapsed=0
while kill -0 "$qemu_pid" 2>/dev/null; do
    if [ "$elapsed" -ge "$timeout_s" ]; then
        echo "run-guest: guest still running after ${timeout_s}s; killing QEMU" >&2
        kill -9 "$qemu_pid" 2>/dev/null
        break
    fi
    sleep 1
    elapsed=$((elapsed + 1))
done
wait "$qemu_pid" 2>/dev/null
qemu_rc=$?
qemu_pid=""

# ---- results ---------------------------------------------------------------
passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
tr -d '\r' < "$serial" > "$serial.clean"
# Console escapes may precede a report on its line: keep from the marker on.
results=$work/results.txt
grep -ao 'ARCBOX-[A-Z]*.*' "$serial.clean" > "$results"

if ! grep -q '^ARCBOX-RESULT mount ' "$results"; then
    if grep -qi 'could not\|failed to\|error' "$serial.clean" && ! grep -q 'Linux version\|Booting' "$serial.clean"; then
        echo "run-guest: QEMU did not start: $(head -c 400 "$serial.clean")" >&2
        exit 3
    fi
fi
while read -r _ name status detail; do
    if [ "$status" = PASS ]; then pass "$name"; else fail "$name" "$detail"; fi
done < <(grep '^ARCBOX-RESULT ' "$results")
if grep -q '^ARCBOX-DONE' "$results"; then pass guest-finished; else
    fail guest-finished "no ARCBOX-DONE (qemu rc $qemu_rc, ${elapsed}s); tail: $(tail -n 5 "$serial.clean" | tr '\n' ' ')"
fi
if [ "$mode" = bench ]; then
    grep '^ARCBOX-BENCH ' "$results"
fi

# Host side: what the guest wrote must be on the host, byte for byte.
if [ "$mode" = test ] && grep -q '^ARCBOX-RESULT mount PASS' "$results"; then
    while read -r _ path hash; do
        got=$(sha256sum "$share/$path" 2>/dev/null | cut -d' ' -f1)
        if [ "$got" = "$hash" ]; then pass "host-hash:$path"; else fail "host-hash:$path" "guest $hash host ${got:-missing}"; fi
    done < <(grep '^ARCBOX-HASH ' "$results" | awk '{a[$2]=$0} END {for (k in a) print a[k]}')
    G=$share/guest
    [ -d "$G/d2" ] && [ ! -e "$G/d1" ] && pass host-rename-dir || fail host-rename-dir "d1/d2 state wrong"
    [ "$(readlink "$G/d2/link" 2>/dev/null)" = "../small.txt" ] && pass host-symlink || fail host-symlink "$(readlink "$G/d2/link" 2>&1)"
    [ "$(stat -c %h "$G/small.txt" 2>/dev/null)" = 2 ] && [ "$(stat -c %i "$G/small.txt")" = "$(stat -c %i "$G/d2/hard")" ] \
        && pass host-hardlink || fail host-hardlink "nlink $(stat -c %h "$G/small.txt" 2>&1)"
    if [ "$server" = arcbox ] && [ "$shape" = unpriv ]; then
        # A non-root daemon defaults to --ownership xattr: the guest's mode
        # is recorded in the attribute, the host file keeps a mode the
        # daemon's user can use.
        v=$(getfattr --absolute-names --only-values -n user.containers.override_stat "$G/small.txt" 2>&1)
        case "$v" in *:0100640) pass host-chmod-xattr ;; *) fail host-chmod-xattr "$v" ;; esac
        [ "$(stat -c %u "$G/small.txt")" = 65534 ] && pass host-owner-daemon-user \
            || fail host-owner-daemon-user "$(stat -c %u:%g "$G/small.txt")"
    else
        [ "$(stat -c %a "$G/small.txt" 2>/dev/null)" = 640 ] && pass host-chmod || fail host-chmod "$(stat -c %a "$G/small.txt" 2>&1)"
    fi
    [ ! -e "$G/d2/b" ] && [ ! -e "$G/rmme" ] && pass host-unlink || fail host-unlink "removed names still present"
    [ -f "$G/storm/missing-7" ] && [ "$(ls "$G/storm" | wc -l)" = 1 ] && pass host-storm-dir || fail host-storm-dir "$(ls "$G/storm" 2>&1 | head -c 100)"
    if [ "$xattr" = 0 ]; then
        :
    elif command -v getfattr >/dev/null; then
        v=$(getfattr --absolute-names --only-values -n user.arcbox "$G/small.txt" 2>&1)
        [ "$v" = hello-xattr ] && pass host-xattr || fail host-xattr "$v"
        getfattr -n user.gone "$G/small.txt" >/dev/null 2>&1 && fail host-xattr-removed "user.gone still set" || pass host-xattr-removed
    else
        fail host-xattr "getfattr missing (apt-get install attr)"
    fi
fi

# Ownership workload, host side: the daemon's user owns every file the
# guest made, each (but symlinks, which take no user.* xattr) holds the
# attribute, and the attribute holds what the guest asked for.
if [ "$mode" = own ] && grep -q '^ARCBOX-RESULT mount PASS' "$results"; then
    O=$share/own
    if [ -d "$O/a" ]; then
        n=$(find "$O" ! -user 65534 | wc -l)
        [ "$n" = 0 ] && pass host-own-all-65534 || fail host-own-all-65534 "$n files: $(find "$O" ! -user 65534 | head -n 3 | tr '\n' ' ')"
        n=0
        while IFS= read -r f; do
            getfattr --absolute-names -n user.containers.override_stat "$f" >/dev/null 2>&1 || n=$((n + 1))
        done < <(find "$O" -mindepth 1 ! -type l)
        total=$(find "$O" -mindepth 1 ! -type l | wc -l)
        [ "$n" = 0 ] && [ "$total" -gt 20 ] && pass host-own-attribute-everywhere \
            || fail host-own-attribute-everywhere "$n of $total without it"
        attr() { getfattr --absolute-names --only-values -n user.containers.override_stat "$O/$1" 2>&1; }
        for want in "a/other 4242:33:0100640" "a/setuid 0:0:0104755" "a/user-file 1000:1000:0100600" \
                    "a/null 0:0:020666:259" "a/fifo 1000:1000:010644" "tty 0:0:020620:1088" \
                    "pipe 7:8:010600" "f 123:456:0102711"; do
            set -- $want
            v=$(attr "$1")
            [ "$v" = "$2" ] && pass "host-own-attr:$1" || fail "host-own-attr:$1" "$v, want $2"
        done
        t=$(stat -c %F "$O/a/null" "$O/tty" "$O/pipe" | sort -u | tr '\n' ';')
        [ "$t" = "regular empty file;" ] && pass host-own-nodes-are-regular-files || fail host-own-nodes-are-regular-files "$t"
        [ "$(stat -c %a "$O/a/setuid")" = 600 ] && pass host-own-no-set-id-on-host || fail host-own-no-set-id-on-host "$(stat -c %a "$O/a/setuid")"
    else
        fail host-own-tree "no $O/a on the host"
    fi
fi

# pjdfstest: its summary and failing cases, for the caller to compare.
if [ "$mode" = pjd ]; then
    echo "pjdfstest: $(sed -n 's/^ARCBOX-PJD summary //p' "$results")"
    sed -n 's/^ARCBOX-PJD failed /PJD-FAILED /p' "$results" | sort -u
fi

# The daemon must stop by itself once the frontend is gone.
for _ in $(seq 1 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$server_pid" 2>/dev/null; then
    fail daemon-exit "still running 10s after QEMU exited"
else
    wait "$server_pid"
    rc=$?
    server_pid=""
    # The C virtiofsd exits with 0; tolerate nothing else.
    [ "$rc" = 0 ] && pass daemon-exit || fail daemon-exit "status $rc: $(tail -n 3 "$dlog" | tr '\n' ' ')"
fi
# Several request queues: the guest's requests must have spread over them
# (the daemon's "requests per queue: q0=N q1=N ..." line, default shape).
# Linux 6.1 sends every request on the first request queue: not checked there.
if [ "$queues" -gt 1 ] && [ "$server" = arcbox ] && [ "$shape" = default ] && [ "$kernel" != 6.1 ]; then
    counts=$(sed -n 's/.*requests per queue: //p' "$dlog" | tail -n 1)
    used=$(echo "$counts" | tr ' ' '\n' | grep -v '^q0=' | grep -cv '=0$')
    if [ "$used" -ge 2 ]; then pass "queues-spread" ; else fail queues-spread "${counts:-no counts logged}"; fi
    echo "per-queue requests: $counts"
fi
if grep -qE 'panicked|RUST_BACKTRACE' "$dlog"; then fail daemon-no-panic "$(grep -m1 panicked "$dlog")"; else pass daemon-no-panic; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
