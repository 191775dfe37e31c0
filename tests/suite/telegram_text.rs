//! HTML-safe splitting of long Telegram messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clawrun::channels::telegram_text::{
    TELEGRAM_MAX_MESSAGE_LEN, escape_html, split_html, split_plain, strip_html, truncate_html,
    utf16_len,
};
use pretty_assertions::assert_eq;

/// Tag names in a chunk must nest and close; returns the max depth seen.
fn check_balanced(chunk: &str) -> usize {
    let mut stack: Vec<String> = Vec::new();
    let mut depth = 0;
    let mut rest = chunk;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("tag cut in half") + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name));
        } else {
            stack.push(tag.split_whitespace().next().unwrap().to_owned());
            depth = depth.max(stack.len());
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed tags {stack:?}");
    depth
}

/// No entity is cut: every `&` starts a complete entity.
fn check_entities(chunk: &str) {
    for (i, _) in chunk.match_indices('&') {
        let tail = &chunk[i..];
        let semi = tail.find(';').expect("entity cut in half");
        assert!(semi <= 10, "entity cut: {:?}", &tail[..tail.len().min(12)]);
    }
}

#[test]
fn emoji_heavy_20k_html_splits_into_valid_chunks() {
    let mut html = String::from(
        "✅ <b>Claude Code task complete!</b>\n\n<b>Result</b> (20000 chars):\n<blockquote expandable>",
    );
    let mut n = 0;
    while html.chars().count() < 20_000 {
        html.push_str(&format!(
            "👨‍👩‍👧 step {n}: <i>édité 🎉🎉</i> a &lt; b &amp;&amp; c &gt; d <code>x{n}</code> <a href=\"https://e.x/{n}\">link</a> 🚀\n"
        ));
        n += 1;
    }
    html.push_str("</blockquote>\n<b>Full output:</b> <code>/tmp/out.txt</code>");
    assert!(html.chars().count() >= 20_000);

    let chunks = split_html(&html, TELEGRAM_MAX_MESSAGE_LEN);
    assert!(utf16_len(&html) > 5 * TELEGRAM_MAX_MESSAGE_LEN);
    assert!(chunks.len() >= 6, "{} chunks", chunks.len());
    for chunk in &chunks {
        assert!(
            utf16_len(chunk) <= TELEGRAM_MAX_MESSAGE_LEN,
            "{} units",
            utf16_len(chunk)
        );
        check_balanced(chunk);
        check_entities(chunk);
        assert!(!strip_html(chunk).is_empty());
    }
    // Every chunk after the first (inside the quote) reopens the blockquote with its attribute.
    assert!(
        chunks[1].starts_with("<blockquote expandable>"),
        "{:.80}",
        chunks[1]
    );
    let joined: String = chunks.iter().map(|c| strip_html(c)).collect();
    assert_eq!(joined, strip_html(&html));
}

#[test]
fn nested_tags_survive_a_cut_inside_them() {
    let html = format!("<b>bold <i>{}</i> end</b>", "😀".repeat(300));
    let chunks = split_html(&html, 128);
    assert!(chunks.len() > 3);
    for c in &chunks {
        assert!(utf16_len(c) <= 128);
        check_balanced(c);
    }
    assert!(chunks[1].starts_with("<b><i>"), "{}", chunks[1]);
    let joined: String = chunks.iter().map(|c| strip_html(c)).collect();
    assert_eq!(joined, strip_html(&html));
}

#[test]
fn plain_split_counts_utf16_and_keeps_all_text() {
    let text = "🎉".repeat(5000); // 10,000 UTF-16 units
    let chunks = split_plain(&text, TELEGRAM_MAX_MESSAGE_LEN);
    assert_eq!(chunks.len(), 3);
    assert!(
        chunks
            .iter()
            .all(|c| utf16_len(c) <= TELEGRAM_MAX_MESSAGE_LEN)
    );
    assert_eq!(chunks.concat(), text);
}

#[test]
fn truncate_reports_whether_it_cut() {
    let (head, cut) = truncate_html("<b>short</b>", 100);
    assert_eq!((head.as_str(), cut), ("<b>short</b>", false));
    let (head, cut) = truncate_html(&format!("<b>{}</b>", "word ".repeat(100)), 100);
    assert!(cut);
    assert!(head.ends_with("</b>") && utf16_len(&head) <= 100);
}

#[test]
fn escape_and_strip_are_inverse() {
    let raw = "if a<b && c>d then <tag> &amp; 😀";
    assert_eq!(
        escape_html(raw),
        "if a&lt;b &amp;&amp; c&gt;d then &lt;tag&gt; &amp;amp; 😀"
    );
    assert_eq!(strip_html(&escape_html(raw)), raw);
}
