//! One launch, as `clawrun run` does it — and any library caller the same
//! way: `clawrun.toml`'s defaults applied, the run prepared, routed and
//! checked ([`crate::core::runner::preflight`]), admitted under `[limits]
//! max_sessions` (one [`Admission`]), the daily clean-up, the run directory
//! created, then the run detached ([`Started::detach`]) or executed here to
//! its end ([`Started::execute`]: watched by a crash watcher, a panic of the
//! runner recorded as a crash).
//!
//! [`launch`] is the whole walk; [`start`] stops once the run directory
//! exists, for a caller that does something before the runner starts (exec
//! mode takes its follower lock there). The library never prints: what a
//! person should hear on the way goes to a [`LaunchHost`].
//!
//! It sits in `ops`, above the runner, because the clean-up
//! ([`crate::core::ops::gc::auto_gc`]) is an operation over existing runs.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::channels::{self, ChannelKind};
use crate::core::context::RunContext;
use crate::core::error::{Error, Result};
use crate::core::ops::gc::{self, GcReport};
use crate::core::routing::RouteInput;
use crate::core::runner::{
    self, Admission, LaunchProof, LaunchStatus, Prepared, RoutingOptions, RunOptions, RunReport,
    process::Watcher,
};
use crate::core::store::run::RunDir;
use crate::core::store::slots::{Full, Slots};

/// How long a detached launch waits for its agent to start.
const DETACH_WAIT: Duration = Duration::from_secs(30);

/// What to launch, and how.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The run (`None` fields take `clawrun.toml`'s defaults).
    pub run: RunOptions,
    /// Where its messages go (the routing flags).
    pub routing: RoutingOptions,
    /// With no slot free: wait in the queue instead of being refused.
    pub queue: bool,
    /// What happens once the run is routed.
    pub mode: LaunchMode,
}

impl LaunchOptions {
    /// `run` in the foreground, routed by its session key and
    /// `clawrun.toml` alone, refused when no slot is free.
    pub fn new(run: RunOptions) -> Self {
        Self {
            run,
            routing: RoutingOptions::default(),
            queue: false,
            mode: LaunchMode::Foreground,
        }
    }
}

/// What happens once the run is routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchMode {
    /// Stop there: every check made, nothing written (`--validate-only`).
    Validate,
    /// Execute the run in this process, to its end.
    Foreground,
    /// Start a detached runner and return once the agent started (or the run
    /// waits in the queue): `runner` is the program that serves `__runner
    /// DIR` (the `clawrun` binary).
    Detach {
        /// The `clawrun` program.
        runner: std::path::PathBuf,
    },
}

/// What a launch tells its caller on the way (the library never prints).
/// Every method has a default that does nothing; `()` is the host that
/// hears nothing.
pub trait LaunchHost {
    /// The run is routed and checked; its route's warnings are in
    /// `prepared.spec.route.warnings`.
    fn routed(&mut self, _prepared: &Prepared, _input: &RouteInput) {}
    /// The daily clean-up removed or freed something.
    fn cleaned_up(&mut self, _report: &GcReport) {}
    /// The run directory (and the run's worktree) exists; nothing started yet.
    fn created(&mut self, _prepared: &Prepared, _dir: &RunDir) {}
    /// A run executed here waits in the queue: `full` is what it found,
    /// `max` the limit.
    fn queued(&mut self, _prepared: &Prepared, _full: Full, _max: u32) {}
    /// The crash watcher of a run executed in this process (none by default).
    fn watcher(&mut self, _dir: &RunDir) -> Option<Box<dyn RunWatch>> {
        None
    }
    /// The run's channel of type `kind` cannot be built any more (its token
    /// was removed since the launch?): its messages go to the console.
    fn channel_unavailable(&mut self, _kind: ChannelKind, _error: &Error) {}
}

impl LaunchHost for () {}

/// Something watching a run executed in this process from outside it (the
/// binary's crash watcher, `clawrun __watch`), told when the run is over so
/// it does not record a crash.
pub trait RunWatch {
    /// The run ended (however it went): stop watching.
    fn done(self: Box<Self>);
}

