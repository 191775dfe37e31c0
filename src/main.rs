//! The `clawrun` binary: parse the command line, run the command, and turn
//! the result into an exit status (see [`cli::exit`] and README "Exit codes").

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // A runner's crash watcher waits before anything is set up (it may wait
    // for hours); it goes on below only when its runner died.
    if cli::watcher_wait() == Some(clawrun::core::runner::RunnerEnd::Finished) {
        return ExitCode::SUCCESS;
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
    let args = cli::args::Cli::parse();
    cli::exit::status(cli::run(args))
}
