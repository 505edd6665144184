//! The option parser against virtiofsd's command-line shapes: every long
//! option, the legacy `-o` / `-d` / `-f` forms, libvirt's exact shape, and
//! malformed input.

use arcbox_fs::passthrough::{CacheMode, Ownership};
use arcbox_fs_daemon::sandbox::{IdMap, SandboxMode};
use arcbox_fs_vhost_user::args::{
    Args, CAPABILITIES_JSON, InodeFileHandles, MigrationMode, MigrationOnError, SeccompAction,
    parse_from,
};
use std::path::PathBuf;

fn parse(args: &[&str]) -> Result<Args, clap::Error> {
    parse_from(std::iter::once("arcbox-virtiofsd").chain(args.iter().copied())).map(|p| p.args)
}

#[test]
fn defaults_match_virtiofsd() {
    let a = parse(&["--socket-path=/tmp/s", "--shared-dir=/srv"]).expect("parse");
    assert_eq!(a.sandbox, SandboxMode::Namespace);
    assert_eq!(a.seccomp, SeccompAction::Kill);
    assert_eq!(a.cache, CacheMode::Auto);
    assert_eq!(a.thread_pool_size, 0);
    assert_eq!(a.inode_file_handles, InodeFileHandles::Prefer);
    assert_eq!(a.log_level, log::LevelFilter::Info);
    assert_eq!(a.migration_mode, MigrationMode::FindPaths);
    assert_eq!(a.migration_on_error, MigrationOnError::Abort);
    assert!(a.announce_submounts());
    assert!(!a.killpriv_v2() && !a.xattr() && !a.readonly && !a.writeback && !a.syslog);
    assert!(a.unsupported().is_empty());
    assert_eq!(a.rlimit_nofile, None);
}

#[test]
fn libvirt_shape() {
    let p = parse_from([
        "arcbox-virtiofsd",
        "--fd=3",
        "-o",
        "source=/var/lib/share,cache=auto,sandbox=chroot,xattr",
        "--thread-pool-size=16",
    ])
    .expect("parse");
    let a = p.args;
    assert_eq!(a.fd, Some(3));
    assert_eq!(a.shared_dir, Some(PathBuf::from("/var/lib/share")));
    assert_eq!(a.cache, CacheMode::Auto);
    assert_eq!(a.sandbox, SandboxMode::Chroot);
    assert!(a.xattr());
    assert_eq!(a.thread_pool_size, 16);
    assert!(p.notes.is_empty());
    // libvirt's other cache value and posix_acl.
    let a = parse(&[
        "--fd=7",
        "-o",
        "source=/d,cache=none,sandbox=namespace,xattr,posix_acl",
    ])
    .expect("parse");
    assert_eq!(a.cache, CacheMode::Never);
    assert!(a.posix_acl && a.xattr());
}

#[test]
fn virtiofsd_readme_examples() {
    // virtiofsd's README: "--socket-path=/tmp/vfsd.sock --shared-dir /tmp/share".
    let a = parse(&["--socket-path=/tmp/vfsd.sock", "--shared-dir", "/tmp/share"]).expect("parse");
    assert_eq!(a.socket_path, Some(PathBuf::from("/tmp/vfsd.sock")));
    // The unprivileged example.
    let a = parse(&[
        "--socket-path=/tmp/vfsd.sock",
        "--shared-dir",
        "/tmp/share",
        "--uid-map=:0:1000:1:",
        "--gid-map=:0:1000:1:",
        "--sandbox=namespace",
    ])
    .expect("parse");
    let m = IdMap {
        inside: 0,
        outside: 1000,
        count: 1,
    };
    assert_eq!((a.uid_map, a.gid_map), (Some(m), Some(m)));
    // cloud-hypervisor's docs.
    let a = parse(&[
        "--log-level",
        "debug",
        "--socket-path=/tmp/virtiofs",
        "--shared-dir=/tmp/shared_dir",
        "--cache=never",
    ])
    .expect("parse");
    assert_eq!(a.log_level, log::LevelFilter::Debug);
    assert_eq!(a.cache, CacheMode::Never);
}

