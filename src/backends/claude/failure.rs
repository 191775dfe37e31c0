//! What a failed `result` was: the usage-limit text of older versions, and
//! the [`FailureKind`] a failure's message, errors and API status say.

use std::borrow::Cow;

use super::{RESUME_NOT_FOUND, to_u16};
use crate::backends::wire;
use crate::core::model::events::FailureKind;

/// The `"… usage limit reached|<unix seconds>"` result text of older Claude Code
/// versions: the message before the bar and the reset time.
pub(super) fn usage_limit_text(text: &str) -> Option<(String, i64)> {
    let (message, epoch) = text.trim().rsplit_once('|')?;
    let resets_at = epoch.trim().parse::<i64>().ok()?;
    wire::contains_ignore_ascii_case(message, "limit")
        .then(|| (message.trim().to_string(), resets_at))
}

pub(super) fn classify_failure(
    message: &str,
    errors: &[Cow<'_, str>],
    status: Option<u64>,
) -> FailureKind {
    let mentions =
        |needle: &str| message.contains(needle) || errors.iter().any(|e| e.contains(needle));
    if mentions(RESUME_NOT_FOUND) {
        return FailureKind::ResumeNotFound;
    }
    if status == Some(429)
        || ["rate limit", "rate_limit", "usage limit"]
            .iter()
            .any(|words| wire::contains_ignore_ascii_case(message, words))
    {
        return FailureKind::RateLimit;
    }
    match status {
        Some(status) => FailureKind::Api {
            status: to_u16(status),
        },
        None => FailureKind::Other,
    }
}
