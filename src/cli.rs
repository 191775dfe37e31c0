//! Command-line interface definitions (clap derive).
