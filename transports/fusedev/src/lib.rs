//! /dev/fuse transport and the arcbox-fuse binary.
