#!/bin/busybox sh
# Guest init of the virtio-fs guest tests (tests/guest/run-guest.sh).
# Loads the virtio and virtiofs modules, mounts the share tagged "arcbox" and,
# by the kernel command line's arcbox.mode, runs the functional checks
# ("test"), the benchmark workloads ("bench"), as root on a share served
# with --ownership xattr the ownership workload ("own"), or pjdfstest
# ("pjd"). Everything it reports goes to
# the serial console as lines the host parses:
#   ARCBOX-RESULT <check> PASS|FAIL [detail]
#   ARCBOX-HASH <path relative to the share> <sha256>
#   ARCBOX-BENCH <workload> ops=<n> ns=<t> bytes=<b>
#   ARCBOX-DONE
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

mode=test
scale=1
tags=""
rounds=3
workloads="storm stat create readdir seq"
par=0
xattr=1
lockwait=0
handles=0
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        arcbox.mode=*) mode=${arg#arcbox.mode=} ;;
        arcbox.xattr=*) xattr=${arg#arcbox.xattr=} ;;
        arcbox.scale=*) scale=${arg#arcbox.scale=} ;;
        arcbox.lockwait=*) lockwait=${arg#arcbox.lockwait=} ;;
        arcbox.handles=*) handles=${arg#arcbox.handles=} ;;
        arcbox.tags=*) tags=$(echo "${arg#arcbox.tags=}" | tr , ' ') ;;
        arcbox.rounds=*) rounds=${arg#arcbox.rounds=} ;;
        arcbox.workloads=*) workloads=$(echo "${arg#arcbox.workloads=}" | tr , ' ') ;;
        arcbox.par=*) par=${arg#arcbox.par=} ;;
    esac
done

result() { # name status [detail...]
    name=$1; status=$2; shift 2
    echo "ARCBOX-RESULT $name $status $*"
}
check() { # name command... : PASS when the command succeeds
    name=$1; shift
    if out=$("$@" 2>&1); then result "$name" PASS; else result "$name" FAIL "$(echo $out | head -c 200)"; fi
}
finish() {
    echo "ARCBOX-DONE"
    sync
    poweroff -f
    sleep 5
    reboot -f
}

for m in $(cat /modules.list); do
    insmod "/lib/modules/$m.ko" || result "insmod-$m" FAIL
done

# The driver probes asynchronously; give the device a moment to appear.
# compare: one virtio-fs device per daemon (tags from the command line),
# each mounted at /mnt/<tag>; the same workloads run on each in turn,
# round after round, the order rotating (bench/guest/compare.sh).
run_compare() {
    for t in $tags; do
        mkdir -p /mnt/$t
        tries=0
        until mount -t virtiofs $t /mnt/$t 2>/tmp/mount.err; do
            tries=$((tries + 1))
            if [ $tries -ge 20 ]; then
                result mount-$t FAIL "$(cat /tmp/mount.err)"
                finish
            fi
            sleep 0.5
        done
    done
    result mount PASS
    n=$((scale * 1000))
    r=1
    while [ $r -le $rounds ]; do
        # Rotate: round r starts with tag number r mod the count.
        set -- $tags
        k=$(( (r - 1) % $# ))
        while [ $k -gt 0 ]; do t=$1; shift; set -- "$@" $t; k=$((k - 1)); done
        for t in "$@"; do
            B=/mnt/$t/bench
            tag() { sed "s/^ARCBOX-BENCH /ARCBOX-CMP $t $r /"; }
            # Cold guest caches for every daemon's turn; fresh missing names
            # per round, so a first miss is a first miss on the server too.
            for w in $workloads; do
                sync
                echo 3 > /proc/sys/vm/drop_caches
                case $w in
                    storm) $P storm $B/storm$r $n | tag ;;
                    miss) $P miss $B/storm$r $n | tag ;;
                    stat) $P stat $B/tree 100 $((n * 4)) | tag ;;
                    create) $P create $B/scratch $((n / 2)) | tag ;;
                    readdir) $P readdir $B/tree $((n / 10)) | tag ;;
                    seq)
                        $P seqwrite $B/scratch/seq.bin $((32 * scale)) | tag
                        echo 3 > /proc/sys/vm/drop_caches
                        $P seqread $B/scratch/seq.bin | tag
                        rm -f $B/scratch/seq.bin ;;
                    none) ;;
                esac
            done
            # The parallel rows (arcbox.par=P processes): metadata, then P
            # writers of 64 MiB each and P verifying readers. The last
            # round's files stay for the host to check (ARCBOX-HASH).
            if [ "$par" -gt 0 ]; then
                $P par-meta $B/scratch $par $((n / 2)) | tag
                rm -f $B/scratch/w*
                $P par-write $B/scratch $par $((64 * scale)) | tag
                sync
                echo 3 > /proc/sys/vm/drop_caches
                if out=$($P par-read $B/scratch $par 2>&1); then
                    echo "$out" | tag
                else
                    result par-read-$t FAIL "$out"
                fi
                if [ $r = $rounds ]; then
                    for f in $B/scratch/w*; do
                        echo "ARCBOX-HASH $t/${f#$B/} $(sha256sum $f | cut -d' ' -f1)"
                    done
                fi
            fi
        done
        r=$((r + 1))
    done
    for t in $tags; do umount /mnt/$t || result umount-$t FAIL; done
    result umount PASS
}

