//! The text table of `clawrun sessions`.

use crate::core::store::registry::Entry;
use crate::core::store::timefmt;

/// A text table for `clawrun sessions`: id, status, label, age (since
/// `last_accessed`), cost, project. `id_field` names the id column.
pub fn render_table(entries: &[Entry], id_field: &str) -> String {
    render_table_at(entries, id_field, timefmt::now_micros())
}

/// Most characters of a label shown in the table.
const LABEL_WIDTH: usize = 32;

fn render_table_at(entries: &[Entry], id_field: &str, now_micros: i64) -> String {
    let header = [
        id_field.to_uppercase(),
        "STATUS".into(),
        "LABEL".into(),
        "AGE".into(),
        "COST".into(),
        "PROJECT".into(),
    ];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let label = match e.label.as_deref().map(clean_cell) {
                Some(l) if l.chars().count() > LABEL_WIDTH => {
                    let mut s: String = l.chars().take(LABEL_WIDTH - 1).collect();
                    s.push('…');
                    s
                }
                Some(l) if !l.is_empty() => l,
                Some(_) | None => "-".to_owned(),
            };
            let age = e.last_accessed_micros().map_or_else(
                || "?".to_owned(),
                |t| timefmt::format_age((now_micros - t) / 1_000_000),
            );
            let cost = crate::core::model::text::fmt_cost(e.cost_usd);
            [
                clean_cell(&e.id),
                e.status
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |s| clean_cell(s.as_str())),
                label,
                age,
                cost,
                e.project_dir
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), clean_cell),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Control characters (a newline in a label) would break the table.
fn clean_cell(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::core::store::registry::Status;

    #[test]
    fn table_shows_dashes_for_missing_and_truncates_labels() {
        let mut a = Entry::new("abc", "session_id");
        a.label = Some("x".repeat(40));
        a.status = Some(Status::Completed);
        a.cost_usd = Some(0.123);
        a.project_dir = Some("/p".into());
        a.last_accessed = timefmt::format_local_iso(1_000_000_000_000_000);
        let b = Entry::new("d\ne", "session_id");
        let t = render_table_at(&[a, b], "session_id", 1_000_000_000_000_000 + 7_200_000_000);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[0].starts_with("SESSION_ID  STATUS"), "{t}");
        assert!(lines[1].contains(&format!("{}…", "x".repeat(31))), "{t}");
        assert!(
            lines[1].contains(" 2h ") && lines[1].contains("$0.12") && lines[1].ends_with("/p"),
            "{t}"
        );
        assert!(
            lines[2].starts_with("d e ") && lines[2].contains(" ? "),
            "{t}"
        );
    }
}
