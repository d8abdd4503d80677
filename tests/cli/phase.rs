//! `native phase`: the heat maps of a phase diagram, resumed column by column.

use crate::common::{native, refused, scratch, text};
use scaling_core::phase::PhaseResults;
use std::fs;

#[test]
fn phase_writes_heat_maps_and_resumes_by_column() {
    let dir = scratch("phase");
    let config = dir.join("phase.toml");
    fs::write(
        &config,
        "width = 8\ndepths = [10, 40]\nbetas = [0.25, 0.5, 1.0]\n\
         hursts = { from = 0.3, to = 0.7, count = 3 }\nn_networks = 2\nn_inputs = 3\n",
    )
    .unwrap();
    let out = dir.join("out");
    let run = || {
        native(&[
            "phase",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let first = run();
    assert!(first.status.success(), "{}", text(&first.stderr));
    let json = out.join("phase.json");
    let full: PhaseResults = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(full.cells.len(), 2 * 3 * 3);
    for name in [
        "phase-forward-L10",
        "phase-backward-L40",
        "phase-forward-trend",
    ] {
        assert!(
            out.join("figures").join(format!("{name}.png")).exists(),
            "{name}"
        );
    }
    let report = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(report.contains("Where the transition lies") && report.contains("<svg"));
    // Interrupted after some columns: the rerun computes the rest, to the same numbers.
    let mut partial = full.clone();
    partial.cells.retain(|c| c.depth == 10);
    fs::write(&json, serde_json::to_string(&partial).unwrap()).unwrap();
    let second = run();
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(
        text(&second.stdout).contains("3 columns done"),
        "{}",
        text(&second.stdout)
    );
    let resumed: PhaseResults = serde_json::from_str(&fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(resumed, full);
    // Another diagram into the same directory, and bad keys, are refused in one line.
    fs::write(&config, "width = 9\n").unwrap();
    refused(&run(), "holds another phase diagram");
    fs::write(&config, "hursts = [0.5, 1.2]\n").unwrap();
    refused(&run(), "hursts must be in (0, 1)");
    fs::write(&config, "betas = 3\n").unwrap();
    refused(&run(), "phase.toml:1:");
    // Marion et al.'s res-3 block, with the seed from the command line.
    fs::write(
        &config,
        "width = 6\ndepths = [20]\nbetas = [0.5]\nhursts = [0.5]\nn_networks = 2\n\
         n_inputs = 2\nactivation = \"relu\"\nblock = \"res3\"\n",
    )
    .unwrap();
    let res3 = dir.join("res3");
    let seeded = native(&[
        "phase",
        "--config",
        config.to_str().unwrap(),
        "--out",
        res3.to_str().unwrap(),
        "--seed",
        "3",
    ]);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let json = fs::read_to_string(res3.join("phase.json")).unwrap();
    let results: PhaseResults = serde_json::from_str(&json).unwrap();
    assert_eq!((results.config.seed, results.cells.len()), (3, 1));
    assert_eq!(results.config.block, scaling_core::phase::Block::Res3);
    fs::remove_dir_all(&dir).unwrap();
}
