//! The run's warnings that matter to the agent (a session log that could
//! not be read, so denials are not reported; …), carried in the run record
//! ([`crate::core::store::run::RunRecord::warnings`]) and shown as one
//! `Warnings:` line in the result message and the wake, not only in logs.

/// Most warnings quoted; the rest are counted.
const WARNINGS_SHOWN: usize = 3;

/// The warnings on one line, `; `-separated (at most three,
/// then `+N more`), or `None` when there are none.
pub fn warnings_line(warnings: &[String]) -> Option<String> {
    if warnings.is_empty() {
        return None;
    }
    let shown: Vec<String> = warnings
        .iter()
        .take(WARNINGS_SHOWN)
        .map(|w| w.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let more = warnings.len().saturating_sub(WARNINGS_SHOWN);
    let mut line = shown.join("; ");
    if more > 0 {
        line.push_str(&format!("; +{more} more"));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_one_line_and_capped() {
        assert_eq!(warnings_line(&[]), None);
        assert_eq!(warnings_line(&["a\nb".to_owned()]).as_deref(), Some("a b"));
        let many: Vec<String> = (1..=5).map(|i| format!("w{i}")).collect();
        assert_eq!(warnings_line(&many).as_deref(), Some("w1; w2; w3; +2 more"));
    }
}
