# Sourced by the benchmarks: a fresh journaled ext4 for one run.
#
# The machine's root file system is an ext4 without a journal, which skips
# every inode freed in the last 30 s when it allocates one
# (recently_deleted(), fs/ext4/ialloc.c): creates soon after deletes cost
# O(n) each, so a row would depend on what ran before it. A benchmark that
# creates and deletes puts its directories on this file system instead.
#
#   scratch_fs_make DIR SIZE   makes an image of SIZE (truncate(1) units)
#                              under /var/tmp, formats it fully (no lazy
#                              init thread writing during the run), and
#                              mounts it at DIR through a loop device with
#                              direct I/O (no second page cache). Needs root.
#   scratch_fs_remove          unmounts it, frees the loop device, deletes
#                              the image; harmless when nothing was made.
scratch_fs_img="" scratch_fs_dev="" scratch_fs_dir=""
scratch_fs_make() {
    scratch_fs_dir=$1
    scratch_fs_img=$(mktemp /var/tmp/arcbox-scratch.XXXXXX.img) || return 1
    truncate -s "$2" "$scratch_fs_img" &&
        mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$scratch_fs_img" &&
        scratch_fs_dev=$(losetup --find --show --direct-io=on "$scratch_fs_img") &&
        mkdir -p "$scratch_fs_dir" &&
        mount "$scratch_fs_dev" "$scratch_fs_dir" ||
        { echo "scratch_fs_make: cannot make the ext4 image at $scratch_fs_dir" >&2; scratch_fs_remove; return 1; }
}
scratch_fs_remove() {
    if [ -n "$scratch_fs_dir" ] && mountpoint -q "$scratch_fs_dir"; then
        # Daemons just killed may hold it a moment longer.
        for _ in 1 2 3 4 5; do umount "$scratch_fs_dir" 2>/dev/null && break; sleep 0.2; done
        mountpoint -q "$scratch_fs_dir" && umount -l "$scratch_fs_dir"
    fi
    [ -n "$scratch_fs_dev" ] && losetup -d "$scratch_fs_dev" 2>/dev/null
    [ -n "$scratch_fs_img" ] && rm -f "$scratch_fs_img"
    scratch_fs_img="" scratch_fs_dev="" scratch_fs_dir=""
    return 0
}
