//! The session manager (`list`, `show`, `output`, `kill`, `stats`, `resume`,
//! the run cap) over real runs of the fake agent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use clawrun::Paths;
use clawrun::config::{Config, DEFAULT_MAX_SESSIONS};
use clawrun::runs::{self, Admission, Slots, admit};

use crate::common::{Sandbox, fixture};

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(o), stderr(o)))
}

fn record(sb: &Sandbox, run_id: &str) -> Value {
    let path = sb.state_dir().join("runs").join(run_id).join("run.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_record(sb: &Sandbox, run_id: &str, rec: &Value) {
    let path = sb.state_dir().join("runs").join(run_id).join("run.json");
    std::fs::write(path, serde_json::to_vec_pretty(rec).unwrap()).unwrap();
}

fn pid_alive(pid: i32) -> bool {
    // A zombie is dead for our purpose.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.contains(") Z "),
        Err(_) => false,
    }
}

fn paths(sb: &Sandbox) -> Paths {
    Paths {
        openclaw_home: sb.openclaw_home(),
        openclaw_config: sb.openclaw_home().join("openclaw.json"),
        state_dir: sb.state_dir(),
        config_file: sb.openclaw_home().join("clawrun.toml"),
    }
}

/// A finished foreground run of `fixture`; returns its run id.
fn finished_run(sb: &Sandbox, fixture_name: &str, extra: &[&str]) -> String {
    let mut args = vec!["-t", "the task", "--json"];
    args.extend_from_slice(extra);
    let out = sb
        .run(&args)
        .env("FAKE_FIXTURE", fixture(fixture_name))
        .output()
        .unwrap();
    let report = json(&out);
    report["run_id"].as_str().unwrap().to_owned()
}

/// A detached run that stays alive; killed (runner and agent group) on drop.
struct Live {
    run_id: String,
    runner: i32,
    agent: i32,
}

impl Drop for Live {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill, killpg};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(self.runner), Signal::SIGKILL);
        let _ = killpg(Pid::from_raw(self.agent), Signal::SIGKILL);
    }
}

fn live_run(sb: &Sandbox, extra: &[&str], envs: &[(&str, &Path)], mode: &str, fx: &str) -> Live {
    let mut args = vec!["-t", "a long task", "--detach", "--json", "--timeout", "60"];
    args.extend_from_slice(extra);
    let mut cmd = sb.run(&args);
    cmd.env("FAKE_FIXTURE", fixture(fx)).env("FAKE_MODE", mode);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let proof = json(&out);
    Live {
        run_id: proof["run_id"].as_str().unwrap().to_owned(),
        runner: proof["runner_pid"].as_i64().unwrap() as i32,
        agent: proof["agent_pid"].as_i64().unwrap() as i32,
    }
}

