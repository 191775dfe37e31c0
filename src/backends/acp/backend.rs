//! The ACP backend itself: what a request may ask of it, its command, and
//! the protocol that drives the session.

use super::config::AcpConfig;
use super::parser::AcpParser;
use super::protocol::{AcpProtocol, AcpSetup, PermissionPolicy, initialize_line};
use crate::backends::{
    AnyParser, AnyProtocol, Backend, Capabilities, CommandSpec, Names, Permission, PermissionStyle,
    RequestError, RunRequest,
};
use crate::core::model::approval::ApprovalMode;

/// Id field of an ACP backend's registry entries.
pub const ACP_ID_FIELD: &str = "session_id";

/// The permission mode that lets a run's permission requests be allowed.
pub const BYPASS_MODE: &str = "bypassPermissions";

/// An agent that speaks the Agent Client Protocol, defined in `backends.toml`.
#[derive(Debug, Clone)]
pub struct AcpBackend {
    config: AcpConfig,
}

impl AcpBackend {
    /// A backend with these settings.
    pub fn new(config: AcpConfig) -> Self {
        Self { config }
    }

    /// Its settings.
    pub fn config(&self) -> &AcpConfig {
        &self.config
    }

    fn reject(&self, message: &str) -> Result<(), RequestError> {
        RequestError::reject(self.config.name, message.to_owned())
    }
}

/// How a run's permission setting answers the agent's permission requests:
/// the default (full access, as for the built-in CLIs) and
/// `--permission-mode bypassPermissions` allow; any other mode denies, since
/// nobody is there to ask.
pub fn policy_for(permission: &Permission) -> PermissionPolicy {
    match permission {
        Permission::Default => PermissionPolicy::Allow,
        Permission::Mode(mode) if mode == BYPASS_MODE => PermissionPolicy::Allow,
        Permission::Mode(_) | Permission::Sandbox(_) => PermissionPolicy::Deny,
    }
}

impl Backend for AcpBackend {
    fn name(&self) -> &'static str {
        self.config.name
    }

    fn names(&self) -> Names {
        self.config.names
    }

    fn validate(&self, req: &RunRequest) -> Result<(), RequestError> {
        req.check_common(self.config.name, "the session id")?;
        if let Permission::Sandbox(_) = req.permission {
            return self.reject("a sandbox mode is a codex option; use --permission-mode");
        }
        match req.built_in_option() {
            Some(refusal) => self.reject(refusal),
            None => Ok(()),
        }
    }

    /// The agent's command, with the `initialize` request as its first
    /// stdin line (the prompt follows in `session/prompt`, never in argv).
    fn command(&self, req: &RunRequest) -> CommandSpec {
        let mut cmd = CommandSpec::for_request(
            &self.config.program,
            self.config.args.clone(),
            &self.config.env,
            req,
        );
        cmd.stdin = String::from_utf8_lossy(&initialize_line()).into_owned();
        cmd
    }

    fn parser(&self) -> AnyParser {
        AcpParser::default().into()
    }

    fn registry_file(&self) -> &'static str {
        self.config.registry_file
    }

    fn id_field(&self) -> &'static str {
        ACP_ID_FIELD
    }

    fn tested_version(&self) -> &'static str {
        self.config.tested_version
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            live_input: true,
            permission: Some(PermissionStyle::Mode),
            version_in_stream: true,
            two_way: true,
            approvals: true,
            ..Capabilities::default()
        }
    }

    fn live_command(&self, req: &RunRequest) -> Option<CommandSpec> {
        Some(self.command(req))
    }

    fn protocol_for(&self, req: &RunRequest, _live: bool) -> AnyProtocol {
        AcpProtocol::new(AcpSetup {
            backend: self.config.name,
            prompt: req.prompt.clone(),
            cwd: req.project.clone(),
            resume_id: req.resume_id.clone(),
            model: req.model.clone().or_else(|| self.config.model.clone()),
            mode: self.config.mode.clone(),
            policy: match req.approvals {
                ApprovalMode::Chat => PermissionPolicy::Ask,
                ApprovalMode::Off => policy_for(&req.permission),
            },
        })
        .into()
    }
}
