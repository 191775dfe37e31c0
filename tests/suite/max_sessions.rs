//! `[limits] max_sessions` holds: at most N agents run at any moment,
//! measured on the agent side (a fake agent logs its start and end), for 50
//! launches at once, refused or queued; and `--queue --detach` runs wait in
//! line, show in `list`, and can be cancelled with `kill`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Sandbox, fixture};

const LAUNCHES: usize = 50;
const LIMIT: usize = 5;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

/// A sandbox whose `claude` logs its start and end to the returned file, with
/// `[limits] max_sessions = limit`.
fn limited(limit: usize) -> (Sandbox, PathBuf) {
    let sb = Sandbox::new();
    let claude = sb.bin.join("claude");
    std::fs::remove_file(&claude).unwrap();
    std::os::unix::fs::symlink(fixture("concurrency-agent.sh"), &claude).unwrap();
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::write(
        sb.openclaw_home().join("clawrun.toml"),
        format!("[limits]\nmax_sessions = {limit}\n"),
    )
    .unwrap();
    let log = sb.root.join("agents.log");
    (sb, log)
}

/// The agent log: (is start, ns, run dir) per line.
fn events(log: &PathBuf) -> Vec<(bool, u128, String)> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, ' ');
            let kind = f.next().unwrap();
            let ns: u128 = f.next().unwrap().parse().unwrap();
            (kind == "start", ns, f.next().unwrap_or("").to_owned())
        })
        .collect()
}

/// The most agents that ran at once, from their own start and end times (an
/// agent logs its start after its run took a slot and its end before the
/// slot is freed, so this never overstates what the slots allowed).
fn most_at_once(log: &PathBuf) -> usize {
    let mut ev = events(log);
    // At the same instant, an end counts before a start.
    ev.sort_by_key(|(start, ns, _)| (*ns, *start));
    let (mut now, mut most) = (0usize, 0usize);
    for (start, _, _) in ev {
        if start {
            now += 1;
            most = most.max(now);
        } else {
            now = now.saturating_sub(1);
        }
    }
    most
}

/// Start `LAUNCHES` foreground runs at once (`extra` flags) and wait for all.
fn launch_all(sb: &Sandbox, log: &PathBuf, extra: &[&str]) -> Vec<Output> {
    let children: Vec<Child> = (0..LAUNCHES)
        .map(|i| {
            let task = format!("task {i}");
            let mut args = vec!["-t", task.as_str(), "--heartbeat", "0"];
            args.extend_from_slice(extra);
            sb.run_std(&args)
                .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
                .env("CONC_LOG", log)
                .env("CONC_SLEEP", "0.3")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut outs = Vec::new();
    for mut child in children {
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("a launch did not end within 180 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        outs.push(child.wait_with_output().unwrap());
    }
    outs
}

#[test]
fn fifty_launches_at_once_never_run_more_agents_than_the_limit() {
    let (sb, log) = limited(LIMIT);
    let outs = launch_all(&sb, &log, &[]);
    let ran = outs.iter().filter(|o| o.status.code() == Some(0)).count();
    let refused: Vec<&Output> = outs.iter().filter(|o| o.status.code() == Some(2)).collect();
    assert_eq!(ran + refused.len(), LAUNCHES, "other exit codes");
    assert!(ran >= 1, "nothing ran");
    for o in &refused {
        assert!(
            stderr(o).contains(&format!("(the limit is {LIMIT})")),
            "{}",
            stderr(o)
        );
    }
    // A refused launch wrote nothing and started nothing.
    assert_eq!(crate::common::run_ids(&sb).len(), ran);
    assert_eq!(events(&log).iter().filter(|e| e.0).count(), ran);
    let most = most_at_once(&log);
    assert!(most <= LIMIT, "{most} agents ran at once (limit {LIMIT})");
}

#[test]
fn fifty_queued_launches_all_run_and_never_more_than_the_limit_at_once() {
    let (sb, log) = limited(LIMIT);
    let outs = launch_all(&sb, &log, &["--queue"]);
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    }
    let ev = events(&log);
    assert_eq!(ev.iter().filter(|e| e.0).count(), LAUNCHES);
    assert_eq!(ev.iter().filter(|e| !e.0).count(), LAUNCHES);
    let most = most_at_once(&log);
    assert!(most <= LIMIT, "{most} agents ran at once (limit {LIMIT})");
}

/// `clawrun run … --detach --json` with the concurrency agent.
fn detached(sb: &Sandbox, log: &PathBuf, label: &str, extra: &[&str], mode: &str) -> Value {
    let mut args = vec!["-t", "x", "--detach", "--json", "--label", label];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let out = sb
        .run(&args)
        .env("FAKE_FIXTURE", fixture("claude/tool.jsonl"))
        .env("FAKE_MODE", mode)
        .env("CONC_LOG", log)
        .env("CONC_SLEEP", "0.1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the launch did not return at once"
    );
    json(&out)
}

fn list(sb: &Sandbox) -> Vec<Value> {
    let out = sb.cmd().args(["list", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json(&out).as_array().unwrap().clone()
}

fn status_of(sb: &Sandbox, run_id: &str) -> String {
    list(sb)
        .iter()
        .find(|r| r["run_id"] == run_id)
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn wait_for_status(sb: &Sandbox, run_id: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = status_of(sb, run_id);
        if s == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "run {run_id} is {s:?}, not {want:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn queue_detach_returns_at_once_shows_in_list_starts_in_order_and_can_be_cancelled() {
    let (sb, log) = limited(1);
    let first = detached(&sb, &log, "first", &["--grace", "1"], "hang");
    assert_eq!(first["status"], "running");
    let a = detached(&sb, &log, "queued a", &["--queue"], "");
    let b = detached(&sb, &log, "queued b", &["--queue"], "");
    let c = detached(&sb, &log, "queued c", &["--queue"], "");
    for (proof, pos) in [(&a, 1), (&b, 2), (&c, 3)] {
        assert_eq!(proof["status"], "queued", "{proof}");
        assert_eq!(proof["agent_pid"], Value::Null, "{proof}");
        assert_eq!(proof["queue_position"], pos, "{proof}");
    }
    let id = |v: &Value| v["run_id"].as_str().unwrap().to_owned();
    for v in [&a, &b, &c] {
        assert_eq!(status_of(&sb, &id(v)), "queued");
    }
    // `status` shows queued runs as active runs.
    let st = sb.cmd().args(["status"]).output().unwrap();
    assert!(String::from_utf8_lossy(&st.stdout).contains(&id(&b)));
    // `kill` cancels a queued run: it never starts.
    let kill = sb.cmd().args(["kill", &id(&b), "--json"]).output().unwrap();
    assert_eq!(kill.status.code(), Some(0), "{}", stderr(&kill));
    assert_eq!(json(&kill)["outcome"], "killed");
    assert_eq!(status_of(&sb, &id(&b)), "killed");
    // Ending the first run lets the queue through, first come first served.
    let kill = sb.cmd().args(["kill", "first"]).output().unwrap();
    assert_eq!(kill.status.code(), Some(0), "{}", stderr(&kill));
    wait_for_status(&sb, &id(&a), "completed");
    wait_for_status(&sb, &id(&c), "completed");
    let starts: Vec<String> = events(&log)
        .into_iter()
        .filter(|e| e.0)
        .map(|e| e.2.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(starts, [id(&first), id(&a), id(&c)]);
}
