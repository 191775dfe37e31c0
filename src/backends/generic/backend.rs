//! The generic backend itself: what a request may ask of it, and the command
//! line built from the config's argument lists and placeholders.

use super::config::GenericConfig;
use super::parser::GenericParser;
use super::{GENERIC_ID_FIELD, MODEL_PLACEHOLDER, PROJECT_PLACEHOLDER, RESUME_ID_PLACEHOLDER};
use crate::backends::{
    AnyParser, Backend, CommandSpec, Names, Permission, RequestError, RunRequest,
};

/// A backend for any JSONL-printing CLI, defined in `backends.toml`.
#[derive(Debug, Clone)]
pub struct GenericBackend {
    config: GenericConfig,
}

impl GenericBackend {
    /// A backend with these settings.
    pub fn new(config: GenericConfig) -> Self {
        Self { config }
    }

    /// Its settings.
    pub fn config(&self) -> &GenericConfig {
        &self.config
    }

    fn reject(&self, message: impl Into<String>) -> Result<(), RequestError> {
        Err(RequestError {
            backend: self.config.name,
            message: message.into(),
        })
    }
}

/// Replace the placeholders of `args`.
fn fill(args: &[String], vars: &[(&str, &str)]) -> Vec<String> {
    args.iter()
        .map(|a| {
            vars.iter()
                .fold(a.clone(), |acc, (name, value)| acc.replace(name, value))
        })
        .collect()
}

impl Backend for GenericBackend {
    fn name(&self) -> &'static str {
        self.config.name
    }

    fn names(&self) -> Names {
        self.config.names
    }

    fn validate(&self, req: &RunRequest) -> Result<(), RequestError> {
        req.check_common(self.config.name, "the session id")?;
        match &req.permission {
            Permission::Default => {}
            Permission::Mode(_) | Permission::Sandbox(_) => {
                return self.reject(
                    "permission and sandbox modes are claude/codex options; put the CLI's own flags in `args`",
                );
            }
        }
        if req.model.is_some() && self.config.model_args.is_empty() {
            return self.reject(format!(
                "cannot take a model: [generic.{}] has no `model_args`",
                self.config.name
            ));
        }
        if req.resume_id.is_some() && self.config.resume_args.is_empty() {
            return self.reject(format!(
                "cannot resume: [generic.{}] has no `resume_args`",
                self.config.name
            ));
        }
        match req.built_in_option() {
            Some(refusal) => self.reject(refusal),
            None => Ok(()),
        }
    }

    fn command(&self, req: &RunRequest) -> CommandSpec {
        let project = req.project.to_string_lossy();
        let mut args = fill(&self.config.args, &[(PROJECT_PLACEHOLDER, &project)]);
        if let Some(model) = &req.model {
            args.extend(fill(
                &self.config.model_args,
                &[(PROJECT_PLACEHOLDER, &project), (MODEL_PLACEHOLDER, model)],
            ));
        }
        if let Some(id) = &req.resume_id {
            args.extend(fill(
                &self.config.resume_args,
                &[(PROJECT_PLACEHOLDER, &project), (RESUME_ID_PLACEHOLDER, id)],
            ));
        }
        CommandSpec::for_request(&self.config.program, args, &self.config.env, req)
    }

    fn parser(&self) -> AnyParser {
        GenericParser::new(&self.config).into()
    }

    fn registry_file(&self) -> &'static str {
        self.config.registry_file
    }

    fn id_field(&self) -> &'static str {
        GENERIC_ID_FIELD
    }

    fn tested_version(&self) -> &'static str {
        self.config.tested_version
    }
}
