//! End-to-end tests of arcbox-fs against real clients.
