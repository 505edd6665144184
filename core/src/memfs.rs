//! An in-memory filesystem (placeholder module; being written).
