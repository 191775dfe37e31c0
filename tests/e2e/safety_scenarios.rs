//! `--safety` presets with the real `claude` and `codex`: the fake model asks to
//! edit a committed file of the project (`safety_edit`, tests/e2e/safety_fakes.rs).
//! `read-only` leaves the repository as it was (file contents and `git status`)
//! and the result reports the denied edit where the CLI tells (claude) and the
//! preset always; with `workspace` the edit lands.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use serde_json::Value;

use crate::fakes::safety::{
    SAFETY_ANSWER, SAFETY_EDITED, SAFETY_FILE, SAFETY_ORIGINAL, SAFETY_PATCHED, SAFETY_PATCHED_FILE,
};
use crate::harness::{Ctx, Run, run_record};

const TASK: &str = "[e2e:safety_edit] Change the line in notes.txt to 'edited line'.";

/// `git -C dir ARGS` with a fixed identity; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=e2e",
            "-c",
            "user.email=e2e@example.invalid",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh git repository with [`SAFETY_FILE`] committed.
fn repo(ctx: &Ctx, name: &str) -> PathBuf {
    let dir = ctx.project(name);
    git(&dir, &["init", "-q"]);
    std::fs::write(dir.join(SAFETY_FILE), SAFETY_ORIGINAL).unwrap();
    git(&dir, &["add", SAFETY_FILE]);
    git(&dir, &["commit", "-q", "-m", "initial"]);
    dir
}

/// `clawrun run … --safety PRESET --json` on `project`.
async fn run(ctx: &Ctx, backend: &str, project: &Path, preset: &str) -> Run {
    let backends = ctx.backends_file();
    let r = ctx
        .clawrun(
            &ctx.cli_home(),
            &[
                "run",
                "--backends",
                backends.to_str().unwrap(),
                "--backend",
                backend,
                "-p",
                project.to_str().unwrap(),
                "-t",
                TASK,
                "--safety",
                preset,
                "--heartbeat",
                "0",
                "--json",
            ],
        )
        .await;
    r.expect_code(0);
    let report = r.json();
    assert_eq!(report["outcome"], "completed", "{report}");
    r
}

/// The console messages of a run of the kind `kind` (`launch`, `result`, …).
fn messages(ctx: &Ctx, r: &Run, kind: &str) -> Vec<String> {
    let path = r.run_dir(&ctx.cli_home()).join("notifications.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|n| n["kind"] == kind)
        .map(|n| n.to_string())
        .collect()
}

/// The launch message and `clawrun show` name the preset.
async fn preset_is_named(ctx: &Ctx, r: &Run, preset: &str) {
    let launch = messages(ctx, r, "launch").join("\n");
    assert!(
        launch.contains(&format!("Safety: {preset}")),
        "the launch message does not name the preset: {launch}"
    );
    let run_id = r.json()["run_id"].as_str().unwrap().to_owned();
    let show = ctx
        .clawrun(&ctx.cli_home(), &["show", &run_id, "--json"])
        .await;
    show.expect_code(0);
    assert_eq!(show.json()["safety"], preset, "{}", show.stdout);
}

/// The repository is exactly as committed.
fn unchanged(project: &Path) {
    let text = std::fs::read_to_string(project.join(SAFETY_FILE)).unwrap();
    assert_eq!(
        text, SAFETY_ORIGINAL,
        "the read-only run changed {SAFETY_FILE}"
    );
    let status = git(project, &["status", "--porcelain", "--untracked-files=all"]);
    assert_eq!(
        status, "",
        "the read-only run left changes in the repository"
    );
}

/// The edit went through, and only it (and the files `added`).
fn edited(project: &Path, added: &[&str]) {
    let text = std::fs::read_to_string(project.join(SAFETY_FILE)).unwrap();
    assert_eq!(
        text, SAFETY_EDITED,
        "the workspace run did not edit {SAFETY_FILE}"
    );
    let status = git(project, &["status", "--porcelain", "--untracked-files=all"]);
    let mut want = format!(" M {SAFETY_FILE}\n");
    for f in added {
        want.push_str(&format!("?? {f}\n"));
    }
    assert_eq!(status, want, "unexpected changes");
}

/// claude, `--safety read-only` (`--permission-mode plan`): the Edit is
/// denied, the file and `git status` are untouched, and the result message
/// names the denied call.
pub async fn claude_safety_read_only(ctx: Arc<Ctx>) {
    let project = repo(&ctx, "safety-claude-ro");
    let r = run(&ctx, "claude", &project, "read-only").await;
    unchanged(&project);
    preset_is_named(&ctx, &r, "read-only").await;
    let result = messages(&ctx, &r, "result").join("\n");
    let line = format!("1 tool call denied by the read-only preset: Edit {SAFETY_FILE}");
    assert!(
        result.contains(&line),
        "the result does not report the denied edit ({line:?}): {result}"
    );
    assert!(
        result.contains("Safety: read-only (--permission-mode plan)"),
        "{result}"
    );
    let record = run_record(&r.run_dir(&ctx.cli_home()));
    assert_eq!(record["status"], "completed", "{record}");
}

/// claude, `--safety workspace` (`--permission-mode acceptEdits`): the edit
/// lands and nothing is reported denied.
pub async fn claude_safety_workspace(ctx: Arc<Ctx>) {
    let project = repo(&ctx, "safety-claude-ws");
    let r = run(&ctx, "claude", &project, "workspace").await;
    edited(&project, &[]);
    preset_is_named(&ctx, &r, "workspace").await;
    let result = messages(&ctx, &r, "result").join("\n");
    assert!(!result.contains("denied"), "{result}");
    assert!(result.contains(SAFETY_ANSWER), "{result}");
}

/// What the model was told about the calls of the last Codex conversation:
/// the outputs of its tool calls, in order.
async fn codex_call_outputs(ctx: &Ctx) -> Vec<String> {
    let bodies = ctx.openai.responses_bodies().await;
    let last = bodies.last().unwrap();
    last["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"].as_str().unwrap_or("").ends_with("_call_output"))
        .map(|i| i["output"].to_string())
        .collect()
}

