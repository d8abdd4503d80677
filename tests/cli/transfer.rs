//! `native transfer`: a learning-rate grid trained in shards, resumed, analysed and refused
//! when bad.

use crate::common::{native, refused, scratch, text, text_of};
use scaling_core::transfer::results::TransferResults;
use std::fs;
use std::path::Path;

/// Two parametrizations × 4 base η (the largest diverges) × 3 depths × 2 seeds, tiny and
/// linear (a ReLU net at a huge η dies instead: its units go dark, its loss stays finite).
const GRID: &str = r#"
parametrizations = ["standard", "depth-mup"]
lr_min = 0.05
lr_max = 50.0
lr_points = 4

[sweep]
n_samples = 200
n_test = 40
width = 4
activation = "linear"
depths = [2, 4, 8]
seeds = [0, 1]
batch_size = 50
max_steps = 60
log_every = 30
"#;

fn transfer(config: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "transfer",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(extra);
    native(&args)
}

fn results(out: &Path) -> TransferResults {
    serde_json::from_str(&fs::read_to_string(out.join("transfer.json")).unwrap()).unwrap()
}

#[test]
fn a_grid_trained_in_shards_equals_one_trained_whole_and_resumes_to_the_same_numbers() {
    let dir = scratch("transfer");
    let config = dir.join("grid.toml");
    fs::write(&config, GRID).unwrap();

    let sharded = dir.join("sharded");
    let first = transfer(&config, &sharded, &["--shard", "0/2"]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).contains("not every network of the grid has finished"));
    assert!(!sharded.join("transfer.json").exists());
    let second = transfer(&config, &sharded, &["--shard", "1/2"]);
    assert!(second.status.success(), "{}", text(&second.stderr));

    let whole = dir.join("whole");
    let run = transfer(&config, &whole, &[]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let (a, b) = (results(&sharded), results(&whole));
    assert_eq!(a, b, "the sharded grid differs from the whole one");
    let t = &b.parametrizations[0].transfer;
    assert_eq!(t.outcomes.len(), 4 * 3 * 2);
    assert!(
        t.outcomes.iter().any(|o| o.diverged()),
        "η = 50 should diverge on the standard parametrization"
    );
    assert_eq!(b.parametrizations[1].transfer.kappa, 0.0);

    // Run again: every network is skipped and the numbers are the same.
    let again = transfer(&config, &whole, &[]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(text(&again.stdout).contains("done before, skipped"));
    assert_eq!(results(&whole), b);
    for name in [
        "transfer-standard",
        "transfer-depth-mup",
        "optimum",
        "best-loss",
    ] {
        assert!(
            whole.join("figures").join(format!("{name}.png")).exists(),
            "{name}"
        );
    }
    let report = fs::read_to_string(whole.join("report.html")).unwrap();
    assert!(report.contains("κ*") && report.contains("depth-mup") && report.contains("<svg"));
    // `native report` of the grid's directory redoes it.
    let report = native(&["report", whole.to_str().unwrap()]);
    assert!(report.status.success(), "{}", text_of(&report));
}

#[test]
fn bad_grids_are_refused_in_one_line_with_nothing_written() {
    let dir = scratch("transfer-bad");
    let config = dir.join("grid.toml");
    let out = dir.join("out");
    for (grid, expected) in [
        (format!("{GRID}lr = 0.1\n"), "`lr`: [sweep] may not set it"),
        (
            GRID.replace("lr_points = 4", "lr_points = 1"),
            "`lr_points`",
        ),
        (GRID.replace("[2, 4, 8]", "[2, 4]"), "`sweep.depths`"),
        (GRID.replace("\"depth-mup\"", "\"mup\""), "grid.toml"),
    ] {
        fs::write(&config, grid).unwrap();
        let output = transfer(&config, &out, &[]);
        refused(&output, expected);
        assert_eq!(
            text(&output.stderr).lines().count(),
            1,
            "{}",
            text(&output.stderr)
        );
        assert!(!out.exists(), "{expected}: wrote {}", out.display());
    }
    // The command line's checkpoint interval is checked with the grid.
    fs::write(&config, GRID).unwrap();
    refused(
        &transfer(&config, &out, &["--checkpoint-every", "0"]),
        "checkpoint_every",
    );
    assert!(!out.exists());
    // Another grid into a directory that holds one.
    fs::write(&config, GRID.replace("max_steps = 60", "max_steps = 30")).unwrap();
    let output = transfer(&config, &out, &["--no-report"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    fs::write(&config, GRID.replace("max_steps = 60", "max_steps = 40")).unwrap();
    refused(&transfer(&config, &out, &[]), "holds another grid");
    refused(
        &native(&["transfer", "--out", dir.join("empty").to_str().unwrap()]),
        "--config is needed",
    );
}
