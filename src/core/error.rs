//! Error types, one per boundary, and the crate's top-level [`Error`].

use std::path::PathBuf;

/// Errors in our own configuration files (strict: unknown keys are errors).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be parsed.
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the TOML/JSON location.
        message: String,
    },
    /// A value is invalid.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// `--backend NAME` names no backend (built in or defined in backends.toml).
    #[error("unknown backend '{}' (known: {})", name.escape_debug(), known.join(", "))]
    UnknownBackend {
        /// The name asked for.
        name: String,
        /// The backends there are.
        known: Vec<String>,
    },
}

/// Errors from the session registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry file exists but is not valid; it is never overwritten.
    #[error(
        "registry {path} is not valid JSON in the {{\"sessions\": {{…}}}} schema ({message}); \
         refusing to overwrite it: fix or move it away"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The parse error.
        message: String,
    },
    /// An I/O error.
    #[error("registry {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No entry matched.
    #[error("no session matches {0:?}")]
    NotFound(String),
}

/// Errors while supervising the agent process.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The program could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another I/O failure.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The crate's top-level error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user (flags, routing): exit code 2, nothing written.
    #[error("{0}")]
    Usage(String),
    /// Configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Registry.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Process supervision.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// Other I/O.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// An I/O error with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
