//! `gc` as text, and byte counts for people.

use crate::core::ops::gc::GcReport;

/// A few lines for people about a pass.
pub fn report(report: &GcReport) -> String {
    let verb = if report.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut out = format!(
        "{}: {verb} {} run director{} ({}) and {} registry entr{}\n",
        if report.dry_run { "gc (dry run)" } else { "gc" },
        report.runs_removed,
        if report.runs_removed == 1 { "y" } else { "ies" },
        format_bytes(report.bytes_freed),
        report.registry_entries_removed,
        if report.registry_entries_removed == 1 {
            "y"
        } else {
            "ies"
        },
    );
    out.push_str(&format!(
        "  retention: runs finished more than {} day(s) ago, registry entries unused for more than {} day(s)\n",
        report.run_days, report.registry_days
    ));
    let k = &report.kept_runs;
    let run_reasons = [
        (k.running, "running"),
        (
            k.pending_outbox,
            "with undelivered messages (`clawrun outbox flush` delivers them)",
        ),
        (k.recent, "recent"),
        (k.unreadable, "unreadable"),
        (k.not_a_run, "not run directories (left alone)"),
        (
            k.worktree,
            "with a worktree that has unmerged commits or uncommitted changes",
        ),
    ];
    out.push_str(&format!("  kept runs: {}\n", reasons(&run_reasons)));
    let e = &report.kept_entries;
    let entry_reasons = [
        (e.running, "running"),
        (e.run_dir_exists, "run directory still present"),
        (e.recent, "recent"),
        (e.undated, "no readable last_accessed"),
    ];
    out.push_str(&format!(
        "  kept registry entries: {}\n",
        reasons(&entry_reasons)
    ));
    for id in &report.removed_runs {
        out.push_str(&format!("  - run {id}\n"));
    }
    for id in &report.node_runs_forgotten {
        out.push_str(&format!("  - node run {id} (no longer listed here)\n"));
    }
    for r in &report.removed_entries {
        out.push_str(&format!("  - {} session {}\n", r.backend, r.id));
    }
    for w in &report.worktrees_removed {
        out.push_str(&format!("  - worktree {} ({verb})\n", w.display()));
    }
    for w in &report.kept_worktrees {
        out.push_str(&format!(
            "  🌿 kept worktree {} of run {} ({}): {}\n",
            w.branch,
            w.run_id,
            w.path.display(),
            w.reason
        ));
    }
    for err in &report.errors {
        out.push_str(&format!("  ⚠ {err}\n"));
    }
    out
}

fn reasons(items: &[(usize, &str)]) -> String {
    let parts: Vec<String> = items
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `1234567` → `1.2 MiB`; below 1 KiB, plain bytes.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_human() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(3 * 1024 * 1024), "3.0 MiB");
    }
}
