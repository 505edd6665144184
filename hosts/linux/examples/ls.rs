//! Lists a directory through the `Host` trait, as the passthrough sees it:
//! `cargo run -p arcbox-fs-linux --example ls -- /some/dir`.

use arcbox_fs::Name;
use arcbox_fs::abi::mode;
use arcbox_fs::host::Host;
use arcbox_fs_linux::LinuxHost;
use std::process::ExitCode;

fn main() -> ExitCode {
    let path = std::env::args_os().nth(1).unwrap_or_else(|| ".".into());
    match list(std::path::Path::new(&path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ls: {}: {e}", path.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}

fn type_char(m: u32) -> char {
    match m & mode::S_IFMT {
        mode::S_IFDIR => 'd',
        mode::S_IFLNK => 'l',
        mode::S_IFCHR => 'c',
        mode::S_IFBLK => 'b',
        mode::S_IFIFO => 'p',
        mode::S_IFSOCK => 's',
        _ => '-',
    }
}

fn list(path: &std::path::Path) -> Result<(), arcbox_fs::Errno> {
    let host = LinuxHost::new(path)?;
    let (root, _) = host.root()?;
    let dir = host.opendir(&root)?;
    let mut names = Vec::new();
    host.readdir(&dir, 0, &mut |e| {
        names.push(e.name.to_vec());
        true
    })?;
    names.sort();
    for raw in names {
        let Ok(name) = Name::new(&raw) else { continue }; // "." and ".."
        let (inode, st) = host.lookup(&root, name)?;
        let mut line = format!(
            "{}{:o} {:>5} {:>5} {:>10} {}",
            type_char(st.mode),
            st.mode & 0o7777,
            st.uid,
            st.gid,
            st.size,
            String::from_utf8_lossy(&raw)
        );
        if st.mode & mode::S_IFMT == mode::S_IFLNK {
            let mut target = [0u8; 4096];
            let len = host.readlink(&inode, &mut target)?;
            line.push_str(" -> ");
            line.push_str(&String::from_utf8_lossy(
                target.get(..len).unwrap_or_default(),
            ));
        }
        println!("{line}");
    }
    Ok(())
}
