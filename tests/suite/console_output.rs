//! What a person at a terminal sees: the answer of a foreground run, costs
//! written one way everywhere and bounded, no terminal escapes from the
//! agent, colour only on a terminal, and a closed pipe that is no error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common::{Sandbox, fixture};

/// The `tool` transcript with the answer `DONE` replaced by `answer` (a JSON
/// string body) and the cost by `cost`.
fn transcript(sb: &Sandbox, answer: &str, cost: &str) -> std::path::PathBuf {
    let t = std::fs::read_to_string(fixture("claude/tool.jsonl"))
        .unwrap()
        .replace("\"DONE\"", &format!("\"{answer}\""))
        .replace("0.00135", cost);
    let p = sb.root.join("transcript.jsonl");
    std::fs::write(&p, t).unwrap();
    p
}

fn run(sb: &Sandbox, answer: &str, cost: &str) -> std::process::Output {
    let mut c = sb.run_std(&["-t", "x", "--heartbeat", "0"]);
    c.env("FAKE_FIXTURE", transcript(sb, answer, cost));
    c.output().unwrap()
}

fn stdout(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = sb.cmd();
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_foreground_run_prints_its_answer() {
    let sb = Sandbox::new();
    let out = run(&sb, "The answer is 42.", "0.00135");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "The answer is 42.\n");
    // A long answer: its head on stdout, where the rest is on stderr.
    let long = "x".repeat(5000);
    let out = run(&sb, &long, "0.00135");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert_eq!(shown.trim_end().chars().count(), 4000);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("of 5000 characters") && err.contains("output.txt"),
        "{err}"
    );
}

#[test]
fn escapes_and_bidi_controls_from_the_agent_never_reach_the_terminal() {
    let sb = Sandbox::new();
    // Red text, a window-title change, a right-to-left override.
    let out = run(
        &sb,
        r"\u001b[31mRED\u001b[0m \u001b]0;pwned\u0007 safe\u202etxt.exe",
        "0.00135",
    );
    assert_eq!(out.status.code(), Some(0));
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains('\u{1b}'), "escape in {name}: {text:?}");
        assert!(
            !text.contains('\u{202e}'),
            "bidi control in {name}: {text:?}"
        );
        assert!(!text.contains('\u{7}'), "BEL in {name}: {text:?}");
    }
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("RED") && shown.contains("<U+202E>"),
        "{shown}"
    );
}

#[test]
fn one_cost_format_everywhere_and_bounded() {
    let sb = Sandbox::new();
    assert_eq!(run(&sb, "ok", "0.0041").status.code(), Some(0));
    let list = stdout(&sb, &["list"], &[]);
    let sessions = stdout(&sb, &["sessions"], &[]);
    assert!(list.contains("$0.0041"), "{list}");
    assert!(sessions.contains("$0.0041"), "{sessions}");

    let sb = Sandbox::new();
    let out = run(&sb, "ok", "1e308");
    assert_eq!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    for text in [
        err.into_owned(),
        stdout(&sb, &["list"], &[]),
        stdout(&sb, &["sessions"], &[]),
    ] {
        assert!(!text.contains("0000000000"), "unbounded cost: {text}");
        assert!(text.contains("$1.000e308"), "{text}");
    }
    // Sums may overflow to infinity: still a few characters.
    let stats = stdout(&sb, &["stats"], &[]);
    assert!(!stats.contains("0000000000"), "unbounded cost: {stats}");
}

#[test]
fn status_words_are_coloured_on_a_terminal_only() {
    let sb = Sandbox::new();
    assert_eq!(run(&sb, "ok", "0.00135").status.code(), Some(0));
    let green = "\u{1b}[1m\u{1b}[32m";
    // Piped (as here): no colour.
    assert!(!stdout(&sb, &["list"], &[]).contains('\u{1b}'));
    // A terminal, as CLICOLOR_FORCE says: the status word in green.
    let forced = stdout(&sb, &["list"], &[("CLICOLOR_FORCE", "1")]);
    assert!(forced.contains(&format!("{green}completed")), "{forced:?}");
    // NO_COLOR wins.
    let plain = stdout(
        &sb,
        &["list"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
}

#[test]
fn a_closed_pipe_is_no_error() {
    let sb = Sandbox::new();
    assert_eq!(run(&sb, "ok", "0.00135").status.code(), Some(0));
    for args in [
        &["stats", "--json"][..],
        &["list", "--json"],
        &["list"],
        &["sessions", "--json"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(crate::common::clawrun_bin())
            .env_clear()
            .env("HOME", sb.home())
            .env("PATH", format!("{}:/usr/bin:/bin", sb.bin.display()))
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

#[test]
fn an_error_says_each_cause_and_its_mark_once() {
    let sb = Sandbox::new();
    // The state dir cannot be created: the I/O error's cause is said once.
    let out = sb
        .cmd()
        .args(["--state-dir", "/proc/1/clawrun-x", "run", "-t", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("❌"))
        .unwrap_or_default();
    assert_eq!(line.matches("(os error").count(), 1, "{err}");
    // A routing refusal carries its own ❌: the line has one.
    let out = sb
        .cmd()
        .args([
            "route",
            "agent:main:telegram:group:-1001234567890:topic:369520",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("❌ ") && first.matches('❌').count() == 1,
        "{err}"
    );
}

/// Issue 25: durations are shown humanly everywhere: the banner said
/// `Timeout: 8s (0min)`, and a 2-hour limit was `7200s (120min)` / `120min`.
#[test]
fn durations_are_shown_humanly_in_the_banner_and_the_launch_message() {
    for (flag, shown) in [("8", "8s"), ("2h", "2h"), ("90m", "1h 30min")] {
        let sb = Sandbox::new();
        let out = sb
            .run_std(&["-t", "x", "--heartbeat", "0", "--timeout", flag])
            .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{err}");
        assert!(err.contains(&format!("   Timeout: {shown}\n")), "{err}");
        assert!(!err.contains("min)") && !err.contains("120min"), "{err}");
        let runs = sb.state_dir().join("runs");
        let dir = std::fs::read_dir(runs)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let notes = std::fs::read_to_string(dir.join("notifications.jsonl")).unwrap();
        assert!(notes.contains(&format!("Timeout: {shown}\\n")), "{notes}");
    }
}
