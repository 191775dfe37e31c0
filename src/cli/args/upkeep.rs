//! The commands that look after clawrun itself and its surroundings:
//! `sessions` (the registry), `outbox`, `gc`, `doctor`, `nodes`.

use clap::{Args, Subcommand};

use super::numbers::{positive, whole_in};

/// `clawrun sessions`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SessionsArgs {
    /// Only this backend's registry.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
    /// Only sessions used in the last H hours (default 72).
    #[arg(long, value_name = "H", allow_negative_numbers = true, value_parser = positive)]
    pub hours: Option<f64>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Find or show.
    #[command(subcommand)]
    pub command: Option<SessionsCommand>,
}

/// `clawrun sessions find|show`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Find sessions by label: case-insensitive exact matches, then substring matches; newest first.
    Find {
        /// The label.
        label: String,
        /// Only this backend's registry.
        #[arg(long, value_name = "NAME")]
        backend: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one session by its id, or by a run's id (or wake id) as `run --resume` takes it.
    Show {
        /// Session / thread id, run id or wake id (`RUN:wake:N`).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `clawrun outbox`.
#[derive(Debug, Args)]
pub struct OutboxArgs {
    /// `list` (default) or `flush`.
    #[arg(value_parser = ["list", "flush"], default_value = "list")]
    pub action: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// `flush`: stop retrying after this many seconds; what is left stays queued.
    #[arg(long, default_value_t = 120, value_name = "SECS", allow_negative_numbers = true,
          value_parser = whole_in::<u64>(0, u64::MAX, " seconds"))]
    pub wait: u64,
}

/// `clawrun gc`.
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Remove runs finished, and registry entries unused, more than DAYS days ago
    /// (overrides both `[retention] run_days` and `registry_days` for this call).
    #[arg(long, value_name = "DAYS", allow_negative_numbers = true,
          value_parser = whole_in::<u32>(0, u64::MAX, " days"))]
    pub older_than: Option<u32>,
    /// Show what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Seconds each external check (a CLI's --version, an HTTP call) may take.
    #[arg(long, default_value_t = 5, value_name = "SECS", allow_negative_numbers = true,
          value_parser = whole_in::<u64>(1, 600, " seconds"))]
    pub timeout: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `clawrun nodes`.
#[derive(Debug, Args)]
pub struct NodesArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}
