//! The OpenClaw skills at the repository root (`SKILL.md` for Claude Code,
//! `SKILL-codex.md` for Codex): their front matter is what OpenClaw expects,
//! every `clawrun` command line in them parses with today's CLI, every flag
//! they mention exists, and what they say about backends, wake markers and exit
//! codes matches the code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use clawrun::Outcome;
use clawrun::backends::Backend;
use clawrun::backends::config::BackendsConfig;
use serde_json::Value;

// The program's own command line: this test parses the skills' commands with
// the real parser.
use clawrun::cli::args::{Cli, Command, SessionsCommand, WorktreeCommand};

/// A skill file and what it must say.
struct Skill {
    file: &'static str,
    name: &'static str,
    backend: &'static str,
    other_backend: &'static str,
}

const SKILLS: [Skill; 2] = [
    Skill {
        file: "SKILL.md",
        name: "clawrun-claude",
        backend: "claude",
        other_backend: "codex",
    },
    Skill {
        file: "SKILL-codex.md",
        name: "clawrun-codex",
        backend: "codex",
        other_backend: "claude",
    },
];

/// `openclaw.json` keys clawrun reads (see `core::openclaw::config`): the only
/// ones a skill may require.
const KEYS_CLAWRUN_READS: &[&str] = &[
    "gateway.auth.token",
    "gateway.port",
    "channels.telegram.botToken",
];

fn read(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap()
}

