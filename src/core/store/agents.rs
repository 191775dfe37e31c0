//! What each agent said about itself, per backend: `<state dir>/agents.json`.
//!
//! An ACP agent tells its capabilities only in its `initialize` answer, once
//! it runs. The runner records them here after every run's `initialize`
//! ([`Agents::remember`]), so the next `clawrun run --backend X --resume ID`
//! can be refused before anything starts when X's agent cannot load a
//! session ([`Agents::known`]). A record only counts for the program it was
//! made with: pointing `[acp.X]` at another program forgets it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::core::error::Result;
use crate::core::store::json_file::JsonFile;

/// File name under the state dir.
pub const AGENTS_FILE_NAME: &str = "agents.json";

/// What one backend's agent advertised the last time it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentRecord {
    /// The program the backend ran (as configured).
    pub program: String,
    /// The agent's own name, when it gave one.
    pub name: Option<String>,
    /// The agent's version, when it gave one.
    pub version: Option<String>,
    /// It can load an earlier session (resume).
    pub load_session: bool,
    /// When it said so (Unix seconds).
    pub seen_at: i64,
}

impl AgentRecord {
    /// `claude-agent-acp 0.101.0`, or the program when the agent gave no name.
    pub fn describe(&self) -> String {
        let name = self.name.as_deref().unwrap_or(&self.program);
        match &self.version {
            Some(v) => format!("{name} {v}"),
            None => name.to_owned(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentsFile {
    /// Backend name → its agent's last record.
    backends: BTreeMap<String, AgentRecord>,
}

/// The agents store.
#[derive(Debug, Clone)]
pub struct Agents {
    path: PathBuf,
}

impl Agents {
    /// The store in `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join(AGENTS_FILE_NAME),
        }
    }

    fn read(&self) -> Result<AgentsFile> {
        JsonFile::new(self.path.clone()).read()
    }

    /// The record of `backend`'s agent, when one was made with `program`.
    ///
    /// # Errors
    /// An unreadable store.
    pub fn known(&self, backend: &str, program: &str) -> Result<Option<AgentRecord>> {
        let mut data = self.read()?;
        Ok(data
            .backends
            .remove(backend)
            .filter(|r| r.program == program))
    }

    /// Record what `backend`'s agent advertised (replacing the last record),
    /// under a lock, written atomically (0600 in a 0700 directory).
    ///
    /// # Errors
    /// The store cannot be read, locked or written.
    pub fn remember(&self, backend: &str, record: AgentRecord) -> Result<()> {
        JsonFile::new(self.path.clone()).update(|data: &mut AgentsFile| {
            if data.backends.get(backend) == Some(&record) {
                return Ok(((), false));
            }
            data.backends.insert(backend.to_owned(), record);
            Ok(((), true))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(program: &str, load: bool) -> AgentRecord {
        AgentRecord {
            program: program.into(),
            name: Some("fake-acp".into()),
            version: Some("9.9.9".into()),
            load_session: load,
            seen_at: 1,
        }
    }

    #[test]
    fn a_record_counts_for_its_program_only_and_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let agents = Agents::new(&dir.path().join("state"));
        assert_eq!(agents.known("fake", "agent").unwrap(), None);
        agents.remember("fake", record("agent", false)).unwrap();
        assert_eq!(
            agents.known("fake", "agent").unwrap(),
            Some(record("agent", false))
        );
        assert_eq!(agents.known("fake", "other-agent").unwrap(), None);
        assert_eq!(agents.known("other", "agent").unwrap(), None);
        agents.remember("fake", record("agent", true)).unwrap();
        assert!(agents.known("fake", "agent").unwrap().unwrap().load_session);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("state").join(AGENTS_FILE_NAME))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(record("agent", true).describe(), "fake-acp 9.9.9");
    }
}