impl RunWatch for Watcher {
    fn done(self: Box<Self>) {
        Watcher::done(*self);
    }
}

/// How a launch ended its part.
#[derive(Debug)]
pub enum Launched {
    /// [`LaunchMode::Validate`]: the run as it would be, and its routing input.
    Validated(Box<Validated>),
    /// [`LaunchMode::Detach`]: the runner took over.
    Detached(Box<Detached>),
    /// [`LaunchMode::Foreground`]: the run ended.
    Finished(Box<Finished>),
}

/// A run checked and routed, not created.
#[derive(Debug)]
pub struct Validated {
    /// The run.
    pub prepared: Prepared,
    /// What its route was resolved from.
    pub input: RouteInput,
}

/// A run a detached runner took over.
#[derive(Debug)]
pub struct Detached {
    /// The run.
    pub prepared: Prepared,
    /// The runner's proof that the agent started, or that the run is queued.
    pub proof: LaunchProof,
    /// Its place in the queue (1 = next), when queued.
    pub queue_position: Option<usize>,
    /// `[limits] max_sessions`.
    pub max_sessions: u32,
}

/// A run executed in this process.
#[derive(Debug)]
pub struct Finished {
    /// The run.
    pub prepared: Prepared,
    /// How it ended.
    pub report: RunReport,
}

/// A run created and admitted, not started yet (see [`start`]).
#[derive(Debug)]
pub struct Started {
    /// The run.
    pub prepared: Prepared,
    /// Its directory.
    pub dir: RunDir,
    admission: Admission,
    slots: Slots,
}

/// What [`start`] got to.
#[derive(Debug)]
pub enum Start {
    /// [`LaunchMode::Validate`]: checked and routed only.
    Validated(Box<Validated>),
    /// Created and admitted.
    Created(Box<Started>),
}

/// Launch a run: `start` it, then detach it or execute it here, as
/// `opts.mode` says. `stdin` is read only for a task given as
/// [`TaskSource::Stdin`].
///
/// # Errors
/// Bad input, a refused route or a full cap ([`Error::Usage`], nothing
/// written); a bad config ([`Error::Config`]); a runner that failed to start
/// the agent; the runner's own crash (recorded and notified first).
///
/// [`TaskSource::Stdin`]: crate::core::runner::TaskSource::Stdin
pub fn launch(
    ctx: &RunContext,
    opts: &LaunchOptions,
    stdin: &mut dyn Read,
    host: &mut dyn LaunchHost,
) -> Result<Launched> {
    let started = match start(ctx, opts, stdin, host)? {
        Start::Validated(v) => return Ok(Launched::Validated(v)),
        Start::Created(s) => s,
    };
    Ok(match &opts.mode {
        LaunchMode::Detach { runner } => Launched::Detached(Box::new(started.detach(runner)?)),
        LaunchMode::Validate | LaunchMode::Foreground => {
            Launched::Finished(Box::new(started.execute(ctx, host)?))
        }
    })
}

/// The launch up to the created run: `clawrun.toml`'s defaults, prepare,
/// route, preflight, then (unless [`LaunchMode::Validate`]) admit — the
/// check takes the slot, so nothing between here and the agent's start can
/// let another run past the cap — the daily clean-up, and create.
///
/// # Errors
/// As [`launch`], up to the creation.
pub fn start(
    ctx: &RunContext,
    opts: &LaunchOptions,
    stdin: &mut dyn Read,
    host: &mut dyn LaunchHost,
) -> Result<Start> {
    let mut prepared = runner::prepare_in(ctx, &opts.run, stdin)?;
    let input = runner::route_input(&prepared.spec, &opts.routing, ctx);
    runner::runtime()?.block_on(async {
        runner::route(&mut prepared, &input, ctx).await?;
        runner::preflight(&prepared.spec, ctx).await
    })?;
    host.routed(&prepared, &input);
    if opts.mode == LaunchMode::Validate {
        return Ok(Start::Validated(Box::new(Validated { prepared, input })));
    }
    let slots = runner::slots(ctx);
    let admission = runner::admit(&slots, opts.queue)?;
    if let Some(report) = gc::auto_gc(&ctx.paths, &ctx.config)
        && (report.runs_removed > 0 || report.registry_entries_removed > 0)
    {
        host.cleaned_up(&report);
    }
    let dir = runner::create(&mut prepared)?;
    host.created(&prepared, &dir);
    Ok(Start::Created(Box::new(Started {
        prepared,
        dir,
        admission,
        slots,
    })))
}

