//! `native --help` against docs/command-line.md: every command and option is documented.

use crate::common::{native, text};
use std::fs;
use std::path::Path;

/// The long options of a `--help` text: every `--name` it lists.
fn long_options(help: &str) -> Vec<String> {
    let mut options: Vec<String> = help
        .split(|c: char| c.is_whitespace() || c == '[' || c == ',' || c == '=')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        })
        .collect();
    options.retain(|o| o != "--help" && o != "--version");
    options.sort();
    options.dedup();
    options
}

#[test]
fn the_command_line_page_covers_every_command_and_option() {
    let page = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/command-line.md"),
    )
    .unwrap();
    let help = text(&native(&["--help"]).stdout).to_string();
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|&c| c != "help")
        .collect();
    assert!(commands.len() >= 10, "{help}");
    for option in long_options(&help) {
        assert!(
            page.contains(&option),
            "docs/command-line.md lacks {option}"
        );
    }
    for command in commands {
        assert!(
            page.contains(&format!("\n  {command} ")) || page.contains(&format!("\n  {command}\n")),
            "docs/command-line.md lacks the command {command}"
        );
        let sub = text(&native(&[command, "--help"]).stdout).to_string();
        for option in long_options(&sub) {
            assert!(
                page.contains(&option),
                "docs/command-line.md lacks {command} {option}"
            );
        }
    }
}
