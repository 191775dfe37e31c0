//! `clawrun sessions [find LABEL | show ID]`: the session registries.

use crate::core::model::exit::ExitStatus;
use crate::core::ops::sessions;

use crate::cli::args::{SessionsArgs, SessionsCommand};
use crate::cli::{CmdResult, Ctx, render};

/// `clawrun sessions`.
pub fn sessions(args: &SessionsArgs, ctx: &Ctx) -> CmdResult {
    let paths = &ctx.paths;
    let file = ctx.backends_file.as_deref();
    match &args.command {
        None => {
            let hours = args.hours.unwrap_or(72.0);
            let recent = sessions::recent(paths, args.backend.as_deref(), file, hours)?;
            if args.json {
                let all: Vec<_> = recent.iter().flat_map(|r| &r.entries).collect();
                render::json(&all)?;
                return Ok(ExitStatus::Success);
            }
            let mut out = String::new();
            for r in recent.iter().filter(|r| !r.entries.is_empty()) {
                out.push_str(&format!("{}:\n", r.registry.path().display()));
                out.push_str(&render::sessions::table(&r.entries, r.registry.id_field()));
            }
            if out.is_empty() {
                out = format!("No sessions in the last {hours} hours.\n");
            }
            render::text(&out)?;
            Ok(ExitStatus::Success)
        }
        Some(SessionsCommand::Find {
            label,
            backend,
            json,
        }) => {
            let backend = backend.as_deref().or(args.backend.as_deref());
            let found = sessions::find(paths, backend, file, label)?;
            if *json {
                let v: Vec<_> = found.iter().map(|(_, e)| e).collect();
                render::json(&v)?;
            } else if let Some(&(field, _)) = found.first() {
                let entries: Vec<_> = found.into_iter().map(|(_, e)| e).collect();
                render::text(&render::sessions::table(&entries, field))?;
            } else {
                render::text(&format!("No session labelled like {label:?}.\n"))?;
            }
            Ok(ExitStatus::Success)
        }
        Some(SessionsCommand::Show { id, json }) => {
            let entry = sessions::get(paths, args.backend.as_deref(), file, id)?;
            if *json {
                render::json(&entry)?;
            } else {
                render::text(&render::sessions::entry(&entry)?)?;
            }
            Ok(ExitStatus::Success)
        }
    }
}
