//! Bad input: one clear line, exit 2, nothing written (issue 13, F); and the
//! seed's flags that carry over (`--full-auto`, negative Telegram ids,
//! durations with units).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use serde_json::Value;

use crate::common::{Sandbox, fixture, run_ids};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Exit 2, a message containing `want` on one line, no run directory.
fn refused(sb: &Sandbox, out: &Output, want: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(want), "{err}");
    assert_eq!(
        err.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "not one line: {err}"
    );
    assert!(run_ids(sb).is_empty(), "a run directory was written");
}

#[test]
fn an_endless_task_file_is_refused_after_16_mib() {
    let sb = Sandbox::new();
    let started = std::time::Instant::now();
    let out = sb
        .run(&["--task-file", "/dev/zero"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    refused(
        &sb,
        &out,
        "--task-file /dev/zero is larger than 16777216 bytes",
    );
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn a_task_file_with_nul_bytes_is_refused() {
    let sb = Sandbox::new();
    let task = sb.root.join("task.bin");
    std::fs::write(&task, b"fix the bug\0\0\x01").unwrap();
    let out = sb
        .run(&["--task-file", task.to_str().unwrap()])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    refused(&sb, &out, "the task contains NUL bytes");
}

#[test]
fn a_config_path_that_does_not_exist_is_refused() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["--config", "/nonexistent/clawrun.toml", "run", "-t", "x"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    refused(
        &sb,
        &out,
        "--config /nonexistent/clawrun.toml: no such file",
    );
}

#[test]
fn a_project_under_a_file_is_refused_before_anything_is_written() {
    let sb = Sandbox::new();
    let file = sb.root.join("afile");
    std::fs::write(&file, "x").unwrap();
    let project = file.join("sub");
    let out = sb
        .run(&["-t", "x", "-p", project.to_str().unwrap()])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    refused(
        &sb,
        &out,
        &format!("cannot be created: {} is not a directory", file.display()),
    );
}

#[test]
fn a_resume_id_with_a_bidi_control_is_refused() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["-t", "x", "--resume", "abc\u{202E}fed"])
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .output()
        .unwrap();
    refused(
        &sb,
        &out,
        "--resume must not contain spaces, control or invisible",
    );
    assert!(stderr(&out).contains("\\u{202e}"), "{}", stderr(&out));
}

#[test]
fn an_unknown_backend_is_named_with_the_known_ones() {
    let sb = Sandbox::new();
    let out = sb.run(&["-t", "x", "--backend", "claud"]).output().unwrap();
    refused(&sb, &out, "unknown backend 'claud' (known: claude, codex");
    assert!(!stderr(&out).contains("invalid configuration"));
}

#[test]
fn notify_outside_a_run_says_so() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["notify", "hello"]).output().unwrap();
    refused(
        &sb,
        &out,
        "not inside a clawrun run: CLAWRUN_RUN_DIR is not set",
    );
}

#[test]
fn a_timeout_takes_units_and_a_bad_one_names_the_forms() {
    let sb = Sandbox::new();
    let out = sb.run(&["-t", "x", "--timeout", "2x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("give seconds (7200) or a number with a unit (45s, 90m, 2h"),
        "{}",
        stderr(&out)
    );
    assert!(run_ids(&sb).is_empty());
    for (flag, secs) in [
        ("2h", 7200),
        ("90m", 5400),
        ("45s", 45),
        ("1h30m", 5400),
        ("600", 600),
    ] {
        let out = sb
            .run(&["-t", "x", "--timeout", flag, "--json"])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{flag}: {}", stderr(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let dir = sb
            .state_dir()
            .join("runs")
            .join(report["run_id"].as_str().unwrap());
        let rec: Value =
            serde_json::from_slice(&std::fs::read(dir.join("run.json")).unwrap()).unwrap();
        assert_eq!(rec["timeout_secs"], secs, "{flag}");
    }
}

#[test]
fn a_negative_telegram_target_is_taken_without_an_equals_sign() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        "[telegram]\nbot_token_env = \"TG_TOKEN\"\n",
    )
    .unwrap();
    let out = sb
        .cmd()
        .args([
            "route",
            "--notify-channel",
            "telegram",
            "--notify-target",
            "-1001234567890",
            "--telegram-routing-mode",
            "allow-non-thread",
            "--json",
        ])
        .env("TG_TOKEN", "123:abc")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["route"]["target"], "-1001234567890");
}

