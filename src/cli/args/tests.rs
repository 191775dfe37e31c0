//! `clawrun run --help` as the user reads it: grouped under [`HEADINGS`], in
//! their order, every flag under exactly one of them, with a short summary.
#![allow(clippy::expect_used)]

use clap::CommandFactory;

use super::{Cli, HEADINGS};

/// The `run` command as clap builds it (the global options propagated).
fn run_command() -> clap::Command {
    let mut cli = Cli::command();
    cli.build();
    cli.find_subcommand("run").expect("run").clone()
}

/// The help text, cut into its sections: (heading, the long flags listed under it).
fn sections(help: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in help.lines() {
        if let Some(heading) = line.strip_suffix(':').filter(|_| !line.starts_with(' ')) {
            out.push((heading.to_owned(), Vec::new()));
        } else if line.starts_with("  -") || line.starts_with("      --") {
            let long = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("--"))
                .map(|w| w.trim_end_matches(',').to_owned());
            let (_, flags) = out.last_mut().expect("a flag before any heading");
            flags.extend(long);
        }
    }
    out
}

fn check_grouped(help: &str) {
    let run = run_command();
    let got = sections(help);
    let names: Vec<&str> = got.iter().map(|(h, _)| h.as_str()).collect();
    let mut want = vec!["Options"];
    want.extend(HEADINGS);
    assert_eq!(names, want, "the headings, in order:\n{help}");
    assert_eq!(
        got[0].1,
        ["help"],
        "only --help is outside the headings:\n{help}"
    );
    for arg in run.get_arguments().filter(|a| !a.is_hide_set()) {
        let Some(long) = arg.get_long() else { continue };
        let under: Vec<&str> = got
            .iter()
            .filter(|(_, flags)| flags.iter().any(|f| f == long))
            .map(|(h, _)| h.as_str())
            .collect();
        let want = arg.get_help_heading().unwrap_or("Options");
        assert_eq!(
            under,
            [want],
            "--{long} is listed once, under its heading:\n{help}"
        );
    }
}

#[test]
fn run_help_is_grouped_under_the_headings_in_order() {
    check_grouped(&run_command().render_help().to_string());
    check_grouped(&run_command().render_long_help().to_string());
}

#[test]
fn every_run_flag_has_a_heading_and_a_one_line_summary() {
    let run = run_command();
    let mut seen = 0;
    for arg in run.get_arguments().filter(|a| !a.is_hide_set()) {
        let id = arg.get_id().as_str();
        if id == "help" {
            continue;
        }
        seen += 1;
        let heading = arg.get_help_heading();
        assert!(
            heading.is_some_and(|h| HEADINGS.contains(&h)),
            "{id}: heading {heading:?} is not one of {HEADINGS:?}"
        );
        let summary = arg.get_help().map(ToString::to_string).unwrap_or_default();
        assert!(
            !summary.is_empty() && summary.len() <= 100 && !summary.contains('\n'),
            "{id}: the `-h` summary is one short line (details go to the long help): {summary:?}"
        );
    }
    assert!(seen > 50, "run has its flags ({seen})");
}
