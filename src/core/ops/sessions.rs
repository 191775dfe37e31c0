//! `sessions`: the session registries (one per backend) read for the CLI:
//! recent sessions, sessions by label, one session by id. Data only.

use std::path::Path;

use crate::backends::config;
use crate::core::error::{Error, RegistryError, Result};
use crate::core::store::paths::Paths;
use crate::core::store::registry::{Entry, Registry};

/// The registries to read: one backend's, or every configured backend's.
///
/// # Errors
/// A bad `backends.toml`, or an unknown backend name.
pub fn registries(
    paths: &Paths,
    backend: Option<&str>,
    backends_file: Option<&Path>,
) -> Result<Vec<Registry>> {
    let config = config::load(backends_file)?;
    let names: Vec<&str> = match backend {
        Some(b) => vec![b],
        None => config.names(),
    };
    names
        .into_iter()
        .map(|n| Ok(Registry::for_backend(paths, &config.backend(n)?)))
        .collect()
}

/// The sessions of one registry used in the last `hours` hours.
#[derive(Debug, Clone)]
pub struct RecentSessions {
    /// The registry they come from.
    pub registry: Registry,
    /// Its entries, as the registry lists them.
    pub entries: Vec<Entry>,
}

/// Sessions used in the last `hours` hours, registry by registry.
///
/// # Errors
/// As [`registries`]; a registry that cannot be read.
pub fn recent(
    paths: &Paths,
    backend: Option<&str>,
    backends_file: Option<&Path>,
    hours: f64,
) -> Result<Vec<RecentSessions>> {
    registries(paths, backend, backends_file)?
        .into_iter()
        .map(|registry| {
            let entries = registry.list(Some(hours))?;
            Ok(RecentSessions { registry, entries })
        })
        .collect()
}

/// Sessions whose label matches `label` (as [`Registry::find_by_label`]),
/// with the id field of their registry (`session_id`, `thread_id`).
///
/// # Errors
/// As [`registries`]; a registry that cannot be read.
pub fn find(
    paths: &Paths,
    backend: Option<&str>,
    backends_file: Option<&Path>,
    label: &str,
) -> Result<Vec<(&'static str, Entry)>> {
    let mut found = Vec::new();
    for reg in registries(paths, backend, backends_file)? {
        for e in reg.find_by_label(label)? {
            found.push((reg.id_field(), e));
        }
    }
    Ok(found)
}

/// The session `id`, from the first registry that has it. As with `run
/// --resume`, `id` may also be a run id (or a wake id, `RUN:wake:N`): the
/// session that run announced, in its backend's registry.
///
/// # Errors
/// [`RegistryError::NotFound`] when no registry has it; as [`registries`].
pub fn get(
    paths: &Paths,
    backend: Option<&str>,
    backends_file: Option<&Path>,
    id: &str,
) -> Result<Entry> {
    for reg in registries(paths, backend, backends_file)? {
        if let Some(e) = reg.get(id)? {
            return Ok(e);
        }
    }
    if let Some((_, record)) = crate::core::runner::named_run(paths, id) {
        let session = record.resume_id.or(record.resumed_from);
        if let Some(session) = session.filter(|_| backend.is_none_or(|b| b == record.backend)) {
            for reg in registries(paths, Some(&record.backend), backends_file)? {
                if let Some(e) = reg.get(&session)? {
                    return Ok(e);
                }
            }
        }
    }
    Err(Error::from(RegistryError::NotFound(id.to_owned())))
}