/// Split a shell command line into words, as `sh` would for a simple command:
/// single quotes, double quotes (with `\"`, `\\`, `\$`, `` \` `` escapes) and
/// backslashes. The command ends at an unquoted operator (`|`, `&`, `;`, `<`,
/// `>`) or comment (`#` at the start of a word). A `<placeholder>` word (no
/// space inside) is kept as a word: the skills use them for values.
fn split_shell(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err(format!("unterminated ' in {line:?}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => word.push(ch),
                            Some(ch) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return Err(format!("unterminated \" in {line:?}")),
                        },
                        Some('$' | '`') => {
                            return Err(format!("substitution in {line:?}: not a plain command"));
                        }
                        Some(ch) => word.push(ch),
                        None => return Err(format!("unterminated \" in {line:?}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(ch) => word.push(ch),
                    None => return Err(format!("trailing backslash in {line:?}")),
                }
            }
            '<' => {
                // `<id>`: a placeholder word; anything else is a redirection.
                let rest: String = chars.clone().collect();
                match rest.find('>') {
                    Some(end) if end > 0 && !rest[..end].contains([' ', '<']) => {
                        in_word = true;
                        word.push('<');
                        word.push_str(&rest[..=end]);
                        for _ in 0..=rest[..end].chars().count() {
                            chars.next();
                        }
                    }
                    _ => break,
                }
            }
            '|' | '&' | ';' | '>' => break,
            '#' if !in_word => break,
            '$' | '`' => return Err(format!("substitution in {line:?}: not a plain command")),
            ch => {
                in_word = true;
                word.push(ch);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// The skill body after its front matter, and the front matter's `key: value` lines.
fn front_matter(text: &str) -> (BTreeMap<String, String>, &str) {
    let rest = text
        .strip_prefix("---\n")
        .expect("a skill starts with a --- front matter block");
    let end = rest.find("\n---\n").expect("front matter ends with ---");
    let mut keys = BTreeMap::new();
    for line in rest[..end].lines() {
        let (k, v) = line
            .split_once(": ")
            .unwrap_or_else(|| panic!("front matter line is not `key: value`: {line:?}"));
        assert!(
            keys.insert(k.to_owned(), v.trim().to_owned()).is_none(),
            "{k} twice"
        );
    }
    (keys, &rest[end + 5..])
}

/// Where a command was found, and its text.
#[derive(Debug)]
struct Found {
    line: usize,
    text: String,
}

/// Every `clawrun …` command line: whole lines of fenced code blocks (with `\`
/// continuations joined) and inline code spans.
fn commands(body: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut in_block = false;
    let mut pending: Option<(usize, String)> = None;
    for (i, line) in body.lines().enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            let (start, mut joined) = pending.take().unwrap_or((n, String::new()));
            joined.push_str(line.trim());
            if let Some(head) = joined.strip_suffix('\\') {
                pending = Some((start, format!("{head} ")));
                continue;
            }
            if joined.starts_with("clawrun ") {
                found.push(Found {
                    line: start,
                    text: joined,
                });
            }
            continue;
        }
        // A span broken over two lines would be missed: refuse it.
        assert!(
            line.matches('`').count() % 2 == 0,
            "line {n}: inline code split across lines: {line}"
        );
        for span in inline_code(line) {
            if span.starts_with("clawrun ") {
                found.push(Found {
                    line: n,
                    text: span.to_owned(),
                });
            }
        }
    }
    assert!(!in_block, "unclosed code block");
    found
}

/// The inline code spans of one markdown line (single backticks).
fn inline_code(line: &str) -> Vec<&str> {
    line.split('`').skip(1).step_by(2).collect()
}

fn parse(argv: &[String]) -> Result<Cli, clap::Error> {
    let mut argv = argv.to_vec();
    // `clawrun notify` takes its run directory from $CLAWRUN_RUN_DIR, which the
    // runner sets for the agent; a test may not set it on itself, so it is
    // given as the flag that variable stands for.
    if argv.get(1).is_some_and(|a| a == "notify") && !argv.iter().any(|a| a == "--run-dir") {
        argv.extend(["--run-dir".to_owned(), "/run/dir".to_owned()]);
    }
    Cli::try_parse_from(argv)
}

#[test]
fn the_shell_splitter_handles_quotes_placeholders_and_operators() {
    let w = |s: &str| split_shell(s).unwrap();
    assert_eq!(
        w(r#"clawrun run -t "a \"b\" c" --label 'x y' --resume <session-id> > log 2>&1"#),
        vec![
            "clawrun",
            "run",
            "-t",
            "a \"b\" c",
            "--label",
            "x y",
            "--resume",
            "<session-id>"
        ]
    );
    assert_eq!(w("clawrun status # comment"), vec!["clawrun", "status"]);
    assert_eq!(w("clawrun a\\ b; rm -rf x"), vec!["clawrun", "a b"]);
    assert_eq!(w("clawrun x < in"), vec!["clawrun", "x"]);
    assert!(split_shell("clawrun run -t \"open").is_err());
    assert!(split_shell("clawrun run -t \"$(cat f)\"").is_err());
}

#[test]
fn every_clawrun_command_in_the_skills_parses() {
    for skill in &SKILLS {
        let text = read(skill.file);
        let (_, body) = front_matter(&text);
        // Lines are reported as in the file: count the front matter's.
        let offset = text[..text.len() - body.len()].matches('\n').count();
        let found = commands(body);
        // Enough to cover what the skill must teach; a broken extractor would find none.
        assert!(
            found.len() >= 15,
            "{}: only {} commands",
            skill.file,
            found.len()
        );
        let mut taught = BTreeSet::new();
        for f in &found {
            let argv = split_shell(&f.text)
                .unwrap_or_else(|e| panic!("{}:{}: {e}", skill.file, f.line + offset));
            let cli = match parse(&argv) {
                Ok(cli) => cli,
                Err(e)
                    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) =>
                {
                    continue;
                }
                Err(e) => panic!(
                    "{}:{}: does not parse: {}\n{e}",
                    skill.file,
                    f.line + offset,
                    f.text
                ),
            };
            match &cli.command {
                Command::Run(args) => {
                    assert_eq!(
                        args.backend,
                        skill.backend,
                        "{}:{}: {} names the wrong backend",
                        skill.file,
                        f.line + offset,
                        f.text
                    );
                    for (flag, on) in [
                        ("detach", args.detach),
                        ("validate-only", args.validate_only),
                        ("resume", args.request.resume.is_some()),
                        (
                            "iterate",
                            args.chain.completion_mode.as_deref() == Some("iterate"),
                        ),
                        ("session", args.session.is_some()),
                        ("task-file", args.task_file.is_some()),
                        ("worktree", args.worktree.worktree.is_some()),
                    ] {
                        if on {
                            taught.insert(format!("run --{flag}"));
                        }
                    }
                    // The task always comes from a file in the skills.
                    assert!(
                        args.task.is_none(),
                        "{}:{}: a task given inline: {}",
                        skill.file,
                        f.line + offset,
                        f.text
                    );
                }
                Command::Sessions(args) => {
                    let named = match &args.command {
                        Some(SessionsCommand::Find { backend, .. }) => backend.as_ref(),
                        _ => args.backend.as_ref(),
                    };
                    if let Some(b) = named {
                        assert_eq!(b, skill.backend, "{}:{}", skill.file, f.line + offset);
                    }
                    taught.insert("sessions".to_owned());
                }
                Command::Notify(_) => {
                    taught.insert("notify".to_owned());
                }
                Command::Outbox(args) => {
                    taught.insert(format!("outbox {}", args.action));
                }
                Command::Status(_) => {
                    taught.insert("status".to_owned());
                }
                Command::List(_) => {
                    taught.insert("list".to_owned());
                }
                Command::Output(_) => {
                    taught.insert("output".to_owned());
                }
                Command::Kill(_) => {
                    taught.insert("kill".to_owned());
                }
                Command::Doctor(_) => {
                    taught.insert("doctor".to_owned());
                }
                Command::Resume(_) => {
                    taught.insert("resume".to_owned());
                }
                Command::Worktree(args) => {
                    let action = match &args.command {
                        WorktreeCommand::List { .. } => "list",
                        WorktreeCommand::Merge { .. } => "merge",
                        WorktreeCommand::Discard { .. } => "discard",
                    };
                    taught.insert(format!("worktree {action}"));
                }
                Command::Route(_)
                | Command::Fg(_)
                | Command::Bg(_)
                | Command::Show(_)
                | Command::Stats(_)
                | Command::Gc(_)
                | Command::Respond(_)
                | Command::Nodes(_)
                | Command::Runner { .. }
                | Command::Watch { .. } => {}
            }
        }
        for must in [
            "run --detach",
            "run --validate-only",
            "run --resume",
            "run --iterate",
            "run --session",
            "run --task-file",
            "run --worktree",
            "worktree merge",
            "worktree discard",
            "sessions",
            "notify",
            "outbox list",
            "outbox flush",
            "status",
            "list",
            "output",
            "kill",
            "doctor",
            "resume",
        ] {
            assert!(
                taught.contains(must),
                "{} teaches no `{must}` command",
                skill.file
            );
        }
    }
}

#[test]
fn every_flag_the_skills_mention_exists() {
    let cli = Cli::command();
    let mut known: BTreeSet<String> = BTreeSet::new();
    // Flags of any subcommand (and their subcommands).
    let mut args: Vec<&clap::Arg> = cli.get_arguments().collect();
    for sub in cli.get_subcommands() {
        args.extend(sub.get_arguments());
        for subsub in sub.get_subcommands() {
            args.extend(subsub.get_arguments());
        }
    }
    for arg in args {
        if let Some(long) = arg.get_long() {
            known.insert(long.to_owned());
        }
        for alias in arg.get_all_aliases().into_iter().flatten() {
            known.insert(alias.to_owned());
        }
    }
    for skill in &SKILLS {
        let text = read(skill.file);
        let (_, body) = front_matter(&text);
        let mut checked = 0;
        for line in body.lines() {
            for span in inline_code(line) {
                let Some(flag) = span.strip_prefix("--") else {
                    continue;
                };
                let name = flag.split([' ', '=']).next().unwrap_or_default().to_owned();
                assert!(
                    known.contains(&name),
                    "{}: `{span}` is not a flag of any clawrun command",
                    skill.file
                );
                checked += 1;
            }
        }
        assert!(
            checked >= 10,
            "{}: only {checked} flags mentioned",
            skill.file
        );
    }
}

#[test]
fn front_matter_is_openclaw_skill_metadata_for_the_right_backend() {
    for skill in &SKILLS {
        let text = read(skill.file);
        let (keys, _) = front_matter(&text);
        assert_eq!(
            keys.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["description", "metadata", "name"],
            "{}",
            skill.file
        );
        // name: lowercase letters, digits, hyphens (the install folder's name).
        let name = &keys["name"];
        assert_eq!(name, skill.name);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        // description: one line, under 160 characters, naming the backend.
        let description = &keys["description"];
        assert!(
            description.chars().count() < 160,
            "{}: description too long",
            skill.file
        );
        let display = BackendsConfig::builtin()
            .unwrap()
            .backend(skill.backend)
            .unwrap()
            .names()
            .display;
        assert!(description.contains(display), "{description}");
        // metadata: JSON (a YAML flow mapping), openclaw.requires.{bins, config}.
        let meta: Value = serde_json::from_str(&keys["metadata"]).unwrap();
        let requires = &meta["openclaw"]["requires"];
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        let bins = strings(&requires["bins"]);
        assert_eq!(bins, vec!["clawrun", skill.backend], "{}", skill.file);
        assert!(!bins.iter().any(|b| b == skill.other_backend));
        let config = strings(&requires["config"]);
        assert!(config.contains(&"gateway.auth.token".to_owned()));
        for key in &config {
            assert!(
                KEYS_CLAWRUN_READS.contains(&key.as_str()),
                "{}: requires {key}, which clawrun does not read",
                skill.file
            );
        }
        // install: one `node` installer (OpenClaw runs `npm install -g --ignore-scripts
        // <package>`) for the npm package this repository packs (npm/clawrun/).
        let install = meta["openclaw"]["install"].as_array().unwrap();
        assert_eq!(install.len(), 1, "{}", skill.file);
        let npm: Value = serde_json::from_str(&read("npm/clawrun/package.json")).unwrap();
        assert_eq!(install[0]["kind"], "node", "{}", skill.file);
        assert_eq!(install[0]["package"], npm["name"], "{}", skill.file);
        assert_eq!(strings(&install[0]["bins"]), vec!["clawrun"]);
        assert!(npm["bin"]["clawrun"].is_string());
        let allowed: BTreeSet<&str> = ["requires", "emoji", "install"].into();
        for k in meta["openclaw"].as_object().unwrap().keys() {
            assert!(
                allowed.contains(k.as_str()),
                "{}: unknown key {k}",
                skill.file
            );
        }
    }
}

#[test]
fn skills_state_the_wake_marker_and_the_exit_codes_of_the_code() {
    let outcomes = [
        Outcome::Completed,
        Outcome::Failed,
        Outcome::Timeout,
        Outcome::Killed,
        Outcome::ResumeFailed,
        Outcome::Crashed,
    ];
    let backends = BackendsConfig::builtin().unwrap();
    for skill in &SKILLS {
        let text = read(skill.file);
        let marker = backends
            .backend(skill.backend)
            .unwrap()
            .names()
            .result_marker;
        assert!(text.contains(marker), "{}: no {marker}", skill.file);
        let other = backends
            .backend(skill.other_backend)
            .unwrap()
            .names()
            .result_marker;
        assert!(!text.contains(other), "{}: mentions {other}", skill.file);
        // Table rows `| 3 | `failed` | …`.
        let mut rows = BTreeMap::new();
        for line in text.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() > 3 {
                if let Ok(code) = cells[1].parse::<u8>() {
                    rows.insert(code, cells[2].trim_matches('`').to_owned());
                }
            }
        }
        for o in outcomes {
            assert_eq!(
                rows.get(&o.exit_code().code()).map(String::as_str),
                Some(o.as_str()),
                "{}: exit code {} should be {}",
                skill.file,
                o.exit_code(),
                o.as_str()
            );
        }
        assert!(rows.contains_key(&2), "{}: no row for exit 2", skill.file);
        // TODO markers for commands still to come are closed comments.
        assert_eq!(
            text.matches("<!--").count(),
            text.matches("-->").count(),
            "{}",
            skill.file
        );
    }
}

