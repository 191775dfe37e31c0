//! The Claude Code command line, its checks and its capabilities (see the
//! parent module's `# Command`).

use crate::backends::claude::{CLAUDE_PERMISSION_MODES, ClaudeLive, ClaudeParser};
use crate::backends::config::ClaudeConfig;
use crate::backends::{
    AnyParser, AnyProtocol, Backend, Capabilities, CommandSpec, Names, OneWay, Permission,
    PermissionStyle, RequestError, RunRequest,
};
use crate::core::config::Safety;
use crate::core::model::approval::ApprovalMode;

/// The Claude Code backend.
#[derive(Debug, Clone)]
pub struct ClaudeBackend {
    config: ClaudeConfig,
}

impl ClaudeBackend {
    /// A backend with these settings (see [`crate::backends::config`]).
    pub fn new(config: ClaudeConfig) -> Self {
        Self { config }
    }

    /// Its settings.
    pub fn config(&self) -> &ClaudeConfig {
        &self.config
    }
}

/// Permission modes under which the CLI never asks (`--approvals chat` would
/// have nothing to do).
const BYPASSING_MODES: &[&str] = &["bypassPermissions", "dontAsk"];
/// The permission mode of the `workspace` preset.
const CLAUDE_WORKSPACE_MODE: &str = "acceptEdits";
/// The permission mode of the `read-only` preset.
const CLAUDE_READ_ONLY_MODE: &str = "plan";

fn reject(message: String) -> Result<(), RequestError> {
    RequestError::reject("claude", message)
}

/// An argument value that must not be taken for an option.
fn check_value(what: &str, value: &str) -> Result<(), RequestError> {
    RequestError::check_value("claude", what, value)
}

impl Backend for ClaudeBackend {
    fn name(&self) -> &'static str {
        "claude"
    }

    fn names(&self) -> Names {
        Names {
            display: "Claude Code",
            tag: "CC",
            result_marker: "[CLAUDE_CODE_RESULT]",
            install: "npm install -g @anthropic-ai/claude-code",
        }
    }

    fn validate(&self, req: &RunRequest) -> Result<(), RequestError> {
        req.check_common("claude", "the resume id")?;
        match &req.permission {
            Permission::Default => {}
            Permission::Mode(mode) => {
                if !CLAUDE_PERMISSION_MODES.contains(&mode.as_str()) {
                    return reject(format!(
                        "unknown permission mode {mode:?}; valid modes: {}",
                        CLAUDE_PERMISSION_MODES.join(", ")
                    ));
                }
            }
            Permission::Sandbox(mode) => {
                return reject(format!(
                    "sandbox mode {mode:?} is a Codex option; Claude takes a permission mode ({})",
                    CLAUDE_PERMISSION_MODES.join(", ")
                ));
            }
        }
        if req.approvals == ApprovalMode::Chat {
            if let Permission::Mode(mode) = &req.permission {
                if BYPASSING_MODES.contains(&mode.as_str()) {
                    return reject(format!(
                        "--approvals chat cannot ask anything under --permission-mode {mode}, \
                         which never prompts; drop one of them"
                    ));
                }
            }
        }
        if req.fork && req.resume_id.is_none() {
            return reject("fork needs a session to resume".to_string());
        }
        for tool in &req.allowed_tools {
            check_value("an allowed tool", tool)?;
        }
        if let Some(budget) = req.max_budget_usd {
            if !(budget.is_finite() && budget > 0.0) {
                return reject(format!(
                    "the budget must be a positive number of dollars, not {budget}"
                ));
            }
        }
        if req.search == Some(false) {
            // Claude's WebSearch/WebFetch tools have no on/off switch of their own.
            return reject("web search cannot be turned off for Claude Code".to_string());
        }
        Ok(())
    }

    fn command(&self, req: &RunRequest) -> CommandSpec {
        let mut args: Vec<String> = ["-p", "--output-format", "stream-json"]
            .into_iter()
            .map(String::from)
            .collect();
        match &req.permission {
            // Asking in the chat replaces the default bypass: the CLI's prompts
            // come to clawrun over stdin/stdout (see `live.rs`).
            Permission::Default if req.approvals == ApprovalMode::Chat => {}
            Permission::Default => args.extend(self.config.permission_args.iter().cloned()),
            // A sandbox mode is rejected by `validate`; should it get here anyway it
            // is passed on, so that Claude refuses it loudly instead of clawrun
            // silently running with another permission mode.
            Permission::Mode(mode) | Permission::Sandbox(mode) => {
                args.extend(["--permission-mode".to_string(), mode.clone()]);
            }
        }
        if let Some(model) = &req.model {
            args.extend(["--model".to_string(), model.clone()]);
        }
        if let Some(id) = &req.resume_id {
            args.extend(["--resume".to_string(), id.clone()]);
            if req.fork {
                args.push("--fork-session".to_string());
            }
        }
        if let Some(text) = &req.append_system_prompt {
            // One argument, so that a text starting with '-' is never read as an option.
            args.push(format!("--append-system-prompt={text}"));
        }
        if let Some(budget) = req.max_budget_usd {
            args.extend(["--max-budget-usd".to_string(), budget.to_string()]);
        }
        if !req.allowed_tools.is_empty() {
            // `--allowedTools <tools...>` is variadic: it takes every following
            // argument up to the next option, which is why `--verbose` comes after it.
            args.push("--allowedTools".to_string());
            args.extend(req.allowed_tools.iter().cloned());
        }
        if req.approvals == ApprovalMode::Chat {
            args.extend(["--permission-prompt-tool".to_string(), "stdio".to_string()]);
        }
        // Required with `--output-format stream-json` in print mode.
        args.push("--verbose".to_string());
        args.extend(self.config.args.iter().cloned());
        CommandSpec::for_request(&self.config.program, args, &self.config.env, req)
    }

    fn parser(&self) -> AnyParser {
        ClaudeParser::default().into()
    }

    fn registry_file(&self) -> &'static str {
        "claude_sessions.json"
    }

    fn id_field(&self) -> &'static str {
        "session_id"
    }

    fn tested_version(&self) -> &'static str {
        self.config.tested_version
    }

    /// Checked with claude 2.1.197 and 2.1.332 in `-p` mode (no one to ask: a
    /// tool call that needs approval is denied at once and listed in the
    /// result's `permission_denials`, never waited on):
    /// - `workspace` → `acceptEdits`: Write/Edit and file-writing shell commands
    ///   inside the project run; writes outside it are denied.
    /// - `read-only` → `plan`: Read, Grep and read-only commands run; every
    ///   write ("Cannot write to … while in plan mode") is denied.
    fn safety_permission(&self, safety: Safety) -> Result<Permission, RequestError> {
        Ok(match safety {
            Safety::Full => Permission::Default,
            Safety::Workspace => Permission::Mode(CLAUDE_WORKSPACE_MODE.to_owned()),
            Safety::ReadOnly => Permission::Mode(CLAUDE_READ_ONLY_MODE.to_owned()),
        })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            fork: true,
            live_input: true,
            search_toggle: false,
            permission: Some(PermissionStyle::Mode),
            subagents: true,
            version_in_stream: true,
            two_way: false,
            approvals: true,
        }
    }

    fn live_command(&self, req: &RunRequest) -> Option<CommandSpec> {
        Some(super::live::multi_turn_command(self.command(req)))
    }

    fn protocol(&self, live: bool) -> AnyProtocol {
        if live {
            ClaudeLive::new(ClaudeParser::default()).into()
        } else {
            OneWay::new(self.parser()).into()
        }
    }
}
