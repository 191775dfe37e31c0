#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use pretty_assertions::assert_eq;

use super::config::placeholders;
use super::*;
use crate::backends::{Backend, LineParser, Permission, RunRequest};
use crate::core::error::ConfigError;
use crate::core::model::events::{AgentEvent, FailureKind, Usage};

const ACME: &str = r#"
program = "acme-agent"
args = ["run", "--cwd", "{project}"]
model_args = ["--model={model}"]
resume_args = ["--continue", "{resume_id}"]
env = { ACME_COLOR = "never" }

[events]
type = "/kind"
ignore = ["ping"]

[events.on.hello]
event = "session_started"
resume_id = "/session/id"
model = "/model"

[events.on.say]
event = "assistant_text"
text = "/text"

[events.on.tool]
event = "tool_started"
name = "/tool/name"
summary = "/tool/input"

[events.on.tool_done]
event = "tool_finished"
ok = "/ok"

[events.on.done]
event = "turn_completed"
final_text = "/answer"
input_tokens = "/usage/in"
output_tokens = "/usage/out"
cost_usd = "/cost"
failed_if = "/error"
message = "/reason"
"#;

fn config(text: &str) -> Result<GenericConfig, ConfigError> {
    let toml: GenericToml = toml::from_str(text).map_err(|e| ConfigError::Parse {
        path: PathBuf::from("t.toml"),
        message: e.to_string(),
    })?;
    GenericConfig::from_toml("acme", toml, "t.toml")
}

#[test]
fn pointers_are_checked() {
    assert!(Pointer::parse("").is_ok());
    assert!(Pointer::parse("/a/b~0c~1d").is_ok());
    assert!(
        Pointer::parse("a/b")
            .unwrap_err()
            .contains("must start with '/'")
    );
    assert!(Pointer::parse("/a~2").unwrap_err().contains("'~'"));
    assert!(Pointer::parse("/a~").is_err());
}

