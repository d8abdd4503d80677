//! The pieces every HTML report shares: the page head and its style, escaping, inline SVG.

use anyhow::{Context, Result};
use std::fs;
use std::path::Path;

/// `<`, `>`, `&` and quotes escaped.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG file's markup, to inline in the page.
pub(crate) fn inline_svg(path: &Path) -> Result<String> {
    let svg = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let start = svg
        .find("<svg")
        .with_context(|| format!("{} is not an SVG", path.display()))?;
    Ok(svg[start..].to_string())
}

/// The start of a report page up to `<body>`: its title, and the style every report shares
/// followed by the page's own rules.
pub(crate) fn page_head(title: &str, style: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
td, th {{ border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }}
th {{ background: #f3f3f3; }} svg {{ max-width: 100%; height: auto; }}
pre {{ background: #f6f6f6; padding: 1em; overflow-x: auto; }}
{style}
</style></head><body>
"#,
        escape(title)
    )
}
