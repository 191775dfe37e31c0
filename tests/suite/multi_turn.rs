//! Multi-turn runs (`--multi-turn`, `clawrun respond`), the auto-respond cap,
//! refusals for runs that take no live input, and the usage-limit auto-resume.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Sandbox, fixture, run_ids};

const KEY: &str = "agent:main:main";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn run_dir(sb: &Sandbox) -> (String, PathBuf) {
    let ids = run_ids(sb);
    assert_eq!(ids.len(), 1, "{ids:?}");
    let dir = sb.state_dir().join("runs").join(&ids[0]);
    (ids[0].clone(), dir)
}

fn notes(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("notifications.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn texts(dir: &Path, kind: &str) -> Vec<String> {
    notes(dir)
        .iter()
        .filter(|n| n["kind"] == kind)
        .map(|n| n["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Poll until `pred` holds on the run's notifications (at most 20 s).
fn wait_for(dir: &Path, what: &str, pred: impl Fn(&[Value]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n = notes(dir);
        if pred(&n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {n:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn count_notices(n: &[Value], needle: &str) -> usize {
    n.iter()
        .filter(|x| x["kind"] == "notice" && x["text"].as_str().unwrap_or("").contains(needle))
        .count()
}

/// Poll until the run's record says it is done; returns its status.
fn wait_done(dir: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rec: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
        let status = rec["status"].as_str().unwrap_or_default().to_owned();
        if status != "running" && status != "starting" {
            // The runner removes its socket as it exits.
            while dir.join("control.sock").exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            return status;
        }
        assert!(Instant::now() < deadline, "run did not finish: {rec}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status `clawrun list --json` shows for run `id`.
fn listed_status(sb: &Sandbox, id: &str) -> String {
    let out = sb.cmd().args(["list", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let run = runs.iter().find(|r| r["run_id"] == id).unwrap();
    run["status"].as_str().unwrap().to_owned()
}

fn respond(sb: &Sandbox, args: &[&str]) -> Output {
    sb.cmd().arg("respond").args(args).output().unwrap()
}

fn start_multi_turn(sb: &Sandbox, rec: &Path, extra: &[&str]) -> (String, PathBuf) {
    start_multi_turn_with(sb, rec, extra, &[])
}

/// A detached `--multi-turn` run of the fake agent, with more environment.
fn start_multi_turn_with(
    sb: &Sandbox,
    rec: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (String, PathBuf) {
    let base = [
        "-s",
        KEY,
        "--notify-channel",
        "console",
        "--heartbeat",
        "0",
        "--multi-turn",
        "--detach",
        "-t",
        "pick a colour",
    ];
    let out = sb
        .run(&[&base[..], extra].concat())
        .env("FAKE_MODE", "multi-turn")
        .env("FAKE_RECORD", rec)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    run_dir(sb)
}

fn user_line_text(line: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["type"], "user", "{line}");
    assert_eq!(v["message"]["role"], "user", "{line}");
    v["message"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn multi_turn_run_waits_takes_an_answer_and_closes_when_idle() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let (id, dir) = start_multi_turn_with(
        &sb,
        &rec,
        &["--idle-timeout", "4"],
        &[("FAKE_LATER_TURN_DELAY", "2")],
    );

    // First turn done: one waiting notice with the agent's question, and a wake.
    wait_for(&dir, "the first waiting notice", |n| {
        count_notices(n, "asks:\n") == 1 && n.iter().any(|x| x["kind"] == "wake")
    });
    let asks: Vec<String> = texts(&dir, "notice")
        .into_iter()
        .filter(|t| t.starts_with("🔔 "))
        .collect();
    assert_eq!(asks.len(), 1, "{asks:?}");
    assert!(
        asks[0].starts_with(&format!(
            "🔔 {id} asks:\nTurn 1: which colour should I use?"
        )),
        "{}",
        asks[0]
    );
    let wakes = texts(&dir, "wake");
    assert_eq!(wakes.len(), 1, "{wakes:?}");
    assert!(wakes[0].contains("status=waiting"), "{}", wakes[0]);
    assert!(
        wakes[0].contains(&format!("clawrun respond {id}")),
        "{}",
        wakes[0]
    );

    // `list` and `show` say it waits (written before the wake was sent).
    assert_eq!(listed_status(&sb, &id), "waiting");
    let show = sb.cmd().args(["show", &id]).output().unwrap();
    let show = String::from_utf8_lossy(&show.stdout).into_owned();
    assert!(show.contains("waiting for input since"), "{show}");
    assert!(show.contains(&format!("clawrun respond {id}")), "{show}");

    // An answer starts a second turn in the same process.
    let out = respond(&sb, &[&id, "blue, please"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The second turn takes two seconds: the run is running again meanwhile.
    assert_eq!(listed_status(&sb, &id), "running");
    wait_for(&dir, "the second turn", |n| {
        count_notices(n, "Turn 2: which colour") == 1
    });
    assert_eq!(texts(&dir, "wake").len(), 2);

    // Nobody answers: stdin is closed, the agent exits, the last turn is the outcome.
    assert_eq!(wait_done(&dir), "completed");
    let notices = texts(&dir, "notice");
    assert!(
        notices
            .iter()
            .any(|t| t.starts_with("↩️ ") && t.contains("blue, please")),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|t| t.contains("No answer for") && t.contains("--idle-timeout")),
        "{notices:?}"
    );
    let results = texts(&dir, "result");
    assert_eq!(results.len(), 1, "{results:?}");
    let output = std::fs::read_to_string(dir.join("output.txt")).unwrap();
    assert_eq!(output, "Turn 2: which colour should I use?");

    // The agent got the stream-json input flags and two user message lines.
    let argv = std::fs::read_to_string(rec.join("argv")).unwrap();
    let args: Vec<&str> = argv.lines().collect();
    let at = args.iter().position(|a| *a == "--input-format").unwrap();
    assert_eq!(args[at + 1], "stream-json");
    let stdin = std::fs::read_to_string(rec.join("stdin")).unwrap();
    let lines: Vec<&str> = stdin.lines().collect();
    assert_eq!(lines.len(), 2, "{stdin}");
    assert!(user_line_text(lines[0]).ends_with("pick a colour"));
    assert_eq!(user_line_text(lines[1]), "blue, please");

    // A finished run is refused, with the way to continue it.
    let out = respond(&sb, &[&id, "one more thing"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("has finished (completed)"), "{err}");
    assert!(err.contains(&format!("clawrun resume {id}")), "{err}");
}

#[test]
fn automatic_answers_are_capped_until_a_human_answers() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let (id, dir) = start_multi_turn(
        &sb,
        &rec,
        &["--max-auto-responds", "2", "--idle-timeout", "2"],
    );
    wait_for(&dir, "the first turn", |n| count_notices(n, "asks:\n") == 1);
    for (i, answer) in ["a1", "a2"].iter().enumerate() {
        let out = respond(&sb, &[&id, answer]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        wait_for(&dir, "a turn", |n| count_notices(n, "asks:\n") == i + 2);
    }
    let out = respond(&sb, &[&id, "a3"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("⚠️ Auto-respond limit reached (2/2)"), "{err}");
    assert!(err.contains("--user"), "{err}");
    // A human answer goes through and resets the count.
    let out = respond(&sb, &[&id, "--user", "h1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    wait_for(&dir, "the human's turn", |n| {
        count_notices(n, "asks:\n") == 4
    });
    let out = respond(&sb, &[&id, "a4"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    wait_for(&dir, "the turn after", |n| count_notices(n, "asks:\n") == 5);
    assert_eq!(wait_done(&dir), "completed");
    let stdin = std::fs::read_to_string(rec.join("stdin")).unwrap();
    let sent: Vec<String> = stdin.lines().skip(1).map(user_line_text).collect();
    assert_eq!(sent, vec!["a1", "a2", "h1", "a4"]);
}

#[test]
fn multi_turn_is_refused_for_codex() {
    let sb = Sandbox::new();
    let out = sb
        .run(&["--backend", "codex", "--multi-turn", "-t", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--multi-turn is not supported by the codex backend"),
        "{err}"
    );
    assert!(!sb.state_dir().join("runs").exists());
}

#[test]
fn respond_to_a_running_codex_run_queues_a_follow_up_that_resumes_the_thread() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let out = sb
        .run(&[
            "--backend",
            "codex",
            "--notify-channel",
            "console",
            "--heartbeat",
            "0",
            "--detach",
            "-t",
            "x",
        ])
        .env("FAKE_FIXTURE", fixture("codex/tool.jsonl"))
        .env("FAKE_DELAY", "0.7")
        .env("FAKE_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (id, dir) = run_dir(&sb);
    // While the first turn runs, codex takes no input: the follow-up is queued.
    let out = respond(&sb, &[&id, "also add tests"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.join("followups.jsonl").exists());
    assert_eq!(wait_done(&dir), "completed");
    // The second spawn resumed the same thread with the follow-up on stdin.
    let argv = std::fs::read_to_string(rec.join("argv")).unwrap();
    let args: Vec<&str> = argv.lines().collect();
    let at = args
        .iter()
        .position(|a| *a == "resume")
        .expect("a resume spawn");
    assert_eq!(
        args[at + 1],
        "01a20060-1a1b-7e03-ae4c-46fb1f209375",
        "{argv}"
    );
    assert_eq!(
        std::fs::read_to_string(rec.join("stdin")).unwrap(),
        "also add tests"
    );
    let texts: Vec<String> = notes(&dir)
        .iter()
        .map(|n| n["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("follow-up queued"))
            .count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("Running the queued follow-up"))
            .count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts.iter().filter(|t| t.contains("task complete")).count(),
        1,
        "{texts:?}"
    );
    // Once the run is over, respond says how to continue.
    let late = respond(&sb, &[&id, "one more"]);
    assert_eq!(late.status.code(), Some(1));
    assert!(
        stderr(&late).contains("clawrun resume"),
        "{}",
        stderr(&late)
    );
}

#[test]
fn a_usage_limit_is_waited_out_and_the_session_resumed() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let started = Instant::now();
    let out = sb
        .run(&[
            "--notify-channel",
            "console",
            "--heartbeat",
            "0",
            "--auto-resume-on-limit",
            "--idle-timeout",
            "1",
            "-t",
            "x",
        ])
        .env("FAKE_MODE", "usage-limit")
        .env("FAKE_RESET_IN", "1")
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(15));
    let (_, dir) = run_dir(&sb);
    let spawns = std::fs::read_to_string(rec.join("spawns")).unwrap();
    let spawns: Vec<&str> = spawns.lines().collect();
    assert_eq!(spawns.len(), 2, "{spawns:?}");
    assert!(!spawns[0].contains("--resume"), "{}", spawns[0]);
    assert!(
        spawns[1].contains("--resume 66666666-7777-4888-9999-000000000000"),
        "{}",
        spawns[1]
    );
    let stdin = std::fs::read_to_string(rec.join("stdin")).unwrap();
    assert_eq!(stdin, "Continue where you left off.");
    let notices = texts(&dir, "notice");
    let waits: Vec<&String> = notices
        .iter()
        .filter(|t| t.starts_with("⏳ usage limit until "))
        .collect();
    assert_eq!(waits.len(), 1, "{notices:?}");
    assert!(waits[0].ends_with(" UTC; will resume then"), "{}", waits[0]);
    assert!(
        !notices.iter().any(|t| t.starts_with("⏳ Rate limited")),
        "{notices:?}"
    );
    assert_eq!(notices.iter().filter(|t| *t == "▶️ resumed").count(), 1);
    assert_eq!(wait_done(&dir), "completed");
    // One stream file for both processes.
    let stream = std::fs::read_to_string(dir.join("stream.jsonl")).unwrap();
    assert!(stream.contains("usage limit reached|"));
    let last: Value = serde_json::from_str(stream.lines().last().unwrap()).unwrap();
    assert_eq!(last["type"], "result");
    assert_eq!(last["is_error"], false);
}

#[test]
fn without_the_flag_a_usage_limit_fails_the_run() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let out = sb
        .run(&["--notify-channel", "console", "--heartbeat", "0", "-t", "x"])
        .env("FAKE_MODE", "usage-limit")
        .env("FAKE_RECORD", &rec)
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let spawns = std::fs::read_to_string(rec.join("spawns")).unwrap();
    assert_eq!(spawns.lines().count(), 1);
}

#[test]
fn respond_interrupt_ends_the_turn_in_progress_and_starts_the_next() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let base = [
        "-s",
        KEY,
        "--notify-channel",
        "console",
        "--heartbeat",
        "0",
        "--multi-turn",
        "--idle-timeout",
        "1",
        "--detach",
        "-t",
        "pick a colour",
    ];
    let started = Instant::now();
    let out = sb
        .run(&base)
        .env("FAKE_MODE", "multi-turn")
        .env("FAKE_FIRST_TURN_DELAY", "30")
        .env("FAKE_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (id, dir) = run_dir(&sb);
    let out = respond(&sb, &[&id, "--interrupt", "use green instead"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(wait_done(&dir), "completed");
    // Far sooner than the 30 s first turn: it was interrupted.
    assert!(started.elapsed() < Duration::from_secs(15));
    // The interrupted turn is not "waiting for input"; only the answer's turn is.
    let asks: Vec<String> = texts(&dir, "notice")
        .into_iter()
        .filter(|t| t.starts_with("🔔 "))
        .collect();
    assert_eq!(asks.len(), 1, "{asks:?}");
    assert!(asks[0].contains("Turn 2: which colour"), "{}", asks[0]);
    let wakes = texts(&dir, "wake");
    let waiting = wakes
        .iter()
        .filter(|w| w.contains("status=waiting"))
        .count();
    assert_eq!(waiting, 1, "{wakes:?}");
    let stdin = std::fs::read_to_string(rec.join("stdin")).unwrap();
    let lines: Vec<Value> = stdin
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{stdin}");
    assert_eq!(lines[1]["type"], "control_request");
    assert_eq!(lines[1]["request"]["subtype"], "interrupt");
    assert_eq!(
        lines[2]["message"]["content"][0]["text"],
        "use green instead"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("output.txt")).unwrap(),
        "Turn 2: which colour should I use?"
    );
}

#[test]
fn a_killed_run_says_which_queued_follow_ups_it_did_not_run() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let out = sb
        .run(&[
            "--backend",
            "codex",
            "-s",
            KEY,
            "--notify-channel",
            "console",
            "--heartbeat",
            "0",
            "--detach",
            "-t",
            "x",
        ])
        .env("FAKE_FIXTURE", fixture("codex/tool.jsonl"))
        .env("FAKE_MODE", "hang")
        .env("FAKE_RECORD", &rec)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (id, dir) = run_dir(&sb);
    // Codex takes no input while it runs: the follow-up is queued…
    let out = respond(&sb, &[&id, "also add\ntests"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    wait_for(&dir, "the queued notice", |n| {
        count_notices(n, "follow-up queued") == 1
    });
    // …and the run is killed before its turn ends.
    let out = sb.cmd().args(["kill", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let not_run = "1 queued follow-up was not run: \"also add tests\"";
    assert!(said.contains(not_run), "{said}");
    assert!(said.contains(&format!("clawrun resume {id}")), "{said}");
    assert_eq!(wait_done(&dir), "killed");
    // The human's result message and the orchestrator's wake say so too.
    let results = texts(&dir, "failure");
    assert_eq!(results.len(), 1, "{:#?}", notes(&dir));
    assert!(results[0].contains(not_run), "{}", results[0]);
    let wakes = texts(&dir, "wake");
    assert_eq!(wakes.len(), 1, "{:#?}", notes(&dir));
    assert!(
        wakes[0].contains(&format!("Follow-ups: {not_run}")),
        "{}",
        wakes[0]
    );
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    assert_eq!(
        record["followups_not_run"][0], "also add\ntests",
        "{record}"
    );
    // It was never run: one spawn, no resume.
    let argv = std::fs::read_to_string(rec.join("argv")).unwrap();
    assert!(!argv.lines().any(|a| a == "resume"), "{argv}");
}

#[test]
fn respond_and_notify_print_json_with_json() {
    let sb = Sandbox::new();
    let rec = sb.root.join("rec");
    let (id, dir) = start_multi_turn(&sb, &rec, &["--idle-timeout", "3"]);
    wait_for(&dir, "the first turn", |n| count_notices(n, "asks:\n") == 1);
    let out = sb
        .cmd()
        .args(["notify", "half way", "--json", "--run-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["run_id"], id.as_str(), "{v}");
    assert_eq!(v["queued"], "half way", "{v}");
    let out = respond(&sb, &[&id, "blue", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["run_id"], id.as_str(), "{v}");
    assert_eq!(v["sent"], "blue", "{v}");
    assert_eq!(v["interrupt"], false, "{v}");
    // Nobody answers the second turn: the run closes after --idle-timeout.
    let deadline = Instant::now() + Duration::from_secs(30);
    while wait_done(&dir) == "waiting" {
        assert!(Instant::now() < deadline, "the run did not close");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A finished run: not sent, said in JSON too.
    let out = respond(&sb, &[&id, "more", "--json"]);
    assert_ne!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert!(v["error"].as_str().unwrap().contains("finished"), "{v}");
}