if [ "$mode" = compare ]; then
    P=/bin/arcbox-probe
    run_compare
    finish
fi

tries=0
until mount -t virtiofs arcbox /mnt 2>/tmp/mount.err; do
    tries=$((tries + 1))
    if [ $tries -ge 20 ]; then
        result mount FAIL "$(cat /tmp/mount.err)"
        finish
    fi
    sleep 0.5
done
result mount PASS

sha() { sha256sum "$1" | cut -d' ' -f1; }
P=/bin/arcbox-probe

run_tests() {
    H=/mnt/host
    G=/mnt/guest
    check read-small test "$(cat $H/hello.txt)" = "hello from the host"
    check read-big test "$(sha $H/big.bin)" = "$(cat $H/big.sha256)"
    check readdir test "$(ls $H/tree | wc -l)" = 100
    check stat-size test "$(stat -c %s $H/big.bin)" = 2097275

    echo "written in the guest" > $G/small.txt
    check write-small test "$(cat $G/small.txt)" = "written in the guest"
    echo "ARCBOX-HASH guest/small.txt $(sha $G/small.txt)"
    dd if=/dev/urandom of=$G/big.bin bs=65536 count=64 2>/dev/null
    sync
    h1=$(sha $G/big.bin)
    echo 3 > /proc/sys/vm/drop_caches
    check write-big-reread test "$h1" = "$(sha $G/big.bin)"
    echo "ARCBOX-HASH guest/big.bin $h1"
    # Overwrite in the middle, append, truncate.
    printf 'MIDDLE' | dd of=$G/small.txt bs=1 seek=4 conv=notrunc 2>/dev/null
    echo tail >> $G/small.txt
    check write-patch test "$(cat $G/small.txt | tr '\n' '|')" = "writMIDDLE the guest|tail|"
    truncate -s 3 $G/small.txt
    check truncate test "$(cat $G/small.txt)" = "wri"
    echo "ARCBOX-HASH guest/small.txt $(sha $G/small.txt)"

    check mkdir mkdir $G/d1
    check mkdir-isdir test -d $G/d1
    touch $G/d1/a
    check rename-file mv $G/d1/a $G/d1/b
    check rename-file-gone test ! -e $G/d1/a
    check rename-file-there test -f $G/d1/b
    check rename-dir mv $G/d1 $G/d2
    check rename-dir-there test -f $G/d2/b
    check unlink rm $G/d2/b
    check unlink-gone test ! -e $G/d2/b
    mkdir $G/rmme
    check rmdir rmdir $G/rmme
    check rmdir-gone test ! -e $G/rmme

    check symlink ln -s ../small.txt $G/d2/link
    check readlink test "$(readlink $G/d2/link)" = "../small.txt"
    check symlink-follow test "$(cat $G/d2/link)" = "wri"
    check hardlink ln $G/small.txt $G/d2/hard
    check hardlink-nlink test "$(stat -c %h $G/small.txt)" = 2
    check hardlink-ino test "$(stat -c %i $G/small.txt)" = "$(stat -c %i $G/d2/hard)"
    check chmod chmod 0640 $G/small.txt
    check chmod-mode test "$(stat -c %a $G/d2/hard)" = 640

    # Shapes started without --xattr (arcbox.xattr=0) skip these.
    if [ "$xattr" = 1 ]; then
        check xattr-set $P xattr-set $G/small.txt user.arcbox hello-xattr
        check xattr-get test "$($P xattr-get $G/small.txt user.arcbox)" = hello-xattr
        check xattr-list sh -c "$P xattr-list $G/small.txt | grep -qx user.arcbox"
        $P xattr-set $G/small.txt user.gone x >/dev/null 2>&1
        check xattr-remove $P xattr-rm $G/small.txt user.gone
        check xattr-removed sh -c "! $P xattr-get $G/small.txt user.gone"
        check xattr-host test "$($P xattr-get $H/hello.txt user.fromhost)" = host-value
    fi

    # A waiting SETLKW must not stall the queue (daemons with worker pools).
    if [ "$lockwait" = 1 ]; then
        check lock-wait $P lockwait $G/lockfile $G
    fi

    # O_DIRECT from the guest (issue 13.1): 4 KiB, 1 MiB and 512-byte
    # writes with oflag=direct, read back with iflag=direct; the same writes
    # without O_DIRECT into /tmp give the bytes to expect, and the host
    # checks its copy too (ARCBOX-HASH).
    dd if=/dev/urandom of=/tmp/direct.src bs=1M count=2 2>/dev/null
    for dst in $G/direct.bin /tmp/direct.want; do
        fl=oflag=direct
        sfx=direct
        [ $dst = /tmp/direct.want ] && fl=conv=notrunc && sfx=plain
        check direct-write-4k-$sfx dd if=/tmp/direct.src of=$dst bs=4096 count=64 $fl
        check direct-write-1m-$sfx dd if=/tmp/direct.src of=$dst bs=1M count=1 seek=1 $fl conv=notrunc
        check direct-write-512-$sfx dd if=/tmp/direct.src of=$dst bs=512 count=3 seek=4097 $fl conv=notrunc
    done
    check direct-read dd if=$G/direct.bin of=/tmp/direct.back bs=4096 iflag=direct
    check direct-bytes test "$(sha /tmp/direct.back)" = "$(sha /tmp/direct.want)"
    echo "ARCBOX-HASH guest/direct.bin $(sha /tmp/direct.want)"

    # File handles (FUSE export support, issue 13.2): a file's and a
    # directory's handles open again after the guest dropped its caches; a
    # deleted file's handle is ESTALE.
    if [ "$handles" = 1 ]; then
        mkdir -p $G/hdir && echo handle-me > $G/hdir/f
        check file-handles $P handles /mnt $G/hdir/f $G/hdir
    fi

    mkdir $G/storm
    check lookup-storm $P storm $G/storm $((2000 * scale))
    # A name the storm looked up (maybe cached as negative) must appear once made.
    touch $G/storm/missing-7
    check lookup-after-create test -f $G/storm/missing-7
    check lookup-after-create-ls sh -c "ls $G/storm | grep -qx missing-7"

    cd /
    sync
    check umount umount /mnt
}

