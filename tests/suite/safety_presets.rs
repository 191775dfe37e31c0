//! `--safety` presets: the argv each backend gets, the launch message, the
//! denials in the result, `[run] safety`, and the explicit flags winning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use crate::common::{Sandbox, fixture};

fn argv_of(rec_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(rec_dir.join("argv"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn follows(argv: &[String], flag: &str, value: &str) -> bool {
    argv.windows(2).any(|w| w[0] == flag && w[1] == value)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run(sb: &Sandbox, fixture_name: &str, rec: &str, args: &[&str]) -> (Output, Vec<String>) {
    let rec_dir = sb.root.join(rec);
    let mut all = vec!["-t", "edit the files", "--heartbeat", "0"];
    all.extend_from_slice(args);
    let out = sb
        .run(&all)
        .env("FAKE_FIXTURE", fixture(fixture_name))
        .env("FAKE_RECORD", &rec_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    (out, argv_of(&rec_dir))
}

#[test]
fn claude_presets_map_to_permission_modes_and_the_launch_says_so() {
    let sb = Sandbox::new();
    let (out, argv) = run(
        &sb,
        "safety/claude-2.1.197-plan.jsonl",
        "ro",
        &["--safety", "read-only"],
    );
    assert!(follows(&argv, "--permission-mode", "plan"), "{argv:?}");
    assert!(
        !argv.iter().any(|a| a == "--dangerously-skip-permissions"),
        "{argv:?}"
    );
    let all = text(&out);
    assert!(
        all.contains("Safety: read-only (--permission-mode plan)"),
        "{all}"
    );
    // The result names the denied calls (captured from claude 2.1.197).
    assert!(
        all.contains(
            "5 tool calls denied by the read-only preset: Write /tmp/sf-exp/run-p-plan/proj/inside.txt"
        ),
        "{all}"
    );

    let (_, argv) = run(
        &sb,
        "safety/claude-2.1.197-acceptEdits.jsonl",
        "ws",
        &["--safety", "workspace"],
    );
    assert!(
        follows(&argv, "--permission-mode", "acceptEdits"),
        "{argv:?}"
    );

    // The default stays the seeds' bypass.
    let (out, argv) = run(&sb, "claude/tool.jsonl", "full", &[]);
    assert!(
        argv.iter().any(|a| a == "--dangerously-skip-permissions"),
        "{argv:?}"
    );
    assert!(text(&out).contains("Safety: full"), "{}", text(&out));
}

#[test]
fn codex_presets_map_to_sandboxes() {
    let sb = Sandbox::new();
    for (preset, sandbox) in [("read-only", "read-only"), ("workspace", "workspace-write")] {
        let (out, argv) = run(
            &sb,
            "safety/codex-0.169.0-read-only.jsonl",
            preset,
            &["--backend", "codex", "--safety", preset],
        );
        assert!(follows(&argv, "-s", sandbox), "{argv:?}");
        assert!(
            !argv
                .iter()
                .any(|a| a == "--dangerously-bypass-approvals-and-sandbox"),
            "{argv:?}"
        );
        let all = text(&out);
        assert!(
            all.contains(&format!("Safety: {preset} (--sandbox {sandbox})")),
            "{all}"
        );
    }
}

#[test]
fn explicit_flags_win_over_the_preset_and_say_so() {
    let sb = Sandbox::new();
    let (out, argv) = run(
        &sb,
        "claude/tool.jsonl",
        "rec",
        &["--safety", "read-only", "--permission-mode", "acceptEdits"],
    );
    assert!(
        follows(&argv, "--permission-mode", "acceptEdits"),
        "{argv:?}"
    );
    assert!(!follows(&argv, "--permission-mode", "plan"), "{argv:?}");
    assert!(
        text(&out).contains(
            "Safety: read-only; --permission-mode acceptEdits given (wins over the preset)"
        ),
        "{}",
        text(&out)
    );
}

#[test]
fn the_config_default_applies_and_show_names_the_preset() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[run]\nsafety = \"read-only\"\n",
    )
    .unwrap();
    let (out, argv) = run(&sb, "claude/tool.jsonl", "rec", &["--json"]);
    assert!(follows(&argv, "--permission-mode", "plan"), "{argv:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = report["run_id"].as_str().unwrap();
    let show = sb.cmd().args(["show", id, "--json"]).output().unwrap();
    let details: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(details["safety"], "read-only", "{details}");
    let show = sb.cmd().args(["show", id]).output().unwrap();
    assert!(
        text(&show).contains("read-only (--permission-mode plan)"),
        "{}",
        text(&show)
    );
    // A flag wins over the file.
    let (_, argv) = run(&sb, "claude/tool.jsonl", "rec2", &["--safety", "full"]);
    assert!(
        argv.iter().any(|a| a == "--dangerously-skip-permissions"),
        "{argv:?}"
    );
    // An unknown preset in the file is a config error.
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[run]\nsafety = \"yolo\"\n",
    )
    .unwrap();
    let out = sb.run(&["-t", "x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("run"), "{}", text(&out));
}

/// The text of a finished run's result message (console channel).
fn result_message(sb: &Sandbox, out: &Output) -> String {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = sb
        .state_dir()
        .join("runs")
        .join(report["run_id"].as_str().unwrap());
    std::fs::read_to_string(dir.join("notifications.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|n| n["kind"] == "result")
        .map(|n| n["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_result_names_the_preset_of_a_limited_run_even_without_denials() {
    let sb = Sandbox::new();
    // Codex reports no refused write in its stream (captured from 0.169.0),
    // and here there is no session log to find them in: the result still
    // says the run was read-only.
    let (out, _) = run(
        &sb,
        "safety/codex-0.169.0-read-only.jsonl",
        "ro",
        &["--backend", "codex", "--safety", "read-only", "--json"],
    );
    let result = result_message(&sb, &out);
    assert!(
        result.contains("\nSafety: read-only (--sandbox read-only)\n"),
        "{result}"
    );
    assert!(!result.contains("Denied"), "{result}");
    // An explicit flag limits the run too.
    let (out, _) = run(
        &sb,
        "claude/tool.jsonl",
        "flag",
        &["--permission-mode", "acceptEdits", "--json"],
    );
    let result = result_message(&sb, &out);
    assert!(
        result.contains("Safety: full; --permission-mode acceptEdits given"),
        "{result}"
    );
    // An unlimited run's result says nothing about safety.
    let (out, _) = run(&sb, "claude/tool.jsonl", "full", &["--json"]);
    let result = result_message(&sb, &out);
    assert!(!result.contains("Safety"), "{result}");
}

/// A codex run whose fake agent also writes a Codex session log (captured
/// from 0.169.0: `rollout`, under `tests/fixtures/codex-rollout/`) with the
/// stream's thread id; `codex_home`: the agent's `CODEX_HOME`, else `~/.codex`.
fn codex_run_with_log(
    sb: &Sandbox,
    rollout: &str,
    codex_home: Option<&Path>,
    args: &[&str],
) -> Output {
    let mut all = vec![
        "-t",
        "edit the files",
        "--heartbeat",
        "0",
        "--backend",
        "codex",
    ];
    all.extend_from_slice(args);
    all.push("--json");
    let mut cmd = sb.run(&all);
    cmd.env(
        "FAKE_FIXTURE",
        fixture("safety/codex-0.169.0-read-only.jsonl"),
    )
    .env("FAKE_MODE", "codex-rollout")
    .env("FAKE_ROLLOUT", fixture(rollout));
    if let Some(home) = codex_home {
        cmd.env("CODEX_HOME", home);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    out
}

#[test]
fn codex_refused_calls_come_from_its_session_log() {
    let sb = Sandbox::new();
    // `--safety read-only`, CODEX_HOME in the agent's environment: every
    // write was refused, and Codex's `--json` said nothing of them.
    let home = sb.root.join("codex-home");
    let out = codex_run_with_log(
        &sb,
        "codex-rollout/codex-0.169.0-read-only.jsonl",
        Some(&home),
        &["--safety", "read-only"],
    );
    let result = result_message(&sb, &out);
    assert!(
        result.contains(
            "\nDenied: 5 tool calls denied by the read-only preset: \
             shell `printf 'edited line\\n' > notes.txt`, apply_patch patched.txt, \
             shell `printf 'x\\n' > /opt/cx-outside.txt`, +2 more\n"
        ),
        "{result}"
    );
    // An explicit `--sandbox workspace-write`, the log in ~/.codex: only the
    // writes outside the project were refused (a command failing on its own
    // is no denial).
    let out = codex_run_with_log(
        &sb,
        "codex-rollout/codex-0.169.0-workspace-write.jsonl",
        None,
        &["--sandbox", "workspace-write"],
    );
    let result = result_message(&sb, &out);
    assert!(
        result.contains(
            "\nDenied: 2 tool calls denied by --sandbox workspace-write: \
             shell `printf 'x\\n' > /opt/cx-outside.txt`, apply_patch /opt/cx-outside-patch.txt\n"
        ),
        "{result}"
    );
}

#[test]
fn codex_session_log_is_read_only_for_a_limited_run_and_its_absence_is_a_warning() {
    let sb = Sandbox::new();
    // A full run has no sandbox: nothing is read, nothing denied.
    let out = codex_run_with_log(
        &sb,
        "codex-rollout/codex-0.169.0-read-only.jsonl",
        None,
        &[],
    );
    assert!(!result_message(&sb, &out).contains("Denied"));
    // A relative CODEX_HOME is the agent's, in the project.
    let out = codex_run_with_log(
        &sb,
        "codex-rollout/codex-0.169.0-workspace-write.jsonl",
        Some(Path::new("relative/codex-home")),
        &["--safety", "workspace"],
    );
    let result = result_message(&sb, &out);
    assert!(
        result.contains("Denied: 2 tool calls denied by the workspace preset"),
        "{result}"
    );
    // A limited run whose log is not there completes, with a warning.
    let sb = Sandbox::new();
    let (out, _) = run(
        &sb,
        "safety/codex-0.169.0-read-only.jsonl",
        "ro",
        &["--backend", "codex", "--safety", "read-only", "--json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "completed", "{report}");
    assert!(!result_message(&sb, &out).contains("Denied"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the calls the sandbox refused are not reported: the session log of"),
        "{err}"
    );
    // The agent is told too: the result message and the run record carry it.
    let result = result_message(&sb, &out);
    assert!(
        result.contains("Warnings: the calls the sandbox refused are not reported"),
        "{result}"
    );
    let dir = sb
        .state_dir()
        .join("runs")
        .join(report["run_id"].as_str().unwrap());
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    assert!(
        record["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .contains("not reported"),
        "{record}"
    );
}
