//! `native reproduce`: the paper's experiments and the table beside its numbers.

use crate::common::{native_on, refused, scratch, text};
use scaling_core::sweep::config::SweepConfig;
use std::fs;

/// `native reproduce`, cut down to the synthetic tanh experiment at small depths: both
/// optimisers' run directories with three seeds, and the table beside the paper's numbers.
#[test]
fn reproduce_runs_both_optimisers_and_writes_the_table() {
    let dir = scratch("reproduce");
    let out = dir.join("out");
    let args = [
        "reproduce",
        "--only",
        "synthetic-tanh",
        "--depth-max",
        "8",
        "--max-steps",
        "64",
        "--out",
        out.to_str().unwrap(),
    ];
    let output = native_on("cpu", &args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    for optimizer in ["sgd", "adam"] {
        let run = out.join(format!("synthetic-tanh-shared-{optimizer}"));
        let config: SweepConfig =
            toml::from_str(&fs::read_to_string(run.join("config.toml")).unwrap()).unwrap();
        assert_eq!(config.seeds, Some(vec![0, 1, 2]));
        assert!(run.join("depth_7/seed_2/result.json").exists());
        assert!(run.join("figures/max-norm.png").exists());
    }
    let md = fs::read_to_string(out.join("reproduction.md")).unwrap();
    for row in [
        "| synthetic-tanh-shared | sgd | A | ≈ 0.2 | smooth limit |",
        "| synthetic-tanh-shared | adam | A | ≈ 0.2 | smooth limit |",
    ] {
        assert!(md.contains(row), "{row} in {md}");
    }
    // Depths 3..8 (⌊1.2^n⌋ ≤ 8: ⌊1.2^12⌋ = ⌊8.9⌋ = 8), three seeds each.
    assert!(md.contains("of 18 |"), "18 networks per row: {md}");
    // The balance per depth, for both rows: depths 3..8.
    assert_eq!(md.matches("| L | δ² |").count(), 2, "{md}");
    assert!(md.contains("\n| 8 | "), "{md}");
    let html = fs::read_to_string(out.join("reproduction.html")).unwrap();
    assert!(html.contains("synthetic-tanh-shared-adam/figures/max-norm.png"));
    // A second run finds everything done and writes the same table.
    let output = native_on("cpu", &args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(fs::read_to_string(out.join("reproduction.md")).unwrap(), md);
    refused(
        &native_on(
            "cpu",
            &[
                "reproduce",
                "--only",
                "cifar",
                "--out",
                out.to_str().unwrap(),
            ],
        ),
        "no experiment",
    );
    fs::remove_dir_all(&dir).unwrap();
}