#[test]
fn placeholders_are_found_and_json_braces_are_not() {
    assert_eq!(
        placeholders("--x={model}/{project}"),
        vec!["{model}", "{project}"]
    );
    assert!(placeholders(r#"{"a":1}"#).is_empty());
    assert!(placeholders("{}").is_empty());
}

#[test]
fn command_fills_placeholders_and_keeps_the_prompt_on_stdin() {
    let b = GenericBackend::new(config(ACME).unwrap());
    let req = RunRequest {
        prompt: "secret task".into(),
        project: PathBuf::from("/p"),
        model: Some("m1".into()),
        resume_id: Some("s-9".into()),
        ..RunRequest::default()
    };
    b.validate(&req).unwrap();
    // Values the CLI would take for options are refused, as for claude and codex.
    for (model, resume_id, what) in [
        (Some("-x"), None, "the model must not start with '-'"),
        (None, Some(" "), "the session id must not be empty"),
    ] {
        let odd = RunRequest {
            model: model.map(String::from),
            resume_id: resume_id.map(String::from),
            ..req.clone()
        };
        let err = b.validate(&odd).unwrap_err();
        assert!(err.message.contains(what), "{err}");
    }
    let spec = b.command(&req);
    assert_eq!(spec.program, "acme-agent");
    assert_eq!(
        spec.args,
        vec!["run", "--cwd", "/p", "--model=m1", "--continue", "s-9"]
    );
    assert_eq!(spec.stdin, "secret task");
    assert_eq!(spec.env, vec![("ACME_COLOR".into(), "never".into())]);
    assert_eq!(spec.cwd, PathBuf::from("/p"));
    assert_eq!(b.name(), "acme");
    assert_eq!(b.registry_file(), "acme_sessions.json");
    assert_eq!(b.id_field(), "session_id");
    assert_eq!(b.names().result_marker, "[ACME_RESULT]");
}

#[test]
fn validate_rejects_what_the_config_cannot_express() {
    let mut toml: GenericToml = toml::from_str(ACME).unwrap();
    toml.model_args = None;
    toml.resume_args = None;
    let b = GenericBackend::new(GenericConfig::from_toml("acme", toml, "t").unwrap());
    let base = RunRequest {
        prompt: "x".into(),
        ..RunRequest::default()
    };
    let bad = [
        RunRequest {
            model: Some("m".into()),
            ..base.clone()
        },
        RunRequest {
            resume_id: Some("s".into()),
            ..base.clone()
        },
        RunRequest {
            permission: Permission::Mode("plan".into()),
            ..base.clone()
        },
        RunRequest {
            allowed_tools: vec!["Bash".into()],
            ..base.clone()
        },
    ];
    for req in bad {
        let err = b.validate(&req).unwrap_err();
        assert_eq!(err.backend, "acme");
    }
    b.validate(&base).unwrap();
}

#[test]
fn lines_map_to_events_leniently() {
    let c = config(ACME).unwrap();
    let mut p = GenericParser::new(&c);
    let mut all = Vec::new();
    for line in [
        r#"{"kind":"hello","session":{"id":"s-1"},"model":"m1"}"#,
        r#"{"kind":"ping"}"#,
        r#"{"kind":"tool","tool":{"name":"shell","input":"ls   -la\n/tmp"}}"#,
        r#"{"kind":"tool_done","ok":false}"#,
        r#"{"kind":"say","text":"hi"}"#,
        r#"{"kind":"mystery"}"#,
        "not json",
        r#"{"kind":"done","answer":"42","usage":{"in":10,"out":"5"},"cost":0.5}"#,
    ] {
        all.extend(p.parse_line(line));
    }
    assert_eq!(
        all,
        vec![
            AgentEvent::SessionStarted {
                resume_id: "s-1".into(),
                model: Some("m1".into()),
                cli_version: None
            },
            AgentEvent::ToolStarted {
                call_id: "call-1".into(),
                name: "shell".into(),
                summary: "ls -la /tmp".into(),
                parent_tool_id: None
            },
            AgentEvent::ToolFinished {
                call_id: "call-1".into(),
                ok: false
            },
            AgentEvent::AssistantText {
                text: "hi".into(),
                parent_tool_id: None
            },
            AgentEvent::Warning {
                message: "unknown event type \"mystery\"".into()
            },
            AgentEvent::Warning {
                message: "not a JSON line (expected ident at line 1 column 2): not json".into()
            },
            AgentEvent::TurnCompleted {
                final_text: Some("42".into()),
                usage: Some(Usage {
                    input_tokens: 10,
                    cached_input_tokens: 0,
                    output_tokens: 5
                }),
                cost_usd: Some(0.5)
            },
        ]
    );
    assert!(p.finish(Some(0), "").is_empty());
}

#[test]
fn failed_if_and_finish_without_terminal() {
    let mut toml: GenericToml = toml::from_str(ACME).unwrap();
    toml.resume_not_found = Some(vec!["no such session".into()]);
    let c = GenericConfig::from_toml("acme", toml, "t").unwrap();
    let mut p = GenericParser::new(&c);
    assert_eq!(
        p.parse_line(r#"{"kind":"done","error":true,"reason":"no such session s-1"}"#),
        vec![AgentEvent::TurnFailed {
            message: "no such session s-1".into(),
            kind: FailureKind::ResumeNotFound,
            cost_usd: None
        }]
    );
    let mut p = GenericParser::new(&c);
    assert_eq!(
        p.finish(Some(2), "boom\n"),
        vec![AgentEvent::TurnFailed {
            message: "boom".into(),
            kind: FailureKind::NoResult,
            cost_usd: None
        }]
    );
    let mut p = GenericParser::new(&c);
    assert!(matches!(
        p.finish(Some(1), "error: no such session\n")[0],
        AgentEvent::TurnFailed {
            kind: FailureKind::ResumeNotFound,
            ..
        }
    ));
}

#[test]
fn config_problems_are_all_named_with_their_path() {
    let err = config(
        r#"
args = ["{model}"]
resume_args = ["--continue"]
[events]
type = "kind"
ignore = ["say"]
[events.on.say]
event = "assistant_text"
text = "text"
"#,
    )
    .unwrap_err()
    .to_string();
    for want in [
        "`generic.acme.program`: is missing",
        "`generic.acme.args`: {model} is not allowed here",
        "`generic.acme.resume_args`: must contain {resume_id}",
        "`generic.acme.events.type`: \"kind\" is not a JSON pointer",
        "`generic.acme.events.on.say.text`",
        "`generic.acme.events.ignore`: type \"say\" is both ignored and mapped",
    ] {
        assert!(err.contains(want), "{want} not in {err}");
    }
}

#[test]
fn unknown_keys_and_event_kinds_are_errors() {
    let err = config(&ACME.replace("[events.on.say]", "[events.on.say]\ncolour = \"x\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("colour"), "{err}");
    let err = config(&ACME.replace("\"assistant_text\"", "\"assistant_txt\""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("assistant_txt"), "{err}");
    let err = config(&format!("{ACME}\nprogramm = \"x\"\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("programm"), "{err}");
}

#[test]
fn names_are_checked() {
    assert!(check_name("acme-2_x").is_ok());
    assert!(check_name("Acme").is_err());
    assert!(check_name("2acme").is_err());
    assert!(check_name("").is_err());
    assert!(check_name("claude").unwrap_err().contains("built-in"));
    assert!(check_name(&"a".repeat(33)).is_err());
}

#[test]
fn a_generic_backend_refuses_every_preset_but_full() {
    use crate::core::config::Safety;
    let b = GenericBackend::new(config(ACME).unwrap());
    assert_eq!(b.safety_permission(Safety::Full), Ok(Permission::Default));
    for preset in [Safety::Workspace, Safety::ReadOnly] {
        let err = b.safety_permission(preset).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("the {preset} safety preset is not supported")),
            "{err}"
        );
    }
}