run_bench() {
    B=/mnt/bench
    n=$((scale * 1000))
    $P storm $B/tree $n
    $P stat $B/tree 100 $((n * 4))
    $P create $B/scratch $((n / 2))
    $P readdir $B/tree $((n / 10))
    $P seqwrite $B/scratch/seq.bin $((32 * scale))
    echo 3 > /proc/sys/vm/drop_caches
    $P seqread $B/scratch/seq.bin
    rm -f $B/scratch/seq.bin
    cd /
    umount /mnt && result umount PASS || result umount FAIL
}

# As guest root on a share whose daemon cannot chown (--ownership xattr):
# tar -xpf of an archive with several owners, a device node and a FIFO
# (run-guest.sh makes it), mknod/mkfifo, chown/chmod, git init/add/commit.
# run-guest.sh then checks the host side of the same files.
run_own() {
    O=/mnt/own
    mkdir -p $O && cd $O || { result own-dir FAIL; return; }
    check own-tar-xp tar -xpf /mnt/host/archive.tar
    ls -ln $O/a | sed 's/^/ARCBOX-LS /'
    check own-tar-owners test "$(cd $O/a && stat -c '%n %u:%g %a %F' root-file user-file setuid other fifo | tr '\n' ';')" = \
        "root-file 0:0 644 regular file;user-file 1000:1000 600 regular file;setuid 0:0 4755 regular file;other 4242:33 640 regular file;fifo 1000:1000 644 fifo;"
    check own-tar-device test "$(stat -c '%n %u:%g %a %F %t:%T' $O/a/null)" = "$O/a/null 0:0 666 character special file 1:3"
    check own-mknod-char mknod -m 620 $O/tty c 4 64
    check own-mknod-char-stat test "$(stat -c '%a %F %t:%T' $O/tty)" = "620 character special file 4:40"
    check own-mkfifo mkfifo -m 600 $O/pipe
    check own-mkfifo-stat test "$(stat -c '%a %F' $O/pipe)" = "600 fifo"
    echo data > $O/f
    check own-chown chown 123:456 $O/f
    check own-chmod chmod 2711 $O/f
    check own-chown-chmod-stat test "$(stat -c '%u:%g %a' $O/f)" = "123:456 2711"
    check own-chown-fifo chown 7:8 $O/pipe
    check own-chown-fifo-stat test "$(stat -c '%u:%g %F' $O/pipe)" = "7:8 fifo"
    if command -v git >/dev/null; then
        export HOME=/tmp
        check own-git-init git init -q $O/repo
        cd $O/repo && echo hi > x && mkdir sub && echo yo > sub/y
        check own-git-add git add -A
        check own-git-commit git -c user.name=t -c user.email=t@t commit -q -m one
        check own-git-clean test -z "$(git status --porcelain 2>&1)"
        check own-git-fsck git fsck --strict
        # Loose objects are created read-only (0444) and still written.
        check own-git-objects test "$(find .git/objects -type f -perm 444 | wc -l)" -ge 5
        cd $O
    else
        result own-git FAIL "git missing in the initramfs"
    fi
    cd /
    sync
    check umount umount /mnt
}

