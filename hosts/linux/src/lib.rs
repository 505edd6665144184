//! Linux host for arcbox-fs over rustix.
