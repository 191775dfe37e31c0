//! The `clawrun` program (the default `cli` feature; `src/main.rs` only calls
//! [`main`]): the command line ([`args`]), one function per subcommand
//! (`commands`), what is printed (`render`) and the exit status (`exit`).
//! The rest of the library does the work and returns data; only this module
//! tree writes to stdout and stderr.

pub mod args;
mod commands;
pub(crate) mod exit;
mod render;

use std::path::PathBuf;

use crate::core::context::RunContext;
use crate::core::store::paths::{Paths, ProcessEnv};

use self::args::{Cli, Command};
use self::exit::CliError;
use crate::core::model::exit::ExitStatus;

/// The `clawrun` program: parse the command line, run the command, and turn
/// the result into an exit status (see `exit` and README "Exit codes").
pub fn main() -> std::process::ExitCode {
    // A runner's crash watcher waits before anything is set up (it may wait
    // for hours); it goes on below only when its runner died.
    if commands::watch::wait_early() == Some(crate::core::runner::RunnerEnd::Finished) {
        return std::process::ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CLAWRUN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal: runner.log and pipes get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .init();
    let args = <args::Cli as clap::Parser>::parse();
    exit::status(run(args))
}

/// What every command gets besides its own flags.
pub(crate) struct Ctx {
    /// Where state, config and openclaw.json are.
    pub paths: Paths,
    /// `--backends`, or `<state dir>/backends.toml` when it exists.
    pub backends_file: Option<PathBuf>,
}

impl Ctx {
    /// The config files and backends of this process, read once: every
    /// command that needs them loads this once and passes it down.
    ///
    /// # Errors
    /// An unreadable or invalid `clawrun.toml` or `openclaw.json`.
    pub fn run_context(&self) -> Result<RunContext, CliError> {
        Ok(RunContext::load(&self.paths, self.backends_file.clone())?)
    }
}

/// A command's result: its exit status, or why it failed.
pub(crate) type CmdResult = Result<ExitStatus, CliError>;

/// Run the command `cli` names.
///
/// # Errors
/// Whatever the command ran into; [`exit::status`] turns it into a code.
pub(crate) fn run(cli: Cli) -> CmdResult {
    if let Some(config) = &cli.config {
        // Like a missing --backends file: a config the user named must exist.
        if !config.exists() {
            return Err(crate::Error::usage(format!(
                "--config {}: no such file",
                config.display()
            ))
            .into());
        }
    }
    let paths = Paths::resolve(&ProcessEnv, cli.state_dir.as_deref(), cli.config.as_deref());
    let backends_file = cli.backends.clone().or_else(|| {
        let default = paths.backends_file();
        default.is_file().then_some(default)
    });
    let ctx = Ctx {
        paths,
        backends_file,
    };
    use commands as c;
    match &cli.command {
        Command::Run(args) => c::run::run(args, &ctx),
        Command::Runner { dir, slot_fd, .. } => c::run::runner(dir, *slot_fd, &ctx),
        Command::Watch { dir } => c::watch::watch(dir, &ctx),
        Command::Status(args) => c::status::status(args, &ctx),
        Command::Route(args) => c::route::route(args, &ctx),
        Command::Notify(args) => c::notify::notify(args),
        Command::Respond(args) => c::respond::respond(args, &ctx),
        Command::Fg(args) => c::fg::fg_bg(args, &ctx, true),
        Command::Bg(args) => c::fg::fg_bg(args, &ctx, false),
        Command::Outbox(args) => c::outbox::outbox(args, &ctx),
        Command::Sessions(args) => c::sessions::sessions(args, &ctx),
        Command::List(args) => c::list::list(args, &ctx),
        Command::Show(args) => c::show::show(args, &ctx),
        Command::Output(args) => c::output::output(args, &ctx),
        Command::Kill(args) => c::kill::kill(args, &ctx),
        Command::Stats(args) => c::stats::stats(args, &ctx),
        Command::Resume(args) => c::resume::resume(args, &ctx),
        Command::Gc(args) => c::gc::gc(args, &ctx),
        Command::Doctor(args) => c::doctor::doctor(args, &ctx),
        Command::Worktree(args) => c::worktree::worktree(args, &ctx),
        Command::Nodes(args) => c::nodes::nodes(args, &ctx),
    }
}

/// The async runtime for one command (the library's, see
/// [`crate::core::runner::runtime`]).
///
/// # Errors
/// The runtime cannot start.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    Ok(crate::core::runner::runtime()?)
}
