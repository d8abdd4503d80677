//! `native plan` and sharded sweeps (`--shard i/N`), with `native status` on the result.

use crate::common::{native, scratch, text, text_of, TINY};
use scaling_core::train::results::Summary;
use std::fs;

#[test]
fn plan_deals_networks_to_shards_and_bad_shards_are_refused() {
    let dir = scratch("plan");
    let config = dir.join("c.toml");
    fs::write(
        &config,
        TINY.replace("depths = [2, 6]", "depths = [2, 4, 6, 8]"),
    )
    .unwrap();
    let plan = native(&[
        "plan",
        "--config",
        config.to_str().unwrap(),
        "--shards",
        "2",
    ]);
    let said = text(&plan.stdout);
    // Costs ∝ 8, 6, 4, 2: {8, 2} and {6, 4}, 50% each.
    assert!(
        said.contains("0/2        2") && said.contains("50.0%  2 8"),
        "{said}"
    );
    assert!(
        said.contains("1/2        2") && said.contains("50.0%  4 6"),
        "{said}"
    );
    for bad in ["2/2", "x", "1/0"] {
        let out = native(&[
            "sweep",
            "--config",
            config.to_str().unwrap(),
            "--out",
            dir.join("r").to_str().unwrap(),
            "--shard",
            bad,
        ]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("expected i/N"),
            "{}",
            text(&out.stderr)
        );
    }
    // One shard alone leaves the sweep unfinished and says so; the other completes it.
    let run = dir.join("run");
    for (shard, complete) in [("1/2", false), ("0/2", true)] {
        let out = native(&[
            "sweep",
            "--config",
            config.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
            "--shard",
            shard,
            "--no-report",
        ]);
        assert!(out.status.success(), "{}", text_of(&out));
        assert_eq!(
            run.join("summary.json").exists(),
            complete,
            "after shard {shard}"
        );
    }
    let summary: Summary =
        serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary.depths.iter().map(|s| s.depth).collect::<Vec<_>>(),
        [2, 4, 6, 8]
    );
    let status = text(&native(&["status", run.to_str().unwrap()]).stdout);
    assert!(
        status.contains("4 networks: 4 done, 0 running, 0 checkpointed, 0 not started"),
        "{status}"
    );
    // summary.json is derived: the analysis writes it when it is missing.
    fs::remove_file(run.join("summary.json")).unwrap();
    assert!(native(&["analyze", run.to_str().unwrap()]).status.success());
    assert!(run.join("summary.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}
