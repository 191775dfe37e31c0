//! The Codex command line, its checks and its capabilities (see the parent
//! module's `# Command`).

use crate::backends::codex::{CODEX_SANDBOX_MODES, CodexParser, rollout};
use crate::backends::config::CodexConfig;
use crate::backends::{
    AnyParser, Backend, Capabilities, CommandSpec, Names, Permission, PermissionStyle,
    RequestError, RunRequest, SessionLogFile,
};
use crate::core::config::Safety;
use crate::core::model::events::AgentEvent;

/// The OpenAI Codex backend.
#[derive(Debug, Clone)]
pub struct CodexBackend {
    config: CodexConfig,
}

impl CodexBackend {
    /// A backend with these settings (see [`crate::backends::config`]).
    pub fn new(config: CodexConfig) -> Self {
        Self { config }
    }

    /// Its settings.
    pub fn config(&self) -> &CodexConfig {
        &self.config
    }
}

fn reject(message: String) -> Result<(), RequestError> {
    RequestError::reject("codex", message)
}

impl Backend for CodexBackend {
    fn name(&self) -> &'static str {
        "codex"
    }

    fn names(&self) -> Names {
        Names {
            display: "OpenAI Codex",
            tag: "Codex",
            result_marker: "[CODEX_RESULT]",
            install: "npm install -g @openai/codex",
        }
    }

    fn validate(&self, req: &RunRequest) -> Result<(), RequestError> {
        req.check_common("codex", "the thread id")?;
        match &req.permission {
            Permission::Default => {}
            Permission::Sandbox(mode) => {
                if !CODEX_SANDBOX_MODES.contains(&mode.as_str()) {
                    return reject(format!(
                        "unknown sandbox mode {mode:?}; valid modes: {}",
                        CODEX_SANDBOX_MODES.join(", ")
                    ));
                }
            }
            Permission::Mode(mode) => {
                return reject(format!(
                    "permission mode {mode:?} is a Claude option; Codex takes a sandbox mode ({})",
                    CODEX_SANDBOX_MODES.join(", ")
                ));
            }
        }
        if req.fork && req.resume_id.is_none() {
            return reject("fork needs a thread to resume".to_string());
        }
        if !req.allowed_tools.is_empty() {
            return reject("allowed tools are a Claude option".to_string());
        }
        if req.append_system_prompt.is_some() {
            return reject("an appended system prompt is a Claude option".to_string());
        }
        if req.max_budget_usd.is_some() {
            return reject("a dollar budget is a Claude option".to_string());
        }
        Ok(())
    }

    fn command(&self, req: &RunRequest) -> CommandSpec {
        let search = req.search.unwrap_or(self.config.search);
        let mut args: Vec<String> = Vec::new();
        if search {
            args.push("--search".to_string());
        }
        args.extend([
            "exec".to_string(),
            "--json".to_string(),
            "-C".to_string(),
            req.project.to_string_lossy().into_owned(),
        ]);
        match &req.permission {
            Permission::Default => args.extend(self.config.permission_args.iter().cloned()),
            // A Claude mode is rejected by `validate`; should it get here anyway it
            // is passed on, so that Codex refuses it loudly instead of clawrun
            // silently running with another sandbox.
            Permission::Sandbox(mode) | Permission::Mode(mode) => {
                args.extend(["-s".to_string(), mode.clone()]);
            }
        }
        if !search {
            args.extend(["-c".to_string(), "web_search=\"disabled\"".to_string()]);
        }
        if let Some(model) = &req.model {
            args.extend(["--model".to_string(), model.clone()]);
        }
        args.extend(self.config.args.iter().cloned());
        if let Some(id) = &req.resume_id {
            let sub = if req.fork { "fork" } else { "resume" };
            args.extend([sub.to_string(), id.clone()]);
        }
        // The prompt: read from stdin.
        args.push("-".to_string());
        CommandSpec::for_request(&self.config.program, args, &self.config.env, req)
    }

    fn parser(&self) -> AnyParser {
        CodexParser::default().into()
    }

    fn registry_file(&self) -> &'static str {
        "codex_sessions.json"
    }

    fn id_field(&self) -> &'static str {
        "thread_id"
    }

    fn tested_version(&self) -> &'static str {
        self.config.tested_version
    }

    /// Checked with codex 0.169.0 and 0.171.0 (`approval_policy = "never"` in
    /// exec: nothing is asked, a denied command fails with "Read-only file
    /// system"). Its Linux sandbox (bubblewrap) works here, as root in a
    /// container:
    /// - `workspace` → `-s workspace-write`: writes in the project (and, by
    ///   Codex's own default, in `/tmp` and `$TMPDIR`) pass; elsewhere they fail.
    /// - `read-only` → `-s read-only`: every write fails.
    fn safety_permission(&self, safety: Safety) -> Result<Permission, RequestError> {
        Ok(match safety {
            Safety::Full => Permission::Default,
            Safety::Workspace => Permission::Sandbox("workspace-write".to_owned()),
            Safety::ReadOnly => Permission::Sandbox("read-only".to_owned()),
        })
    }

    /// `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl`,
    /// `CODEX_HOME` defaulting to `~/.codex` (0.169.0, 0.171.0): the only
    /// record of the calls its sandbox refused (`codex/rollout.rs`).
    fn session_log(
        &self,
        session_id: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<SessionLogFile> {
        let home = env("CODEX_HOME")
            .filter(|h| !h.is_empty())
            .map(std::path::PathBuf::from)
            .or_else(|| env("HOME").map(|h| std::path::Path::new(&h).join(".codex")))?;
        Some(SessionLogFile {
            dir: home.join("sessions"),
            name_suffix: format!("-{session_id}.jsonl"),
            max_depth: 3,
        })
    }

    fn denials_from_log(&self, log: &str, since: i64) -> Vec<AgentEvent> {
        rollout::denials(log, since)
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // `codex exec … fork <thread id> -` (see `command`).
            fork: true,
            live_input: false,
            search_toggle: true,
            permission: Some(PermissionStyle::Sandbox),
            subagents: false,
            version_in_stream: false,
            two_way: false,
            // `codex exec` runs with a fixed approval policy and has no way to
            // ask its caller before a command (its `--json` stream only reports).
            approvals: false,
        }
    }
}