/// Every `agent:…` session key a skill shows, with its line.
fn session_keys(text: &str) -> Vec<(usize, String)> {
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("agent:") {
            let key: String = rest[at..]
                .chars()
                .take_while(|c| !matches!(c, ' ' | '`' | '"' | '\'' | ')' | ',' | '('))
                .collect();
            rest = &rest[at + key.len()..];
            keys.push((i + 1, key.trim_end_matches('.').to_owned()));
        }
    }
    keys
}

/// Issue 25: the skills' example keys are the shapes OpenClaw 2026.9 answers
/// (`agent:<id>:telegram:group:<chat>:topic:<thread>`), not the legacy
/// `agent:main:main:thread:<id>` it answers with "No session found".
#[test]
fn the_skills_example_keys_are_current_topic_keys() {
    use clawrun::openclaw::SessionKey;
    for skill in &SKILLS {
        let text = read(skill.file);
        let keys = session_keys(&text);
        assert!(keys.len() >= 3, "{}: only {keys:?}", skill.file);
        for (line, key) in keys {
            assert!(
                !key.contains(":main:thread:") && !key.ends_with(":main:thread"),
                "{}:{line}: legacy key shape {key}",
                skill.file
            );
            // Placeholders stand for the ids the gateway gives.
            let concrete = key
                .replace("<chat>", "-1001234567890")
                .replace("<thread>", "369520");
            let parsed: SessionKey = concrete
                .parse()
                .unwrap_or_else(|e| panic!("{}:{line}: {key}: {e}", skill.file));
            assert_eq!(
                parsed.channel(),
                Some("telegram"),
                "{}:{line}: {key} names no channel",
                skill.file
            );
            assert!(
                concrete.contains(":telegram:group:") && parsed.thread_id().is_some(),
                "{}:{line}: {key} is not a topic key",
                skill.file
            );
        }
    }
}

