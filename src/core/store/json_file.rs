//! A small JSON file of state that several clawrun processes share
//! (`iterations.json`, `agents.json`): read whole (a missing file is the
//! default value), and changed only under an exclusive lock on `<file>.lock`,
//! then written atomically (0600 in a 0700 directory).

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::fsutil;
use crate::core::error::{Error, Result};

/// One shared JSON state file.
#[derive(Debug, Clone)]
pub struct JsonFile {
    path: PathBuf,
}

impl JsonFile {
    /// The file at `path`.
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// Its contents; the default when it does not exist yet.
    ///
    /// # Errors
    /// An unreadable file, or one that does not parse (the error says to fix or remove it).
    pub fn read<T: DeserializeOwned + Default>(&self) -> Result<T> {
        match std::fs::read(&self.path) {
            Ok(data) => serde_json::from_slice(&data).map_err(|e| {
                Error::io(
                    format!("parsing {} (fix or remove it)", self.path.display()),
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
            Err(e) => Err(Error::io(format!("reading {}", self.path.display()), e)),
        }
    }

    /// Change it under the lock: `f` gets the current contents and says
    /// whether it changed them (unchanged contents are not rewritten).
    ///
    /// # Errors
    /// The file cannot be read, locked or written, or `f` failed.
    pub fn update<T, R>(&self, f: impl FnOnce(&mut T) -> Result<(R, bool)>) -> Result<R>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fsutil::create_private_dir(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let lock_path = self.path.with_extension("lock");
        let file = fsutil::open_append(&lock_path)
            .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
        let mut lock = fd_lock::RwLock::new(file);
        let _guard = lock
            .write()
            .map_err(|e| Error::io(format!("locking {}", lock_path.display()), e))?;
        let mut data = self.read()?;
        let (out, changed) = f(&mut data)?;
        if changed {
            let bytes = serde_json::to_vec_pretty(&data).map_err(|e| {
                Error::io(
                    format!("encoding {}", self.path.display()),
                    std::io::Error::other(e),
                )
            })?;
            fsutil::write_atomic_through_links(&self.path, &bytes)
                .map_err(|e| Error::io(format!("writing {}", self.path.display()), e))?;
        }
        Ok(out)
    }
}
