//! Stack use of `PassthroughFs` construction and request handling: both
//! must fit the 2 MiB default stack of a Rust thread (a transport's worker).
#![allow(clippy::unwrap_used)]

use arcbox_fs::memhost::MemHost;
use arcbox_fs::passthrough::{PassthroughConfig, PassthroughFs};

fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn construct_on_a_2mib_stack() {
    on_small_stack(|| {
        let fs = PassthroughFs::new(MemHost::new(), PassthroughConfig::default()).unwrap();
        assert_eq!(fs.open_handles(), 0);
    });
}
