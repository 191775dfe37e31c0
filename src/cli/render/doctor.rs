//! `doctor` as text: one line per check, its fix below it.

use crate::core::ops::doctor::{CheckStatus, DoctorReport};

/// The mark in front of a check's line.
fn mark(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Ok => "✓ ok  ",
        CheckStatus::Warn => "⚠ warn",
        CheckStatus::Fail => "✗ FAIL",
        CheckStatus::Skip => "- skip",
    }
}

/// The report for people.
pub fn report(report: &DoctorReport) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for c in &report.checks {
        out.push_str(&format!(
            "{} {:<width$}  {}\n",
            mark(c.status),
            c.name,
            c.detail
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("       {:<width$}  fix: {fix}\n", ""));
        }
    }
    let count = |s: CheckStatus| report.checks.iter().filter(|c| c.status == s).count();
    out.push_str(&format!(
        "{} ok, {} warn, {} fail, {} skip\n",
        count(CheckStatus::Ok),
        count(CheckStatus::Warn),
        count(CheckStatus::Fail),
        count(CheckStatus::Skip)
    ));
    out
}