/// `clawrun` as a std Command with the sandbox environment (to read its
/// output as it comes).
fn std_cmd(sb: &Sandbox) -> std::process::Command {
    let mut c = std::process::Command::new(crate::common::clawrun_bin());
    c.env_clear()
        .env("HOME", sb.home())
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", sb.bin.display()),
        )
        .current_dir(&sb.root);
    c
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn list_shows_a_running_and_a_finished_run_in_json_and_text() {
    let sb = Sandbox::new();
    let done = finished_run(&sb, "claude/tool.jsonl", &["--label", "Finished one"]);
    let live = live_run(
        &sb,
        &["--label", "Still going"],
        &[],
        "hang",
        "claude/tool.jsonl",
    );

    let out = sb.cmd().args(["list", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let runs = json(&out);
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    // Newest first.
    assert_eq!(runs[0]["run_id"], live.run_id.as_str());
    assert_eq!(runs[0]["status"], "running");
    assert_eq!(runs[0]["label"], "Still going");
    assert_eq!(runs[0]["runner_pid"], live.runner);
    assert_eq!(runs[1]["run_id"], done.as_str());
    assert_eq!(runs[1]["status"], "completed");
    assert_eq!(runs[1]["cost_usd"], 0.00135);
    assert_eq!(runs[1]["backend"], "claude");
    assert_eq!(runs[1]["resume_id"], "b97f592b-6515-4a57-b3bb-0bc3448d4c8a");

    let out = sb.cmd().arg("list").output().unwrap();
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("STATUS"), "{text}");
    assert!(
        lines[1].starts_with("running") && lines[1].contains(&live.run_id),
        "{text}"
    );
    assert!(lines[1].contains("Still going"), "{text}");
    assert!(
        lines[2].starts_with("completed") && lines[2].contains("$0.0014"),
        "{text}"
    );
    assert!(lines[2].contains(&sb.root.display().to_string()), "{text}");

    // Filters: by status, and unknown words are refused.
    let out = sb
        .cmd()
        .args(["list", "--status", "running", "--json"])
        .output()
        .unwrap();
    let runs = json(&out);
    assert_eq!(runs.as_array().unwrap().len(), 1);
    let out = sb
        .cmd()
        .args(["list", "--status", "sleeping"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown status \"sleeping\""),
        "{}",
        stderr(&out)
    );

    // A run older than a day shows only with --all.
    let mut rec = record(&sb, &done);
    let old = rec["created_at"].as_i64().unwrap() - 3 * 86_400;
    rec["created_at"] = old.into();
    rec["started_at"] = old.into();
    rec["ended_at"] = (old + 5).into();
    write_record(&sb, &done, &rec);
    let out = sb.cmd().args(["list", "--json"]).output().unwrap();
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    let out = sb.cmd().args(["list", "--all", "--json"]).output().unwrap();
    assert_eq!(json(&out).as_array().unwrap().len(), 2);

    // The running state is checked, not trusted: a dead runner's run is reaped.
    let (runner, run_id) = (live.runner, live.run_id.clone());
    drop(live);
    wait_until("the runner to die", Duration::from_secs(10), || {
        !pid_alive(runner)
    });
    let out = sb
        .cmd()
        .args(["list", "--status", "active", "--json"])
        .output()
        .unwrap();
    assert_eq!(json(&out), serde_json::json!([]));
    assert_eq!(record(&sb, &run_id)["status"], "crashed");
}

#[test]
fn show_prints_route_pids_usage_cost_and_the_resume_command() {
    let sb = Sandbox::new();
    let id = finished_run(&sb, "claude/multi.jsonl", &["--label", "Showy"]);
    let out = sb.cmd().args(["show", &id, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d = json(&out);
    assert_eq!(d["run_id"], id.as_str());
    assert_eq!(d["status"], "completed");
    assert_eq!(d["route"]["channel"], "console");
    assert_eq!(d["channel"], "console");
    assert!(
        (d["cost_usd"].as_f64().unwrap() - 0.004075).abs() < 1e-12,
        "{d}"
    );
    assert_eq!(d["tool_calls"], 4);
    assert!(d["usage"]["output_tokens"].as_u64().unwrap() > 0);
    assert_eq!(d["runner_alive"], false);
    assert_eq!(d["agent_alive"], false);
    assert!(d["agent_pid"].as_u64().is_some());
    assert!(d["stream_bytes"].as_u64().unwrap() > 1000);
    let out_file = d["output_file"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(out_file).unwrap(),
        "DONE after 4 tools"
    );
    let resume = d["resume_command"].as_str().unwrap();
    assert!(
        resume.starts_with(
            "clawrun run --backend claude --resume 0149328c-2f46-4ab9-94fe-98127d611e81 -p "
        ) && resume.ends_with(" --task-file FILE --detach"),
        "{resume}"
    );

    let out = sb.cmd().args(["show", "showy"]).output().unwrap();
    let text = stdout(&out);
    assert!(text.starts_with(&format!("Run {id}\n")), "{text}");
    for want in [
        "status: completed",
        "backend: claude, model claude-opus-4-8",
        "label: Showy",
        "route: console via console",
        "cost: $0.0041",
        "4 tool calls",
        "session id: 0149328c-2f46-4ab9-94fe-98127d611e81",
        "resume: clawrun run --backend claude --resume 0149328c",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn output_prints_the_text_tail_and_the_full_raw_stream() {
    let sb = Sandbox::new();
    let id = finished_run(&sb, "claude/multi.jsonl", &[]);
    let out = sb.cmd().args(["output", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The final result repeats the last text: printed once.
    assert_eq!(
        stdout(&out),
        "Step 1.\nStep 2.\nStep 3.\nStep 4.\nDONE after 4 tools\n"
    );
    let out = sb
        .cmd()
        .args(["output", &id, "--lines", "2"])
        .output()
        .unwrap();
    assert_eq!(stdout(&out), "Step 4.\nDONE after 4 tools\n");
    let out = sb
        .cmd()
        .args(["output", &id, "-n", "2", "--json"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        v["lines"],
        serde_json::json!(["Step 4.", "DONE after 4 tools"])
    );
    assert_eq!(v["truncated"], true);
    assert_eq!(v["status"], "completed");
    let out = sb.cmd().args(["output", &id, "--full"]).output().unwrap();
    assert_eq!(
        out.stdout,
        std::fs::read(fixture("claude/multi.jsonl")).unwrap()
    );
    // A codex run is read with the codex parser.
    let out = sb
        .run(&["--backend", "codex", "-t", "x", "--json"])
        .env("FAKE_FIXTURE", fixture("codex/multi.jsonl"))
        .output()
        .unwrap();
    let codex_id = json(&out)["run_id"].as_str().unwrap().to_owned();
    let text = sb.cmd().args(["output", &codex_id]).output().unwrap();
    let expected = std::fs::read_to_string(
        sb.state_dir()
            .join("runs")
            .join(&codex_id)
            .join("output.txt"),
    )
    .unwrap();
    assert!(
        stdout(&text).trim_end().ends_with(expected.trim_end()),
        "{}\n---\n{expected}",
        stdout(&text)
    );
}

#[test]
fn output_follow_prints_text_as_it_arrives_and_exits_when_the_run_is_done() {
    let sb = Sandbox::new();
    let live = {
        let out = sb
            .run(&["-t", "x", "--detach", "--json", "--timeout", "60"])
            .env("FAKE_FIXTURE", fixture("claude/multi.jsonl"))
            .env("FAKE_DELAY", "0.4")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let proof = json(&out);
        Live {
            run_id: proof["run_id"].as_str().unwrap().to_owned(),
            runner: proof["runner_pid"].as_i64().unwrap() as i32,
            agent: proof["agent_pid"].as_i64().unwrap() as i32,
        }
    };
    let t0 = Instant::now();
    let mut child = std_cmd(&sb)
        .args(["output", &live.run_id, "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reader = std::io::BufReader::new(child.stdout.take().unwrap());
    // (line, when it arrived, the run's status at that moment)
    let mut seen: Vec<(String, Duration, String)> = Vec::new();
    for line in reader.lines() {
        let line = line.unwrap();
        let status = record(&sb, &live.run_id)["status"]
            .as_str()
            .unwrap()
            .to_owned();
        seen.push((line, t0.elapsed(), status));
        assert!(t0.elapsed() < Duration::from_secs(20), "{seen:?}");
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    let lines: Vec<&str> = seen.iter().map(|(l, _, _)| l.as_str()).collect();
    assert_eq!(
        lines,
        vec![
            "Step 1.",
            "Step 2.",
            "Step 3.",
            "Step 4.",
            "DONE after 4 tools"
        ],
        "{seen:?}"
    );
    // Text was printed while the run was still going, spread over its life.
    assert_eq!(seen[1].2, "running", "{seen:?}");
    assert!(
        seen[4].1 - seen[1].1 > Duration::from_millis(1500),
        "{seen:?}"
    );
    // And the follow ended because the run did.
    assert_eq!(record(&sb, &live.run_id)["status"], "completed");
    assert!(
        err.contains(&format!("run {} ended: completed", live.run_id)),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(20));
}

#[test]
fn kill_stops_a_live_run_through_its_runner() {
    let sb = Sandbox::new();
    let rec_dir = sb.root.join("rec");
    let live = live_run(
        &sb,
        &["--grace", "1", "--label", "victim"],
        &[("FAKE_RECORD", &rec_dir)],
        "grandchild-stubborn",
        "claude/cancel-SIGTERM.jsonl",
    );
    wait_until("the grandchild", Duration::from_secs(10), || {
        rec_dir.join("grandchild.pid").exists()
    });
    let gc: i32 = std::fs::read_to_string(rec_dir.join("grandchild.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let session = "a01b8f43-3076-4fdf-a35c-c5217c78cda3";
    // Named by its label.
    let t0 = Instant::now();
    let out = sb
        .cmd()
        .args(["kill", "VICTIM", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(t0.elapsed() < Duration::from_secs(15));
    let report = json(&out);
    assert_eq!(report["run_id"], live.run_id.as_str());
    assert_eq!(report["outcome"], "killed");
    assert_eq!(report["via"], "runner");
    assert_eq!(report["runner_exited"], true);
    let rec = record(&sb, &live.run_id);
    assert_eq!(rec["status"], "killed");
    assert!(rec["error"].as_str().unwrap().contains("SIGTERM"), "{rec}");
    // Nothing of the run is left.
    assert!(!pid_alive(live.runner), "runner survived");
    assert!(!pid_alive(live.agent), "agent survived");
    assert!(!pid_alive(gc), "grandchild {gc} survived");
    // The registry says so.
    let reg: Value = serde_json::from_slice(
        &std::fs::read(sb.openclaw_home().join("claude_sessions.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(reg["sessions"][session]["status"], "killed", "{reg}");
    assert_eq!(reg["sessions"][session]["run_id"], live.run_id.as_str());
    // And the person was told.
    let notes = std::fs::read_to_string(
        sb.state_dir()
            .join("runs")
            .join(&live.run_id)
            .join("notifications.jsonl"),
    )
    .unwrap();
    let last: Value = serde_json::from_str(notes.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "failure", "{notes}");
    assert!(last["text"].as_str().unwrap().contains("killed"), "{notes}");

    // Killing it again is refused.
    let out = sb.cmd().args(["kill", &live.run_id]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("already finished (killed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kill_refuses_a_finished_run() {
    let sb = Sandbox::new();
    let id = finished_run(&sb, "claude/tool.jsonl", &[]);
    let out = sb.cmd().args(["kill", &id]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("run {id} already finished (completed")),
        "{err}"
    );
    assert!(err.contains("nothing to kill"), "{err}");
    assert_eq!(record(&sb, &id)["status"], "completed");

    // A label names the newest run; when that one is finished but an older
    // run with the label is live, the refusal points at it.
    let live = live_run(&sb, &["--label", "twin"], &[], "hang", "claude/tool.jsonl");
    let newer = finished_run(&sb, "claude/multi.jsonl", &["--label", "Twin"]);
    let out = sb.cmd().args(["kill", "twin"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("run {newer} already finished")),
        "{err}"
    );
    assert!(
        err.contains(&format!("running with the same label: {}", live.run_id)),
        "{err}"
    );
}

#[test]
fn kill_stops_the_agent_group_when_the_runner_is_gone() {
    let sb = Sandbox::new();
    let id = finished_run(&sb, "claude/tool.jsonl", &[]);
    // An "agent" in its own process group, with a child, whose runner is gone.
    let child_pid_file = sb.root.join("child.pid");
    let mut agent = std::process::Command::new("bash")
        .args(["-c", "sleep 300 & echo $! > \"$1\"; wait", "agent"])
        .arg(&child_pid_file)
        .process_group(0)
        .spawn()
        .unwrap();
    let agent_pid = agent.id();
    // Reap it as soon as it exits (as init would for an orphan): a zombie
    // would keep its process group alive.
    let reaper = std::thread::spawn(move || agent.wait().unwrap());
    wait_until("the agent's child", Duration::from_secs(5), || {
        child_pid_file.exists()
    });
    let mut rec = record(&sb, &id);
    rec["status"] = "running".into();
    rec["runner_pid"] = 999_999.into();
    rec["agent_pid"] = agent_pid.into();
    rec["ended_at"] = Value::Null;
    write_record(&sb, &id, &rec);
    let out = sb.cmd().args(["kill", &id, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["outcome"], "killed");
    assert_eq!(report["via"], "agent-group");
    let status = reaper.join().unwrap();
    assert!(!status.success());
    let child: i32 = std::fs::read_to_string(&child_pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    wait_until("the agent's child to go", Duration::from_secs(5), || {
        !pid_alive(child)
    });
    assert!(report["seconds"].as_f64().unwrap() < 5.0, "{report}");
    let rec = record(&sb, &id);
    assert_eq!(rec["status"], "killed");
    assert!(
        rec["error"]
            .as_str()
            .unwrap()
            .contains("runner (pid 999999) was gone")
    );
    let reg: Value = serde_json::from_slice(
        &std::fs::read(sb.openclaw_home().join("claude_sessions.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        reg["sessions"]["b97f592b-6515-4a57-b3bb-0bc3448d4c8a"]["status"],
        "killed"
    );
    // Neither runner nor agent alive: the stale record is closed as crashed.
    let stale = finished_run(&sb, "claude/multi.jsonl", &[]);
    let mut rec = record(&sb, &stale);
    rec["status"] = "running".into();
    rec["runner_pid"] = 999_999.into();
    rec["ended_at"] = Value::Null;
    write_record(&sb, &stale, &rec);
    let out = sb.cmd().args(["kill", &stale, "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["outcome"], "crashed");
    assert_eq!(report["via"], "nothing-alive");
    assert_eq!(record(&sb, &stale)["status"], "crashed");
}

#[test]
fn runs_are_found_by_id_prefix_label_and_session_id_and_ambiguity_is_refused() {
    let sb = Sandbox::new();
    let a = finished_run(&sb, "claude/tool.jsonl", &["--label", "Alpha Build"]);
    let b = finished_run(&sb, "claude/multi.jsonl", &["--label", "beta"]);
    let c = finished_run(&sb, "claude/subagent.jsonl", &["--label", "alpha build"]);
    let d = finished_run(&sb, "claude/custom-model.jsonl", &["--label", "alpine"]);
    let found = |name: &str| -> String {
        let out = sb.cmd().args(["show", name, "--json"]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        json(&out)["run_id"].as_str().unwrap().to_owned()
    };
    assert_eq!(found(&b), b);
    assert_eq!(found(&b[..b.len() - 2]), b);
    // Exact label, any case: the newest such run.
    assert_eq!(found("ALPHA BUILD"), c);
    // Substring of one label (in any case): the newest run with it.
    assert_eq!(found("bet"), b);
    assert_eq!(found("lpha bui"), c);
    // Session ids.
    assert_eq!(found("0149328c-2f46-4ab9-94fe-98127d611e81"), b);
    assert_eq!(found("b97f592b-6515-4a57-b3bb-0bc3448d4c8a"), a);

    let refused = |name: &str| -> String {
        let out = sb.cmd().args(["show", name]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stdout(&out));
        stderr(&out)
    };
    // Substring of several different labels: ambiguous, candidates listed newest first.
    let err = refused("alp");
    assert!(
        err.contains("\"alp\" is ambiguous: it matches 3 runs by label"),
        "{err}"
    );
    let (pd, pc, pa) = (
        err.find(&d).unwrap(),
        err.find(&c).unwrap(),
        err.find(&a).unwrap(),
    );
    assert!(pd < pc && pc < pa, "{err}");
    assert!(!err.contains(&b), "{err}");
    // A prefix of every run id.
    let err = refused(&a[..4]);
    assert!(err.contains("matches 4 runs by run-id prefix"), "{err}");
    for id in [&a, &b, &c, &d] {
        assert!(err.contains(id.as_str()), "{err}");
    }
    let err = refused("nothing-like-this");
    assert!(
        err.contains("no run or session matches \"nothing-like-this\""),
        "{err}"
    );

    // A session whose run directory is gone is still found (for resume), but
    // `show` says what it is.
    std::fs::remove_dir_all(sb.state_dir().join("runs").join(&d)).unwrap();
    let err = refused("alpine");
    assert!(err.contains("registry without a run directory"), "{err}");
    assert!(
        err.contains("247a7b8b-6865-4b1d-be02-f2f944c48f9e"),
        "{err}"
    );
}

#[test]
fn stats_figures_over_runs_with_known_costs_and_a_registry_only_session() {
    let sb = Sandbox::new();
    let tool = finished_run(&sb, "claude/tool.jsonl", &["--label", "cheap"]);
    let multi = finished_run(&sb, "claude/multi.jsonl", &["--label", "dear"]);
    let sub = finished_run(&sb, "claude/subagent.jsonl", &[]);
    let failed = finished_run(&sb, "claude/err401.jsonl", &[]);
    // Known durations: 10, 20, 60 s; the failed run is 40 days old (30 s).
    for (id, secs, age_days) in [
        (&tool, 10, 0),
        (&multi, 20, 0),
        (&sub, 60, 0),
        (&failed, 30, 40),
    ] {
        let mut rec = record(&sb, id);
        let created = rec["created_at"].as_i64().unwrap() - age_days * 86_400;
        rec["created_at"] = created.into();
        rec["started_at"] = created.into();
        rec["ended_at"] = (created + secs).into();
        write_record(&sb, id, &rec);
    }
    // A codex session whose run directory was deleted long ago.
    let now_iso = clawrun::sessions::now_local_iso();
    let reg = serde_json::json!({"sessions": {"thread-old": {
        "thread_id": "thread-old", "label": "old codex", "task_summary": "t",
        "project_dir": "/tmp/p", "created_at": now_iso, "last_accessed": now_iso,
        "status": "completed", "openclaw_session": null, "output_file": null,
        "cost_estimate": null, "backend": "codex", "run_id": "20200101-000000-abcdef",
        "cost_usd": 0.5, "input_tokens": 1000, "output_tokens": 200, "duration_s": 100.0
    }}});
    std::fs::write(
        sb.openclaw_home().join("codex_sessions.json"),
        serde_json::to_vec_pretty(&reg).unwrap(),
    )
    .unwrap();

    let out = sb.cmd().args(["stats", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = json(&out);
    assert_eq!(s["days"], 30);
    assert_eq!(s["sources"], serde_json::json!({"runs": 3, "registry": 1}));
    assert_eq!(s["runs"], 4);
    assert_eq!(s["by_status"], serde_json::json!({"completed": 4}));
    // Durations 10, 20, 60, 100.
    assert_eq!(s["duration"]["count"], 4);
    assert_eq!(s["duration"]["median_secs"], 40.0);
    assert_eq!(s["duration"]["mean_secs"], 47.5);
    // 0.00135 + 0.004075 + 0.0027 + 0.5
    assert_eq!(s["total_cost_usd"], 0.508125);
    assert_eq!(s["per_backend"]["claude"]["runs"], 3);
    assert_eq!(s["per_backend"]["claude"]["cost_usd"], 0.008125);
    assert_eq!(s["per_backend"]["codex"]["cost_usd"], 0.5);
    assert_eq!(s["per_backend"]["codex"]["input_tokens"], 1000);
    let day_runs: u64 = s["per_day"]
        .as_object()
        .unwrap()
        .values()
        .map(|d| d["runs"].as_u64().unwrap())
        .sum();
    assert_eq!(day_runs, 4);
    let costs: Vec<f64> = s["most_expensive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cost_usd"].as_f64().unwrap())
        .collect();
    assert_eq!(costs, vec![0.5, 0.004075, 0.0027, 0.00135]);
    assert_eq!(s["most_expensive"][0]["source"], "registry");
    assert_eq!(s["most_expensive"][0]["session_id"], "thread-old");
    assert_eq!(s["most_expensive"][1]["run_id"], multi.as_str());
    assert_eq!(s["most_expensive"][1]["label"], "dear");

    // All time: the old failed run counts too.
    let out = sb
        .cmd()
        .args(["stats", "--days", "0", "--json"])
        .output()
        .unwrap();
    let s = json(&out);
    assert_eq!(s["runs"], 5);
    assert_eq!(s["by_status"]["failed"], 1);
    assert_eq!(s["duration"]["median_secs"], 30.0);
    assert_eq!(s["duration"]["mean_secs"], 44.0);

    let out = sb.cmd().arg("stats").output().unwrap();
    let text = stdout(&out);
    for want in [
        "Runs in the last 30 days: 4 (3 from run records, 1 from the registries",
        "median 40s, mean 48s",
        "$0.5081 total",
        "Most expensive:",
        "(registry)",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // One run is "1 run" (issue 25).
    assert!(!text.contains(" 1 runs"), "{text}");
    assert!(text.contains(" 1 run "), "{text}");
}

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

#[test]
fn resume_continues_a_finished_claude_run_in_its_project() {
    let sb = Sandbox::new();
    let project = sb.root.join("proj");
    let first = finished_run(
        &sb,
        "claude/tool.jsonl",
        &["--label", "Resumable", "-p", project.to_str().unwrap()],
    );
    let rec_dir = sb.root.join("rec");
    let out = sb
        .cmd()
        .args(["resume", "resumable", "next step", "--json"])
        .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
        .env("FAKE_RECORD", &rec_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["outcome"], "completed");
    let second = report["run_id"].as_str().unwrap();
    assert_ne!(second, first);
    let argv = argv_of(&rec_dir);
    assert!(
        follows(&argv, "--resume", "b97f592b-6515-4a57-b3bb-0bc3448d4c8a"),
        "{argv:?}"
    );
    assert!(!argv.iter().any(|a| a.contains("next step")), "{argv:?}");
    let stdin = std::fs::read_to_string(rec_dir.join("stdin")).unwrap();
    assert!(stdin.ends_with("\n\nnext step"), "{stdin}");
    let env = std::fs::read_to_string(rec_dir.join("env")).unwrap();
    assert!(
        env.contains(&format!("PWD={}\n", project.display())),
        "{env}"
    );
    let rec = record(&sb, second);
    assert_eq!(rec["project"], record(&sb, &first)["project"]);
    assert_eq!(rec["label"], "Resumable");
    assert_eq!(rec["resumed_from"], "b97f592b-6515-4a57-b3bb-0bc3448d4c8a");

    // --fork and the pass-through flags reach the new run.
    let rec_dir = sb.root.join("rec2");
    let out = sb
        .cmd()
        .args([
            "resume",
            &first,
            "--fork",
            "--model",
            "m-x",
            "--timeout",
            "77",
            "--json",
        ])
        .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
        .env("FAKE_RECORD", &rec_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let argv = argv_of(&rec_dir);
    assert!(argv.contains(&"--fork-session".to_owned()), "{argv:?}");
    assert!(follows(&argv, "--model", "m-x"), "{argv:?}");
    let third = json(&out)["run_id"].as_str().unwrap().to_owned();
    assert_eq!(record(&sb, &third)["timeout_secs"], 77);
    // No task: the plugin's default.
    let stdin = std::fs::read_to_string(rec_dir.join("stdin")).unwrap();
    assert!(
        stdin.ends_with("\n\nContinue where you left off."),
        "{stdin}"
    );
}

#[test]
fn resume_from_the_registry_when_the_run_directory_is_gone() {
    let sb = Sandbox::new();
    let project = sb.root.join("p2");
    let first = finished_run(
        &sb,
        "claude/multi.jsonl",
        &["--label", "Regy", "-p", project.to_str().unwrap()],
    );
    std::fs::remove_dir_all(sb.state_dir().join("runs").join(&first)).unwrap();
    let rec_dir = sb.root.join("rec");
    let task_file = sb.root.join("task.txt");
    std::fs::write(&task_file, "from a file").unwrap();
    let out = sb
        .cmd()
        .args([
            "resume",
            "0149328c-2f46-4ab9-94fe-98127d611e81",
            "--task-file",
            task_file.to_str().unwrap(),
            "--json",
        ])
        .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
        .env("FAKE_RECORD", &rec_dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let argv = argv_of(&rec_dir);
    assert!(
        follows(&argv, "--resume", "0149328c-2f46-4ab9-94fe-98127d611e81"),
        "{argv:?}"
    );
    let stdin = std::fs::read_to_string(rec_dir.join("stdin")).unwrap();
    assert!(stdin.ends_with("\n\nfrom a file"), "{stdin}");
    let id = json(&out)["run_id"].as_str().unwrap().to_owned();
    let rec = record(&sb, &id);
    assert_eq!(rec["project"], project.to_str().unwrap());
    assert_eq!(rec["label"], "Regy");
}

#[test]
fn resume_refuses_a_run_without_a_session() {
    let sb = Sandbox::new();
    let empty = sb.root.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = sb
        .run(&["-t", "x", "--json", "--label", "nosession"])
        .env("FAKE_FIXTURE", &empty)
        .env("FAKE_EXIT", "1")
        .output()
        .unwrap();
    let id = json(&out)["run_id"].as_str().unwrap().to_owned();
    let out = sb.cmd().args(["resume", &id, "go on"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("run {id} has no session id (failed")),
        "{}",
        stderr(&out)
    );
    // Nothing was started.
    assert_eq!(crate::common::run_ids(&sb).len(), 1);
}

#[test]
fn capacity_counts_the_slots_live_runners_hold() {
    let sb = Sandbox::new();
    let p = paths(&sb);
    let one = live_run(&sb, &["--grace", "1"], &[], "hang", "claude/tool.jsonl");
    let _two = live_run(&sb, &["--grace", "1"], &[], "hang", "claude/tool.jsonl");
    let err = admit(&Slots::new(&p.state_dir, 2), false).unwrap_err();
    assert!(matches!(err, clawrun::Error::Usage(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "2 runs are running (the limit is 2): wait, stop one with `clawrun kill`, or pass --queue"
    );
    assert!(matches!(
        admit(&Slots::new(&p.state_dir, 2), true).unwrap(),
        Admission::Queue(_)
    ));
    // A third slot is free; taking it does not stop the runs that hold theirs.
    let third = admit(&Slots::new(&p.state_dir, 3), false).unwrap();
    assert!(matches!(third, Admission::Slot(_)));
    drop(third);
    // Ending a run frees its slot.
    let run = runs::resolve_run(&p, &one.run_id).unwrap();
    let report = runs::kill_run(&p, &run, Duration::from_secs(15)).unwrap();
    assert_eq!(report.outcome, clawrun::Outcome::Killed);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while admit(&Slots::new(&p.state_dir, 2), false).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the slot was never freed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn limits_max_sessions_in_clawrun_toml() {
    let path = PathBuf::from("clawrun.toml");
    let c = Config::from_toml_str("", &path).unwrap();
    assert_eq!(c.limits.max_sessions, DEFAULT_MAX_SESSIONS);
    assert_eq!(DEFAULT_MAX_SESSIONS, 5);
    let c = Config::from_toml_str("[limits]\nmax_sessions = 2\n", &path).unwrap();
    assert_eq!(c.limits.max_sessions, 2);
    let err = Config::from_toml_str("[limits]\nmax_sessions = 0\n", &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("limits.max_sessions: must be at least 1"),
        "{err}"
    );
    let err = Config::from_toml_str("[limits]\nmax_session = 2\n", &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("limits.max_session: unknown key"), "{err}");
    let err = Config::from_toml_str("[limits]\nmax_sessions = \"many\"\n", &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("limits.max_sessions"), "{err}");
}

#[test]
fn resume_takes_the_task_as_run_does_and_sessions_show_takes_a_run_id() {
    let sb = Sandbox::new();
    let first = finished_run(&sb, "claude/tool.jsonl", &[]);
    // `sessions show` finds the session by the run id `--resume` takes.
    for name in [first.clone(), format!("{first}:wake:1")] {
        let out = sb
            .cmd()
            .args(["sessions", "show", &name, "--json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_eq!(
            json(&out)["session_id"],
            "b97f592b-6515-4a57-b3bb-0bc3448d4c8a"
        );
    }
    // `-t` / `--task` as with `run` (the positional task still works).
    for flag in ["-t", "--task"] {
        let rec_dir = sb.root.join(format!("rec{flag}"));
        let out = sb
            .cmd()
            .args(["resume", &first, flag, "next step", "--json"])
            .env("FAKE_FIXTURE", fixture("claude/resume.jsonl"))
            .env("FAKE_RECORD", &rec_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{flag}: {}", stderr(&out));
        let stdin = std::fs::read_to_string(rec_dir.join("stdin")).unwrap();
        assert!(stdin.ends_with("\n\nnext step"), "{stdin}");
    }
    // Both at once is a contradiction.
    let out = sb
        .cmd()
        .args(["resume", &first, "one", "-t", "two"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
