//! A backend defined in `backends.toml` alone: no Rust code knows the CLI.
//!
//! ```sh
//! PATH="$PWD/examples/custom_backend:$PATH" \
//!   cargo run --example custom_backend -- PROJECT_DIR "TASK" [RESUME_ID]
//! ```
//!
//! `examples/custom_backend/backends.toml` defines the backend `acme` for
//! `acme-agent`, a fictional CLI that prints JSON lines (the fake one next to
//! it stands in for it): which field holds each line's type, and for each type
//! the [`AgentEvent`](clawrun::events::AgentEvent) it becomes and where
//! its fields are. This example loads that file, shows how one line maps, and
//! runs a task with it; the binary does the same with
//!
//! ```sh
//! clawrun --backends examples/custom_backend/backends.toml run --backend acme -p DIR --task-file FILE
//! ```
//!
//! Its sessions go to `~/.openclaw/acme_sessions.json`, so `--resume` works as
//! for the built-in backends.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clawrun::backends::config;
use clawrun::backends::{Backend, LineParser};
use clawrun::channels::Console;
use clawrun::channels::console::NOTIFICATIONS_FILE_NAME;
use clawrun::{Paths, ProcessEnv, RunOptions, RunReport, TaskSource};

/// The backend definitions of this example, next to this file.
fn backends_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/custom_backend/backends.toml")
}

fn run(project: &str, task: &str, resume: Option<&str>) -> anyhow::Result<RunReport> {
    let file = backends_file();
    let backends = config::load(Some(&file))?;
    let acme = backends.backend("acme")?;
    // The mapping at work on one line, before any run.
    let mut parser = acme.parser();
    let line = r#"{"kind":"say","text":"hello from acme"}"#;
    eprintln!("{line}\n  → {:?}", parser.parse_line(line));

    // The same options, and defaults, as `clawrun --backends FILE run --backend acme -p
    // PROJECT -t TASK [--resume ID]`. The run records the backends file, so a
    // detached runner finds `acme` too.
    let mut opts = RunOptions::new(acme.name(), TaskSource::Inline(task.to_owned()));
    opts.request.project = Some(project.into());
    opts.request.resume = resume.map(str::to_owned);
    opts.backends_file = Some(file);
    let paths = Paths::resolve(&ProcessEnv, /*state_dir*/ None, /*config*/ None);
    let mut prepared = clawrun::prepare(&opts, &paths, &mut std::io::empty())?;
    let dir = clawrun::create(&mut prepared)?;
    let console = Console::new(Some(dir.file(NOTIFICATIONS_FILE_NAME)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(clawrun::execute(&dir, &paths, console.into()))?)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [project, task, rest @ ..] = args.as_slice() else {
        eprintln!("usage: custom_backend PROJECT_DIR TASK [RESUME_ID]");
        return ExitCode::from(2);
    };
    match run(project, task, rest.first().map(String::as_str)) {
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
