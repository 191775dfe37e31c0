//! Token usage on the wire: `usage` of a message or result, and the totals
//! of `modelUsage` (subagents included), normalized to [`Usage`].

use super::{ModelUsage, WireUsage};
use crate::core::model::events::Usage;

/// The sum of `modelUsage` over its models, normalized; `None` when absent or empty.
pub(super) fn model_usage_total(models: &[ModelUsage]) -> Option<Usage> {
    if models.is_empty() {
        return None;
    }
    let total = models.iter().fold(Usage::default(), |acc, m| {
        let wire = WireUsage {
            input_tokens: m.input_tokens,
            cache_creation_input_tokens: m.cache_creation_input_tokens,
            cache_read_input_tokens: m.cache_read_input_tokens,
            output_tokens: m.output_tokens,
            total_tokens: None,
        };
        add_usage(acc, wire.normalize())
    });
    Some(total)
}

/// Field-by-field sum.
pub(super) fn add_usage(a: Usage, b: Usage) -> Usage {
    Usage {
        input_tokens: a.input_tokens.saturating_add(b.input_tokens),
        cached_input_tokens: a.cached_input_tokens.saturating_add(b.cached_input_tokens),
        output_tokens: a.output_tokens.saturating_add(b.output_tokens),
    }
}

impl WireUsage {
    /// Normalized: cache reads and writes are part of the prompt.
    pub(super) fn normalize(self) -> Usage {
        let cached = self.cache_read_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: self
                .input_tokens
                .unwrap_or(0)
                .saturating_add(self.cache_creation_input_tokens.unwrap_or(0))
                .saturating_add(cached),
            cached_input_tokens: cached,
            output_tokens: self.output_tokens.unwrap_or(0),
        }
    }
}
