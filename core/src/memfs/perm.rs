//! Permission checks against the caller's uid and gid (the server's side of
//! `generic_permission`): owner, group or other bits; uid 0 passes except
//! for execute on a file with no execute bit.

use super::node::Node;
use crate::abi::access::{R_OK, W_OK, X_OK};
use crate::errno::{Errno, Result};
use crate::fs::Context;

/// Whether the caller is in group `gid` (its fsgid or a supplementary group the request carries).
pub(crate) fn in_group(ctx: &Context, gid: u32) -> bool {
    ctx.in_group(gid)
}

/// Checks `mask` (`R_OK | W_OK | X_OK`; 0 is an existence test) on `node`.
///
/// Errors: `EACCES`.
pub(crate) fn check(ctx: &Context, node: &Node, mask: u32) -> Result<()> {
    let mask = mask & (R_OK | W_OK | X_OK);
    if ctx.uid == 0 {
        if mask & X_OK == 0 || node.is_dir() || node.mode & 0o111 != 0 {
            return Ok(());
        }
        return Err(Errno::EACCES);
    }
    let bits = if ctx.uid == node.uid {
        (node.mode >> 6) & 7
    } else if in_group(ctx, node.gid) {
        (node.mode >> 3) & 7
    } else {
        node.mode & 7
    };
    if bits & mask == mask {
        Ok(())
    } else {
        Err(Errno::EACCES)
    }
}

/// Whether the caller owns `node` or is root (chmod, utimes with explicit times).
pub(crate) fn is_owner(ctx: &Context, node: &Node) -> bool {
    ctx.uid == 0 || ctx.uid == node.uid
}

/// The sticky-directory rule for removing or renaming `victim` out of `dir`.
///
/// Errors: `EPERM`.
pub(crate) fn check_sticky(ctx: &Context, dir: &Node, victim: &Node) -> Result<()> {
    if dir.mode & crate::abi::mode::S_ISVTX == 0
        || ctx.uid == 0
        || ctx.uid == dir.uid
        || ctx.uid == victim.uid
    {
        Ok(())
    } else {
        Err(Errno::EPERM)
    }
}
