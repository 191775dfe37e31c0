//! Follow-ups queued with `clawrun respond` that the run ended before
//! running (it was killed, timed out or failed first), as one line for the
//! result message, the wake and `clawrun kill`: nothing the human or the
//! orchestrator asked for is dropped without a word.

use super::text::preview;

/// Characters of each follow-up quoted.
const FOLLOWUP_PREVIEW_CHARS: usize = 100;

/// `1 queued follow-up was not run: "add tests"` (each quoted, cut), or
/// `None` when every queued follow-up ran.
pub fn followups_not_run_line(followups: &[String]) -> Option<String> {
    let quoted: Vec<String> = followups
        .iter()
        // On one line: a fact of the result message, a line of the wake.
        .map(|f| f.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|f| format!("\"{}\"", preview(&f, FOLLOWUP_PREVIEW_CHARS)))
        .collect();
    match quoted.len() {
        0 => None,
        1 => Some(format!("1 queued follow-up was not run: {}", quoted[0])),
        n => Some(format!(
            "{n} queued follow-ups were not run: {}",
            quoted.join("; ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_ups_not_run_are_counted_and_quoted() {
        assert_eq!(followups_not_run_line(&[]), None);
        assert_eq!(
            followups_not_run_line(&["add tests".to_owned()]).as_deref(),
            Some("1 queued follow-up was not run: \"add tests\"")
        );
        assert_eq!(
            followups_not_run_line(&["a\nb".to_owned(), "c".to_owned()]).as_deref(),
            Some("2 queued follow-ups were not run: \"a b\"; \"c\"")
        );
    }
}
