//! Text for people: errors on one line.

/// `text` on one line, cut to `max` characters with "…" when longer: errors never echo a
/// long value in full.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}
