//! macOS host for arcbox-fs.
