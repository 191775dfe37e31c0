//! A run started from Rust code, with the library instead of the `clawrun` binary.
//!
//! ```sh
//! cargo run --example run_from_rust -- PROJECT_DIR "TASK" [BACKEND]
//! ```
//!
//! The four steps of `clawrun run` in the foreground:
//!
//! 1. [`clawrun::prepare`] validates everything (task, flags, the CLI on
//!    `PATH`) and touches nothing: bad input fails here, before any side effect.
//! 2. [`clawrun::create`] makes the run directory (`request.json`, `run.json`).
//! 3. [`clawrun::execute`] spawns the agent with the prompt on stdin, reads
//!    its events, sends the launch and result messages through the channel given,
//!    and writes the output file and the session registry.
//! 4. The [`RunReport`] says how it went; its `exit_code` is the CLI's.
//!
//! State goes where the CLI puts it: `~/.openclaw/clawrun/` (or under
//! `$OPENCLAW_STATE_DIR` / `$OPENCLAW_HOME`). The backend is `claude` unless
//! named; its program is looked up on `PATH`.

use std::path::PathBuf;
use std::process::ExitCode;

use clawrun::channels::Console;
use clawrun::channels::console::NOTIFICATIONS_FILE_NAME;
use clawrun::{Paths, ProcessEnv, RunOptions, RunReport, TaskSource};

/// Options for a plain foreground run: what `clawrun run --backend B -p P -t T
/// --label "from Rust" --timeout 600` would use.
fn options(backend: &str, project: PathBuf, task: String) -> RunOptions {
    let mut opts = RunOptions::new(backend, TaskSource::Inline(task));
    opts.request.project = Some(project);
    opts.label = Some("from Rust".to_owned());
    opts.limits.timeout_secs = 600;
    opts
}

fn run(backend: &str, project: PathBuf, task: String) -> anyhow::Result<RunReport> {
    let paths = Paths::resolve(&ProcessEnv, /*state_dir*/ None, /*config*/ None);
    // The task is inline here, so nothing is read from stdin.
    let mut prepared = clawrun::prepare(
        &options(backend, project, task),
        &paths,
        &mut std::io::empty(),
    )?;
    let dir = clawrun::create(&mut prepared)?;
    // The console channel prints each message to stderr and appends it to
    // notifications.jsonl in the run directory.
    let console = Console::new(Some(dir.file(NOTIFICATIONS_FILE_NAME)));
    // One thread, like the binary: the agent's parent-death signal is tied to
    // the thread that spawned it, which must live as long as the run.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(clawrun::execute(&dir, &paths, console.into()))?)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(project), Some(task)) = (args.next(), args.next()) else {
        eprintln!("usage: run_from_rust PROJECT_DIR TASK [BACKEND]");
        return ExitCode::from(2);
    };
    let backend = args.next().unwrap_or_else(|| "claude".to_owned());
    match run(&backend, PathBuf::from(project), task) {
        Ok(report) => {
            match serde_json::to_string_pretty(&report) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("❌ {e}"),
            }
            ExitCode::from(report.exit_code)
        }
        Err(e) => {
            eprintln!("❌ {e:#}");
            let usage = matches!(
                e.downcast_ref::<clawrun::Error>(),
                Some(clawrun::Error::Usage(_) | clawrun::Error::Config(_))
            );
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}
