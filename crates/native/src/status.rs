//! `native plan` and `native status`: how a sweep's networks are dealt to shards, and where
//! a run directory stands: networks done, running (the holder of the unit's lock),
//! checkpointed (the step reached) and not started, and the compute time left, projected
//! from the time per layer-update the finished networks took.

use crate::files::read_json;
use crate::lock;
use crate::sweep::read_config;
use crate::unit::{label, read_checkpoint};
use anyhow::{Context, Result};
use scaling_core::sweep::config::{Plan, SweepConfig, Unit};
use scaling_core::sweep::run_dir::{RunDir, UnitDir};
use scaling_core::train::results::DepthResult;
use std::path::Path;

/// Prints each of `shards` shards' networks and projected cost (L × Tmax, layer-updates),
/// for the sweep of `config` (the built-in quick sweep without).
pub fn plan(config: Option<&Path>, shards: usize) -> Result<()> {
    let plan = match config {
        Some(path) => read_config(path)?,
        None => SweepConfig::default(),
    }
    .plan()?;
    scaling_core::sweep::shard::check_count(shards).map_err(anyhow::Error::msg)?;
    let total: u128 = plan.units().iter().map(|&u| plan.cost(u)).sum();
    println!(
        "{} networks (depths × seeds), {:.3e} layer-updates (L × Tmax) in all, over {shards} shards:",
        plan.units().len(),
        total as f64
    );
    println!(
        "{:>7} {:>8} {:>12} {:>7}  networks",
        "shard", "networks", "cost", "share"
    );
    for (i, units) in plan.shards(shards).iter().enumerate() {
        let cost: u128 = units.iter().map(|&u| plan.cost(u)).sum();
        let names: Vec<String> = units.iter().map(|&u| short(&plan, u)).collect();
        println!(
            "{:>7} {:>8} {:>12.3e} {:>6.1}%  {}",
            format!("{i}/{shards}"),
            units.len(),
            cost as f64,
            100.0 * cost as f64 / total.max(1) as f64,
            names.join(" ")
        );
    }
    Ok(())
}

/// "L" or "L/s" (depth / seed) for the table.
fn short(plan: &Plan, unit: Unit) -> String {
    if plan.per_seed_dirs {
        format!("{}/{}", unit.depth, unit.seed)
    } else {
        unit.depth.to_string()
    }
}

/// Where one network stands.
enum State {
    Done(DepthResult),
    /// Held by a live process (its description); the step of its last checkpoint.
    Running(String, usize),
    Checkpointed(usize),
    NotStarted,
}

/// Prints where the run directory `dir` stands.
pub fn status(dir: &Path) -> Result<()> {
    let run_dir = RunDir::new(dir);
    let config = read_config(&run_dir.config())
        .with_context(|| format!("{} is not a run directory", dir.display()))?;
    let plan = config.plan()?;
    let max_steps = plan.max_steps();
    let (mut counts, mut seconds, mut work_done, mut work_left) = ([0; 4], 0.0, 0.0, 0.0);
    for unit in plan.units() {
        let state = state(&run_dir.unit(&plan, unit))?;
        let name = label(&plan, unit);
        let layers = unit.depth as f64;
        match &state {
            State::Done(r) => {
                seconds += r.wall_time_s;
                work_done += layers * r.outcome.steps as f64;
            }
            State::Running(who, step) => {
                let saved = match step {
                    0 => "no checkpoint yet".to_string(),
                    step => format!("checkpointed at step {step} of {max_steps}"),
                };
                println!("{name}: running, {who}; {saved}");
                work_left += layers * max_steps.saturating_sub(*step) as f64;
            }
            State::Checkpointed(step) => {
                println!("{name}: checkpointed at step {step} of {max_steps}, not running");
                work_left += layers * max_steps.saturating_sub(*step) as f64;
            }
            State::NotStarted => work_left += layers * max_steps as f64,
        }
        counts[state.index()] += 1;
    }
    println!(
        "{} networks: {} done, {} running, {} checkpointed, {} not started",
        plan.units().len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3]
    );
    println!("{}", time_left(seconds, work_done, work_left));
    Ok(())
}

impl State {
    fn index(&self) -> usize {
        match self {
            State::Done(_) => 0,
            State::Running(..) => 1,
            State::Checkpointed(_) => 2,
            State::NotStarted => 3,
        }
    }
}

/// Where the network of `unit_dir` stands.
fn state(unit_dir: &UnitDir) -> Result<State> {
    let result = unit_dir.result();
    if result.exists() {
        return Ok(State::Done(read_json(&result)?));
    }
    let step = read_checkpoint(unit_dir)?.map(|c| c.step);
    Ok(match (lock::holder(&unit_dir.lock()), step) {
        (Some(holder), step) => State::Running(holder.describe(), step.unwrap_or(0)),
        (None, Some(step)) => State::Checkpointed(step),
        (None, None) => State::NotStarted,
    })
}

/// The compute time left, at the seconds per layer-update the finished networks took
/// (an upper bound: a network may converge before Tmax).
fn time_left(seconds: f64, work_done: f64, work_left: f64) -> String {
    if work_left == 0.0 {
        return "nothing left to train".into();
    }
    if work_done == 0.0 {
        return format!("{work_left:.3e} layer-updates left; their time is projected once a network has finished");
    }
    let rate = seconds / work_done;
    format!(
        "about {} of compute left at most ({work_left:.3e} layer-updates at the {:.3} µs each that the finished networks took), shared by the processes that train them",
        human(rate * work_left),
        rate * 1e6
    )
}

/// Seconds as "2 h 05 min", "3 min 20 s" or "12 s".
fn human(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_is_projected_from_the_finished_networks() {
        assert_eq!(human(12.4), "12 s");
        assert_eq!(human(200.0), "3 min 20 s");
        assert_eq!(human(7500.0), "2 h 05 min");
        assert_eq!(time_left(1.0, 1.0, 0.0), "nothing left to train");
        assert!(time_left(0.0, 0.0, 5.0).contains("once a network has finished"));
        // 2 s for 1e6 layer-updates: 2 µs each, 3e6 left → 6 s.
        let line = time_left(2.0, 1e6, 3e6);
        assert!(line.starts_with("about 6 s of compute left"), "{line}");
        assert!(line.contains("2.000 µs"), "{line}");
    }
}
