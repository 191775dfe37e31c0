//! Registry sessions as text.

use crate::core::model::text::fmt_usd;
use crate::core::store::registry::Entry;

/// Sessions as a table, with the registry's id field (`session_id`,
/// `thread_id`) as the first column.
pub fn table(entries: &[Entry], id_field: &str) -> String {
    super::session_table::render_table(entries, id_field)
}

/// One session, field by field.
///
/// # Errors
/// The entry does not serialize (it always does).
pub fn entry(e: &Entry) -> Result<String, serde_json::Error> {
    let v = serde_json::to_value(e)?;
    let mut out = String::new();
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            let shown = match v {
                serde_json::Value::Number(n) if k == "cost_usd" => {
                    n.as_f64().map_or_else(|| n.to_string(), fmt_usd)
                }
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.push_str(&format!("{k:>16}: {shown}\n"));
        }
    }
    Ok(out)
}
