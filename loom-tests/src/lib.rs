//! loom models of arcbox-fs shared structures.