#[test]
fn every_option_is_accepted() {
    let a = parse(&[
        "--shared-dir=/srv",
        "--tag=myfs",
        "--socket=/tmp/old",
        "--socket-group=kvm",
        "--thread-pool-size=4",
        "--xattr",
        "--posix-acl",
        "--xattrmap=:map::user.virtiofs.:",
        "--readonly",
        "--sandbox=none",
        "--seccomp=log",
        "--modcaps=+sys_admin:-chown",
        "--no-announce-submounts",
        "--inode-file-handles=mandatory",
        "--cache=always",
        "--allow-mmap",
        "--no-readdirplus",
        "--writeback",
        "--allow-direct-io",
        "--killpriv-v2",
        "--security-label",
        "--preserve-noatime",
        "--log-level=trace",
        "--syslog",
        "--rlimit-nofile=4096",
        "--translate-uid=map:1000:0:1",
        "--translate-gid=squash-host:0:1000:65536",
        "--uid-map=:0:0:1:",
        "--gid-map=:0:0:1:",
        "--migration-mode=file-handles",
        "--migration-on-error=guest-error",
        "--migration-verify-handles",
        "--migration-confirm-paths",
    ])
    .expect("parse");
    assert_eq!(a.socket_path, Some(PathBuf::from("/tmp/old")));
    assert_eq!(a.socket_group.as_deref(), Some("kvm"));
    assert_eq!(a.tag.as_deref(), Some("myfs"));
    assert_eq!(a.sandbox, SandboxMode::None);
    assert_eq!(a.seccomp, SeccompAction::Log);
    assert_eq!(a.inode_file_handles, InodeFileHandles::Mandatory);
    assert!(!a.announce_submounts() && a.killpriv_v2() && a.readonly && a.syslog);
    assert_eq!(a.rlimit_nofile, Some(4096));
    assert_eq!(a.migration_mode, MigrationMode::FileHandles);
    assert_eq!(a.migration_on_error, MigrationOnError::GuestError);
    // Every option is honoured: none is refused, --security-label included.
    assert!(a.unsupported().is_empty());
    assert!(a.security_label);
    // --translate-* select the map model, root or not.
    assert_eq!(a.ownership(true).map(|o| o.as_str()), Ok("map"));
    assert_eq!(a.ownership(false).map(|o| o.as_str()), Ok("map"));
    // Bare --inode-file-handles means prefer; the last of a pair wins.
    let a = parse(&[
        "--fd=3",
        "--shared-dir=/d",
        "--inode-file-handles",
        "--no-announce-submounts",
        "--announce-submounts",
        "--killpriv-v2",
        "--no-killpriv-v2",
    ])
    .expect("parse");
    assert_eq!(a.inode_file_handles, InodeFileHandles::Prefer);
    assert!(a.announce_submounts() && !a.killpriv_v2());
}

#[test]
fn legacy_forms() {
    let p = parse_from([
        "arcbox-virtiofsd",
        "-f",
        "-d",
        "--socket-path=/s",
        "-osource=/a,writeback",
        "-o",
        "no_readdirplus,killpriv_v2,flock,timeout=5,modcaps=-mknod",
        "-o",
        "log_level=warn",
    ])
    .expect("parse");
    let a = p.args;
    assert_eq!(a.shared_dir, Some(PathBuf::from("/a")));
    assert!(a.writeback && a.no_readdirplus && a.killpriv_v2());
    assert_eq!(a.modcaps.as_deref(), Some("-mknod"));
    // -d then -o log_level=warn: the later one wins, as with the long option.
    assert_eq!(a.log_level, log::LevelFilter::Warn);
    assert_eq!(p.notes.len(), 2, "{:?}", p.notes);
    let a = parse(&["-d", "--socket-path=/s", "--shared-dir=/a"]).expect("parse");
    assert_eq!(a.log_level, log::LevelFilter::Debug);
}

#[test]
fn refuses_malformed_and_conflicting_input() {
    for bad in [
        &["--socket-path=/s", "--shared-dir=/d", "--bogus"][..],
        &["--socket-path=/s", "--fd=3", "--shared-dir=/d"],
        &["--socket=/s", "--fd=3", "--shared-dir=/d"],
        &["--fd=3", "--socket-group=kvm", "--shared-dir=/d"],
        &["--shared-dir=/d"],
        &["--socket-path=/s"],
        &["--socket-path=/s", "--shared-dir=/d", "--cache=sometimes"],
        &["--socket-path=/s", "--shared-dir=/d", "--log-level=loud"],
        &["--socket-path=/s", "--shared-dir=/d", "--sandbox=jail"],
        &["--socket-path=/s", "--shared-dir=/d", "--seccomp=allow"],
        &[
            "--socket-path=/s",
            "--shared-dir=/d",
            "--inode-file-handles=always",
        ],
        &[
            "--socket-path=/s",
            "--shared-dir=/d",
            "--inode-file-handles",
            "prefer",
        ],
        &[
            "--socket-path=/s",
            "--shared-dir=/d",
            "--thread-pool-size=-1",
        ],
        &[
            "--socket-path=/s",
            "--shared-dir=/d",
            "--rlimit-nofile=many",
        ],
        &["--socket-path=/s", "--shared-dir=/d", "--uid-map=0:1000:1"],
        &[
            "--socket-path=/s",
            "--shared-dir=/d",
            "--gid-map=:0:1000:0:",
        ],
        &[
            "--socket-path=/s",
            "--shared-dir=/d",
            "--migration-mode=teleport",
        ],
        &["--fd=abc", "--shared-dir=/d"],
        &["--socket-path=/s", "-o", "source=/d,bogus"],
        &["--socket-path=/s", "-o", "source"],
        &["--socket-path=/s", "-o", "xattr=1,source=/d"],
        &["--socket-path=/s", "-o", "source=/d,,xattr"],
        &["--socket-path=/s", "--shared-dir=/d", "-o"],
        &["--socket-path=/s", "-o", "cache=sometimes,source=/d"],
    ] {
        assert!(parse(bad).is_err(), "{bad:?} accepted");
    }
    assert!(parse(&["--print-capabilities"]).is_ok());
    // Non-UTF-8 arguments reach clap unchanged (and a path may be one).
    use std::os::unix::ffi::OsStringExt;
    let odd = std::ffi::OsString::from_vec(b"--shared-dir=/d\xff".to_vec());
    let p = parse_from(vec!["x".into(), "--socket-path=/s".into(), odd]);
    assert!(p.is_ok() || p.is_err());
}

