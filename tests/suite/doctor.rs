//! `clawrun doctor`.
