//! `clawrun output`: a run's text so far, the raw stream, or `--follow`.

use crate::core::model::exit::ExitStatus;
use std::io::{self, Write};

use crate::core::ops::output::{self, FollowEnd, FollowOptions, FollowSink};
use crate::core::ops::resolve::{Run, resolve_run};

use crate::cli::args::OutputArgs;
use crate::cli::commands::nodes::{ASK_TIMEOUT, forward_if_node_run};
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun output`.
pub fn output(args: &OutputArgs, ctx: &Ctx) -> CmdResult {
    if !args.follow {
        if let Some(done) = forward_if_node_run(ctx, &args.run, "output", ASK_TIMEOUT) {
            return done;
        }
    }
    // Reap stale records first, so the status shown is true.
    let _ = crate::core::ops::resolve::active_runs(&ctx.paths);
    let run = resolve_run(&ctx.paths, &args.run)?;
    if args.follow {
        return follow(args, &run, ctx);
    }
    if args.full {
        output::copy_stream(&run, &mut io::stdout().lock())?;
        return Ok(ExitStatus::Success);
    }
    let text = output::output_text(&run, args.lines)?;
    if args.json {
        render::json(&text)?;
    } else {
        let mut body = text.lines.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        // On a terminal, the agent's escapes and bidi controls are not passed through.
        if io::IsTerminal::is_terminal(&io::stdout()) {
            body = crate::core::notify::terminal_safe(&body).into_owned();
        }
        render::text(&body)?;
        if text.lines.is_empty() {
            eprintln!("(no text yet; run {} is {})", text.run_id, text.status);
        }
    }
    Ok(ExitStatus::Success)
}

/// `output --follow`: print until the run is done, then say how it ended.
fn follow(args: &OutputArgs, run: &Run, ctx: &Ctx) -> CmdResult {
    let opts = FollowOptions {
        lines: args.lines,
        raw: args.full,
        poll: output::DEFAULT_FOLLOW_POLL,
    };
    let mut sink = Stdout {
        out: io::stdout().lock(),
        json: args.json,
    };
    let end = output::follow(&ctx.paths, run, &opts, &mut sink)?;
    if end.reader_gone {
        return Ok(ExitStatus::Success);
    }
    if args.json && !args.full {
        match sink.end(&end) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    } else if !args.json {
        if end.runner_gone {
            eprintln!(
                "— run {}: its runner died without finishing ({})",
                end.run_id, end.status
            );
        } else {
            eprintln!("— run {} ended: {}", end.run_id, end.status);
        }
    }
    Ok(ExitStatus::Success)
}

/// Standard output as a [`FollowSink`]: text lines, or one JSON object per
/// line (`{"type":"text","text":…}`, then `{"type":"end",…}`).
struct Stdout<W: Write> {
    out: W,
    json: bool,
}

impl<W: Write> Stdout<W> {
    fn end(&mut self, end: &FollowEnd) -> io::Result<()> {
        let v = serde_json::json!({
            "type": "end",
            "run_id": end.run_id,
            "status": end.status,
            "runner_gone": end.runner_gone,
        });
        writeln!(self.out, "{v}")?;
        self.out.flush()
    }
}

impl<W: Write> FollowSink for Stdout<W> {
    fn text(&mut self, piece: &str) -> io::Result<()> {
        if self.json {
            let v = serde_json::json!({"type": "text", "text": piece});
            writeln!(self.out, "{v}")
        } else {
            writeln!(self.out, "{}", piece.trim_end_matches('\n'))
        }
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
