//! loom models of arcbox-fs shared structures.
//!
//! The models live in `tests/` and compile only under `--cfg loom`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p arcbox-fs-loom-tests --release
//! ```
//!
//! Under that flag the core's locks and atomics are loom's (see
//! `arcbox_fs`'s private `sync` module), so every interleaving of the
//! modelled threads is explored.