impl Started {
    /// Start the detached runner (`runner __runner DIR`), handing it the
    /// slot (or leaving it to wait in the queue), and wait for its proof.
    ///
    /// # Errors
    /// The runner cannot start, or fails before the agent starts.
    pub fn detach(self, runner: &Path) -> Result<Detached> {
        let proof = runner::spawn_detached(
            &self.dir,
            runner,
            &self.prepared.paths,
            &self.admission,
            DETACH_WAIT,
        )?;
        // The runner holds the slot now; this process only closes its copy.
        drop(self.admission);
        let queue_position = (proof.status == LaunchStatus::Queued)
            .then(|| self.slots.waiting().ok())
            .flatten()
            .and_then(|w| w.iter().position(|w| w.run_id == proof.run_id))
            .map(|p| p + 1);
        Ok(Detached {
            prepared: self.prepared,
            proof,
            queue_position,
            max_sessions: self.slots.max(),
        })
    }

    /// Execute the run here, to its end (see [`run_admitted`]).
    ///
    /// # Errors
    /// As [`run_admitted`].
    pub fn execute(self, ctx: &RunContext, host: &mut dyn LaunchHost) -> Result<Finished> {
        if let Admission::Queue(Some(full)) = &self.admission {
            host.queued(&self.prepared, *full, self.slots.max());
        }
        let report = run_admitted(ctx, &self.dir, self.admission, host)?;
        Ok(Finished {
            prepared: self.prepared,
            report,
        })
    }
}

/// Execute the created run in `dir` to its end in this process (a
/// foreground launch, or the detached runner `__runner`), holding or
/// waiting for its slot as `admission` says, watched by the host's crash
/// watcher (told when the run is over); a panic of the runner is recorded
/// as a crash (and notified) before it is returned as an error.
///
/// # Errors
/// An unreadable run directory; the runner's crash.
pub fn run_admitted(
    ctx: &RunContext,
    dir: &RunDir,
    admission: Admission,
    host: &mut dyn LaunchHost,
) -> Result<RunReport> {
    let watcher = host.watcher(dir);
    let result = execute_guarded(ctx, dir, admission, host);
    // Finished, however it went (an error before the run started is the
    // watcher's to record: no `done` then).
    if result.is_ok() || dir.read_record().is_ok_and(|r| r.status.is_done()) {
        if let Some(w) = watcher {
            w.done();
        }
    }
    result
}

/// [`runner::execute_admitted`] with the run's channel, the runner's own
/// panic caught and recorded as the run's crash.
fn execute_guarded(
    ctx: &RunContext,
    dir: &RunDir,
    admission: Admission,
    host: &mut dyn LaunchHost,
) -> Result<RunReport> {
    let spec = dir.read_spec()?;
    let (channel, unavailable) = channels::for_run_or_console(spec.channel, &dir.path, ctx);
    if let Some(e) = unavailable {
        host.channel_unavailable(spec.channel, &e);
    }
    let rt = runner::runtime()?;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(runner::execute_admitted(ctx, dir, channel, admission))
    }));
    drop(rt);
    let panic = match outcome {
        Ok(report) => return report,
        Err(panic) => panic,
    };
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    let (channel, _) = channels::for_run_or_console(spec.channel, &dir.path, ctx);
    let message = format!("the runner crashed: {what}");
    runner::runtime()?.block_on(runner::record_crash(dir, ctx, channel, &message))?;
    Err(Error::io("the runner crashed", std::io::Error::other(what)))
}