# pjdfstest as guest root in a directory of the share (arcbox.mode=pjd):
# its summary and every failing case go to the console (ARCBOX-PJD lines);
# .ci/suites/guest.sh compares the failures of two daemons.
run_pjdfstest() {
    command -v pjdfstest >/dev/null || { result pjdfstest-ran FAIL "pjdfstest missing in the initramfs"; return; }
    mkdir -p /etc
    printf 'root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\ntests:x:1001:1001::/:/bin/sh\n' > /etc/passwd
    printf 'root:x:0:\nnogroup:x:65534:\ntests:x:1001:\n' > /etc/group
    # /etc/pjdfstest.toml: tests/pjdfstest.toml, put there by build-initramfs.sh.
    mkdir -p /mnt/pjd && chmod 777 /mnt/pjd
    (cd /mnt/pjd && pjdfstest -c /etc/pjdfstest.toml -p /mnt/pjd > /tmp/pjd.log 2>&1)
    echo "ARCBOX-PJD summary $(grep -a '^Summary:' /tmp/pjd.log | tail -n 1)"
    grep -a -E '^[A-Za-z0-9_]+(::[A-Za-z0-9_]+)+[[:space:]]+FAILED$' /tmp/pjd.log | awk '{print "ARCBOX-PJD failed " $1}'
    grep -q '^Summary:' /tmp/pjd.log && result pjdfstest-ran PASS || result pjdfstest-ran FAIL "$(tail -n 3 /tmp/pjd.log)"
    cd /
    sync
    check umount umount /mnt
}

case "$mode" in
    test) run_tests ;;
    bench) run_bench ;;
    own) run_own ;;
    pjd) run_pjdfstest ;;
    *) result mode FAIL "unknown mode $mode" ;;
esac
finish
