//! Integration tests: one binary, modules under `tests/suite/`.
mod common;
mod suite;