/// A gateway (wiremock) whose `sessions_list` answers as OpenClaw 2026.9.6 did
/// for a forum topic (`reference/openclaw/README.md` §4: no deliveryContext on
/// topic sessions), and a sandbox configured for it and a Bot API.
async fn topic_gateway(key: &str) -> (wiremock::MockServer, crate::common::Sandbox) {
    use crate::common::gateway;
    let server = gateway::start().await;
    let details = serde_json::json!({"count": 1, "sessions": [{
        "key": key, "sessionId": "9c20168d-0551-4aad-9b0e-39fe511c66e2", "agentId": "main",
        "kind": "group", "channel": "telegram",
        "displayName": "telegram:g-1001234567890-topic-369520", "updatedAt": 1_795_300_522_369_i64,
        "status": "done"
    }], "hasMore": false});
    gateway::mount_tools(&server, gateway::tool_result(&details)).await;
    let sb = crate::common::Sandbox::new();
    gateway::write_openclaw_json(
        &sb,
        &serde_json::json!({
            "gateway": {"port": server.address().port(), "auth": {"token": "gw-skills"}},
            "channels": {"telegram": {"botToken": "1:skills", "apiRoot": server.uri()}}
        }),
    );
    // The OpenClaw CLI the Telegram wake runs (only its presence matters here).
    let fake = sb.bin.join("openclaw");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    (server, sb)
}

