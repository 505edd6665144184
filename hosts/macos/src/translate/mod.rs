//! Translation between Linux wire values (what the guest sends and expects)
//! and Darwin's native values.
//!
//! Every function here is pure and every Darwin value is an explicit numeric
//! constant copied from the Darwin headers (each module cites its header),
//! never the host's libc constant: this module compiles and runs its table
//! tests on Linux, where the CI has no Mac. On macOS the host module
//! additionally checks each constant against the `libc` crate at compile time.
//!
//! The classic bugs these tables exist to prevent: testing a Linux flag word
//! against the host's own `O_*` values (Linux `O_APPEND` is Darwin's
//! `O_TRUNC`), swapping `SEEK_DATA` and `SEEK_HOLE`, passing Linux's
//! `UTIME_NOW` to Darwin, and leaking Darwin errno numbers to the guest
//! (Darwin `ELOOP` is 62, which is Linux `ETIME`).

pub mod attrlist;
pub mod errno;
pub mod fallocate;
pub mod mode;
pub mod names;
pub mod open_flags;
pub mod rename;
pub mod statfs;
pub mod time;
pub mod whence;
pub mod xattr;