#[test]
fn capabilities_json_is_virtiofsd_shaped() {
    let compact: String = CAPABILITIES_JSON.split_whitespace().collect();
    assert_eq!(compact, r#"{"type":"fs","features":["separate-options"]}"#);
}

#[test]
fn request_queues_take_1_to_16() {
    let base = ["--socket-path=/tmp/s", "--shared-dir=/srv"];
    let with = |v: &str| {
        let mut a = base.to_vec();
        a.push(v);
        parse(&a)
    };
    assert_eq!(parse(&base).expect("parse").request_queues, None);
    assert_eq!(
        with("--request-queues=4").expect("parse").request_queues,
        Some(4)
    );
    assert_eq!(
        with("--request-queues=16").expect("parse").request_queues,
        Some(16)
    );
    for bad in [
        "--request-queues=0",
        "--request-queues=17",
        "--request-queues=-1",
        "--request-queues=x",
        "--request-queues=",
    ] {
        assert!(with(bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn xattrmap_is_parsed_and_a_bad_rule_is_named() {
    let a = parse(&[
        "--fd=3",
        "--shared-dir=/srv",
        "--xattrmap=:map::user.virtiofs.:",
    ])
    .unwrap();
    assert!(a.xattr_map().unwrap().is_some());
    let a = parse(&[
        "--fd=3",
        "--shared-dir=/srv",
        "-o",
        "xattrmap=/prefix/all/trusted./user.vm./ /ok/all///",
    ])
    .unwrap();
    assert!(a.xattr_map().unwrap().is_some());
    let a = parse(&[
        "--fd=3",
        "--shared-dir=/srv",
        "--xattrmap=:ok:all::: :prefix:all:trusted.",
    ])
    .unwrap();
    assert_eq!(
        a.xattr_map().unwrap_err(),
        "--xattrmap: rule 2: incomplete (a rule is :type:scope:key:prepend:)"
    );
    assert!(
        parse(&["--fd=3", "--shared-dir=/srv"])
            .unwrap()
            .xattr_map()
            .unwrap()
            .is_none()
    );
}

#[test]
fn ownership_options() {
    let own = |extra: &[&str], root: bool| {
        let mut v = vec!["--fd=3", "--shared-dir=/d"];
        v.extend_from_slice(extra);
        parse(&v).expect("parse").ownership(root)
    };
    assert_eq!(own(&[], true), Ok(Ownership::Host));
    assert_eq!(
        own(&[], false),
        Ok(Ownership::Xattr {
            default_uid: 0,
            default_gid: 0
        })
    );
    assert_eq!(
        own(&["--ownership=xattr", "--default-owner=501:20"], true),
        Ok(Ownership::Xattr {
            default_uid: 501,
            default_gid: 20
        })
    );
    for bad in [
        &["--ownership=nobody"][..],
        &["--ownership=host", "--default-owner=1:1"],
        &["--ownership=xattr", "--default-owner=1"],
        &["--ownership=xattr", "--translate-uid=map:0:0:1"],
        &["--translate-uid=map:0:0"],
        &["--translate-gid=bogus:0:0:1"],
        &["--translate-uid=map:0:0:10", "--translate-uid=guest:5:0:1"],
    ] {
        let r = own(bad, true);
        assert!(
            r.as_ref().is_err_and(|e| !e.contains('\n')),
            "{bad:?}: {r:?}"
        );
    }
}