/// Issue 25: the skills' route checks (`run … --validate-only` and `route
/// KEY`) run as written against a gateway that knows the example's topic, and
/// answer ✅ with the topic's chat and thread. Only what a shell would do is
/// done to them: `~` is the sandbox's HOME, and the task file they name is
/// written there first (the skill tells the agent to write it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_skills_route_checks_succeed_as_written_against_a_gateway() {
    for skill in &SKILLS {
        let text = read(skill.file);
        let (_, body) = front_matter(&text);
        let checks: Vec<Vec<String>> = commands(body)
            .into_iter()
            .map(|f| split_shell(&f.text).unwrap())
            .filter(|argv| {
                argv.get(1).is_some_and(|a| a == "route")
                    || argv.iter().any(|a| a == "--validate-only")
            })
            .filter(|argv| argv.iter().any(|a| a.starts_with("agent:")))
            .collect();
        assert!(checks.len() >= 2, "{}: {checks:?}", skill.file);
        for argv in checks {
            let key = argv.iter().find(|a| a.starts_with("agent:")).unwrap();
            let (_server, sb) = topic_gateway(key).await;
            let home = sb.home();
            // The task file the skill's first step writes, at a private path.
            let task = sb.root.join("task.md");
            std::fs::write(&task, "Make cargo test pass.\n").unwrap();
            let mut args: Vec<String> = Vec::new();
            for a in &argv[1..] {
                args.push(match a.strip_prefix("~/") {
                    _ if args.last().is_some_and(|p| p == "--task-file") => {
                        task.display().to_string()
                    }
                    Some(rest) => home.join(rest).display().to_string(),
                    None => a.clone(),
                });
            }
            let mut cmd = std::process::Command::new(crate::common::clawrun_bin());
            cmd.env_clear()
                .env("HOME", &home)
                .env("PATH", format!("{}:/usr/bin:/bin", sb.bin.display()))
                .current_dir(&sb.root)
                .args(&args);
            let out = tokio::process::Command::from(cmd).output().await.unwrap();
            let (so, se) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {argv:?}\n{so}\n{se}",
                skill.file
            );
            let said = format!("{so}{se}");
            assert!(said.contains("✅ Routing validation"), "{said}");
            assert!(
                said.contains("-1001234567890") && said.contains("369520"),
                "{said}"
            );
        }
    }
}