/// The item types of a Codex run's `--json` stream.
fn codex_item_types(ctx: &Ctx, r: &Run) -> Vec<String> {
    std::fs::read_to_string(r.run_dir(&ctx.cli_home()).join("stream.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["type"] == "item.completed")
        .map(|l| l["item"]["type"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// codex, `--safety read-only` (`-s read-only`): the shell write fails in the
/// sandbox ("Read-only file system") and `apply_patch` is rejected, the
/// repository is untouched, and the result names the preset and both refused
/// calls. Codex 0.169.0 and 0.171.0 print neither in `--json` (no
/// `command_execution`, no `file_change` item; only the model is told): clawrun
/// reads them from Codex's session log in `CODEX_HOME`. The figure records
/// what this version printed in `--json`.
pub async fn codex_safety_read_only(ctx: Arc<Ctx>) {
    let project = repo(&ctx, "safety-codex-ro");
    let r = run(&ctx, "codex", &project, "read-only").await;
    unchanged(&project);
    preset_is_named(&ctx, &r, "read-only").await;
    let outputs = codex_call_outputs(&ctx).await;
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    assert!(
        outputs[0].contains("Read-only file system"),
        "the sandbox did not refuse the shell write: {outputs:?}"
    );
    let result = messages(&ctx, &r, "result").join("\n");
    assert!(
        result.contains("Safety: read-only (--sandbox read-only)"),
        "the result does not name the preset: {result}"
    );
    let denied = format!(
        "Denied: 2 tool calls denied by the read-only preset: shell `printf '{}\\n' > \
         {SAFETY_FILE}`, apply_patch {SAFETY_PATCHED_FILE}",
        SAFETY_EDITED.trim_end()
    );
    let texts: Vec<String> = messages(&ctx, &r, "result")
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(m).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(
        texts.iter().any(|t| t.contains(&denied)),
        "the result does not name the refused calls ({denied:?}): {result}"
    );
    let items = codex_item_types(&ctx, &r);
    let reported = items
        .iter()
        .filter(|t| *t == "command_execution" || *t == "file_change")
        .count();
    ctx.figure(
        "codex read-only: refused calls in --json",
        format!("{reported} of 2 (model told: {})", outputs.join(" | ")),
    );
}

/// codex, `--safety workspace` (`-s workspace-write`): the shell edit and the
/// patch land, both reported in the stream.
pub async fn codex_safety_workspace(ctx: Arc<Ctx>) {
    let project = repo(&ctx, "safety-codex-ws");
    let r = run(&ctx, "codex", &project, "workspace").await;
    edited(&project, &[SAFETY_PATCHED_FILE]);
    let patched = std::fs::read_to_string(project.join(SAFETY_PATCHED_FILE)).unwrap();
    assert_eq!(patched, SAFETY_PATCHED);
    preset_is_named(&ctx, &r, "workspace").await;
    let items = codex_item_types(&ctx, &r);
    assert!(
        items.iter().any(|t| t == "command_execution") && items.iter().any(|t| t == "file_change"),
        "{items:?}"
    );
    let result = messages(&ctx, &r, "result").join("\n");
    assert!(result.contains(SAFETY_ANSWER), "{result}");
    assert!(!result.contains("denied"), "{result}");
}