#[test]
fn the_seeds_full_auto_runs_codex_in_the_workspace_write_sandbox() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let out = sb
        .run(&["--backend", "codex", "-t", "x", "--full-auto"])
        .env("FAKE_FIXTURE", fixture("codex/tool.jsonl"))
        .env("FAKE_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("--full-auto (the seed's codex flag) runs as --sandbox workspace-write"),
        "{}",
        stderr(&out)
    );
    let argv: Vec<String> = std::fs::read_to_string(rec.join("argv"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        argv.windows(2).any(|w| w[1] == "workspace-write"),
        "{argv:?}"
    );
    assert!(!argv.iter().any(|a| a.contains("dangerously")), "{argv:?}");
    // With --sandbox it is a contradiction, said by clap.
    let out = sb
        .run(&[
            "--backend",
            "codex",
            "-t",
            "x",
            "--full-auto",
            "--sandbox",
            "read-only",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// Exit 2 from clap: one message naming `flag` and the allowed values, not
/// "unexpected argument"; nothing written.
fn out_of_range(sb: &Sandbox, out: &Output, flag: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{flag}: {err}");
    assert!(!err.contains("unexpected argument"), "{flag}: {err}");
    assert!(err.contains(flag), "{flag}: {err}");
    assert!(err.contains("allowed:"), "{flag}: {err}");
    assert!(
        run_ids(sb).is_empty(),
        "{flag}: a run directory was written"
    );
}

#[test]
fn a_negative_number_names_its_flag_and_the_allowed_range() {
    let sb = Sandbox::new();
    for flag in [
        "--timeout",
        "--grace",
        "--idle-timeout",
        "--max-auto-responds",
        "--approval-timeout",
        "--heartbeat",
        "--stall-secs",
        "--remind-after",
        "--delivery-wait",
        "--max-iterations",
        "--max-budget-usd",
    ] {
        let out = sb.run(&["-t", "x", flag, "-1"]).output().unwrap();
        out_of_range(&sb, &out, flag);
    }
    let others: [&[&str]; 8] = [
        &["kill", "r", "--wait", "-1"],
        &["doctor", "--timeout", "-1"],
        &["outbox", "flush", "--wait", "-1"],
        &["gc", "--older-than", "-1"],
        &["stats", "--days", "-1"],
        &["output", "r", "--lines", "-1"],
        &["sessions", "--hours", "-1"],
        &["resume", "r", "--timeout", "-1"],
    ];
    for args in others {
        let out = sb.cmd().args(args).output().unwrap();
        out_of_range(&sb, &out, args[args.len() - 2]);
    }
    // Out of range the other way, and zero where it means nothing.
    for (flag, value) in [
        ("--timeout", "0"),
        ("--timeout", "8d"),
        ("--approval-timeout", "0"),
        ("--approval-timeout", "601"),
        ("--max-iterations", "0"),
        ("--grace", "601"),
    ] {
        let out = sb.run(&["-t", "x", flag, value]).output().unwrap();
        out_of_range(&sb, &out, flag);
    }
}

#[test]
fn a_resume_id_that_is_a_path_is_refused() {
    let sb = Sandbox::new();
    for id in ["../../etc/passwd", "/etc/passwd", "a/b", ".hidden"] {
        let out = sb
            .run(&["-t", "x", "--resume", id])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .output()
            .unwrap();
        refused(&sb, &out, "--resume");
        assert!(
            stderr(&out).contains("not a session id or run id"),
            "{id}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_flag_without_its_mode_is_refused_naming_the_mode() {
    let sb = Sandbox::new();
    for (args, want) in [
        (
            &["--approval-timeout", "60"][..],
            "--approval-timeout needs --approvals chat",
        ),
        (
            &["--max-auto-responds", "3"][..],
            "--max-auto-responds needs --multi-turn",
        ),
        (
            &["--max-iterations", "3"][..],
            "--max-iterations needs --completion-mode iterate",
        ),
    ] {
        let out = sb
            .run(&[&["-t", "x"][..], args].concat())
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .output()
            .unwrap();
        refused(&sb, &out, want);
    }
}

#[test]
fn the_backend_help_names_every_kind_and_an_unknown_one_the_configured_names() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = help
        .lines()
        .skip_while(|l| !l.contains("--backend"))
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(!line.contains("claude or codex"), "{line}");
    assert!(
        line.contains("ACP") && line.contains("backends.toml"),
        "{line}"
    );
    std::fs::create_dir_all(sb.state_dir()).unwrap();
    let file = sb.root.join("backends.toml");
    std::fs::write(&file, "[acp.myagent]\nprogram = \"myagent-acp\"\n").unwrap();
    let out = sb
        .cmd()
        .args(["--backends", file.to_str().unwrap()])
        .args(["run", "-t", "x", "--backend", "claud"])
        .output()
        .unwrap();
    refused(&sb, &out, "unknown backend 'claud'");
    assert!(stderr(&out).contains("myagent"), "{}", stderr(&out));
}
