//! A launch through the library facade (`clawrun::launch`, `clawrun::prepare`)
//! takes `clawrun.toml`'s defaults exactly as `clawrun run` does: the run's
//! `request.json` says the same either way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use clawrun::{LaunchMode, LaunchOptions, Launched, Paths, RunContext, RunOptions, TaskSource};
use serde_json::Value;

use crate::common::{Sandbox, fixture};

/// A `clawrun.toml` whose `[notify]` and `[run]` defaults differ from the
/// built-in ones.
const CONFIG: &str =
    "[notify]\nheartbeat_secs = 300\nsilent = \"none\"\n\n[run]\nsafety = \"read-only\"\n";

/// The sandbox's config files: `clawrun.toml` as [`CONFIG`], a
/// `backends.toml` whose claude is the fake agent (a library caller's PATH is
/// its own), and the paths of both.
fn world(sb: &Sandbox) -> (Paths, PathBuf) {
    std::fs::create_dir_all(sb.openclaw_home()).unwrap();
    std::fs::create_dir_all(sb.root.join("project")).unwrap();
    let config = sb.openclaw_home().join("clawrun.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let backends = sb.root.join("backends.toml");
    std::fs::write(
        &backends,
        format!(
            "[claude]\nprogram = {:?}\n",
            fixture("fake-agent.sh").display().to_string()
        ),
    )
    .unwrap();
    let paths = Paths {
        openclaw_home: sb.openclaw_home(),
        openclaw_config: sb.openclaw_home().join("openclaw.json"),
        state_dir: sb.state_dir(),
        config_file: config,
    };
    (paths, backends)
}

/// The `request.json` of run `id`.
fn request(sb: &Sandbox, id: &str) -> Value {
    let text =
        std::fs::read_to_string(sb.state_dir().join("runs").join(id).join("request.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The options of `clawrun run -p PROJECT -t TASK` (nothing else given).
fn options(project: &Path, backends: &Path) -> RunOptions {
    let mut opts = RunOptions::new("claude", TaskSource::Inline("say hi".into()));
    opts.request.project = Some(project.to_path_buf());
    opts.backends_file = Some(backends.to_path_buf());
    opts
}

/// The fields `clawrun.toml` gave, as `request.json` holds them.
fn defaults_of(request: &Value) -> (Value, Value, Value) {
    (
        request["heartbeat_secs"].clone(),
        request["silent"].clone(),
        request["safety"].clone(),
    )
}

#[test]
fn a_library_launch_honours_the_config_defaults_the_cli_honours() {
    let sb = Sandbox::new();
    let (paths, backends) = world(&sb);
    let project = sb.root.join("project");
    // The CLI, given nothing but the project and the task.
    let out = sb
        .cmd()
        .arg("--backends")
        .arg(&backends)
        .args(["run", "--json", "-t", "say hi", "-p"])
        .arg(&project)
        .output()
        .unwrap();
    let cli: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let cli = request(&sb, cli["run_id"].as_str().unwrap());
    assert_eq!(
        defaults_of(&cli),
        (300.into(), "none".into(), "read-only".into()),
        "{cli}"
    );
    // The library, through the facade: the same context, the same defaults.
    // (Validated, then created: a run executed in this process would install
    // the runner's signal handlers in the test process.)
    let ctx = RunContext::load(&paths, Some(backends.clone())).unwrap();
    let mut launch = LaunchOptions::new(options(&project, &backends));
    launch.mode = LaunchMode::Validate;
    let launched = clawrun::launch(&ctx, &launch, &mut std::io::empty(), &mut ()).unwrap();
    let Launched::Validated(mut validated) = launched else {
        panic!("a validating launch ends validated: {launched:?}");
    };
    assert_eq!(validated.prepared.spec.notify.heartbeat_secs, 300);
    let dir = clawrun::create(&mut validated.prepared).unwrap();
    let lib = request(&sb, dir.path.file_name().unwrap().to_str().unwrap());
    assert_eq!(defaults_of(&lib), defaults_of(&cli), "{lib}");
}

#[test]
fn prepare_takes_the_config_defaults_and_a_given_flag_wins() {
    let sb = Sandbox::new();
    let (paths, backends) = world(&sb);
    let project = sb.root.join("project");
    let mut prepared =
        clawrun::prepare(&options(&project, &backends), &paths, &mut std::io::empty()).unwrap();
    let dir = clawrun::create(&mut prepared).unwrap();
    let id = dir.path.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        defaults_of(&request(&sb, &id)),
        (300.into(), "none".into(), "read-only".into())
    );
    // Given, a value is the run's, whatever the file says.
    let mut opts = options(&project, &backends);
    opts.notify.heartbeat_secs = Some(0);
    opts.request.safety = Some(clawrun::config::Safety::Workspace);
    let mut prepared = clawrun::prepare(&opts, &paths, &mut std::io::empty()).unwrap();
    let dir = clawrun::create(&mut prepared).unwrap();
    let id = dir.path.file_name().unwrap().to_str().unwrap().to_owned();
    let given = request(&sb, &id);
    assert_eq!(given["heartbeat_secs"], 0, "{given}");
    assert_eq!(given["safety"], "workspace", "{given}");
}
