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
    #[error(transparent)]
    Usage(UsageError),
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

/// Bad input, kept typed where the layer that found it has its own error (a
/// routing mistake, a request a backend refuses), so a caller can inspect it;
/// otherwise a message.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A message for the user.
    #[error("{0}")]
    Message(String),
    /// A typed error of another layer (`RoutingError`, `RequestError`).
    #[error(transparent)]
    Typed(Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl UsageError {
    /// The typed error inside, if it is an `E`.
    pub fn typed<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            UsageError::Message(_) => None,
            UsageError::Typed(e) => e.downcast_ref(),
        }
    }
}

impl Error {
    /// Bad input, said in a message.
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(UsageError::Message(msg.into()))
    }

    /// Bad input found by another layer, kept typed.
    pub fn usage_from(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Usage(UsageError::Typed(Box::new(e)))
    }

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[derive(Debug, thiserror::Error, PartialEq)]
    #[error("route: no such topic")]
    struct RouteProblem;

    #[test]
    fn a_usage_error_keeps_its_type_and_its_words() {
        let e = Error::usage_from(RouteProblem);
        assert_eq!(e.to_string(), "route: no such topic");
        let Error::Usage(inner) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(inner.typed::<RouteProblem>(), Some(&RouteProblem));
        let plain = Error::usage("bad flag");
        assert_eq!(plain.to_string(), "bad flag");
        let Error::Usage(inner) = &plain else {
            panic!("{plain:?}")
        };
        assert_eq!(inner.typed::<RouteProblem>(), None);
    }
}
