//! Shards of a sweep: its units (depth × seed) dealt to N processes so that they finish
//! together. A unit's projected cost is L × Tmax (an update costs O(L) whatever the seed);
//! the units go largest first onto the least loaded shard (LPT: the longest shard is within
//! 4/3 of the best possible), ties broken by depth, seed and shard index, so that every
//! process computes the same assignment from the same config.

use crate::sweep::config::{Plan, Unit};
use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0 ≤ index < count; Slurm's array task id is the index).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// Most shards of one sweep.
pub const MAX_SHARDS: usize = 10_000;

/// Checks a number of shards given as `--shards`: 1 to [`MAX_SHARDS`].
pub fn check_count(count: usize) -> Result<usize, ShardError> {
    if (1..=MAX_SHARDS).contains(&count) {
        Ok(count)
    } else {
        Err(ShardError::Count(count))
    }
}

/// A number of shards, or a shard, that the command line cannot take.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ShardError {
    #[error("--shards {0}: expected 1 to {MAX_SHARDS}")]
    Count(usize),
    #[error("--shard {0:?}: expected i/N with 0 ≤ i < N ≤ {MAX_SHARDS}")]
    Shard(String),
}

impl FromStr for Shard {
    type Err = ShardError;

    /// Parses "i/N".
    fn from_str(text: &str) -> Result<Self, ShardError> {
        let bad = || ShardError::Shard(text.to_string());
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if check_count(count).is_err() || index >= count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Plan {
    /// The projected cost of a unit, L × Tmax, in layer-updates.
    pub fn cost(&self, unit: Unit) -> u128 {
        unit.depth as u128 * self.max_steps() as u128
    }

    /// The units of each of `count` shards, each shard's in the order of [`Plan::units`].
    pub fn shards(&self, count: usize) -> Vec<Vec<Unit>> {
        assert!(count >= 1, "at least one shard");
        let mut units = self.units();
        units.sort_by_key(|&u| (std::cmp::Reverse(self.cost(u)), u));
        let mut shards = vec![Vec::new(); count];
        let mut loads = vec![0u128; count];
        for unit in units {
            let lightest = (0..count).min_by_key(|&i| (loads[i], i)).expect("a shard");
            loads[lightest] += self.cost(unit);
            shards[lightest].push(unit);
        }
        shards.iter_mut().for_each(|s| s.sort());
        shards
    }

    /// The units of `shard`.
    pub fn shard_units(&self, shard: Shard) -> Vec<Unit> {
        self.shards(shard.count).swap_remove(shard.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::config::SweepConfig;

    fn plan(depths: Vec<usize>, seeds: Vec<u64>) -> Plan {
        SweepConfig {
            depths: Some(depths),
            seeds: Some(seeds),
            ..SweepConfig::default()
        }
        .plan()
        .unwrap()
    }

    #[test]
    fn shards_parse_as_index_over_count() {
        assert_eq!("1/4".parse(), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "1/0", "1", "a/2", "-1/2", "0/10001"] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains("expected i/N"), "{bad}: {err}");
        }
        assert_eq!(Shard { index: 2, count: 3 }.to_string(), "2/3");
        assert_eq!(check_count(4), Ok(4));
        for bad in [0, MAX_SHARDS + 1] {
            assert!(check_count(bad)
                .unwrap_err()
                .to_string()
                .contains("expected 1 to"));
        }
    }

    #[test]
    fn every_unit_goes_to_one_shard_and_the_loads_are_balanced() {
        let p = plan(vec![3, 5, 8, 13, 21, 34, 55, 89], vec![0, 1, 2]);
        for count in [1, 2, 3, 4, 7, 30] {
            let shards = p.shards(count);
            assert_eq!(shards.len(), count);
            let mut all: Vec<Unit> = shards.concat();
            all.sort();
            assert_eq!(all, p.units(), "{count} shards");
            let loads: Vec<u128> = shards
                .iter()
                .map(|s| s.iter().map(|&u| p.cost(u)).sum())
                .collect();
            // LPT: the longest shard is within 4/3 of the lower bound max(mean, largest unit).
            let total: u128 = loads.iter().sum();
            let largest = p.units().iter().map(|&u| p.cost(u)).max().unwrap();
            let bound = (total / count as u128).max(largest);
            assert!(
                *loads.iter().max().unwrap() * 3 <= bound * 4,
                "{count} shards: {loads:?}"
            );
            assert_eq!(shards, p.shards(count), "deterministic");
        }
    }

    #[test]
    fn two_shards_split_known_costs_exactly() {
        // Costs ∝ 8, 7, 6, 5, 4: 8 → 0, 7 → 1, 6 → 1 (load 7 < 8), 5 → 0 (8 < 13),
        // 4 → 0 (13 = 13, the lower index): {4, 5, 8} and {6, 7}.
        let p = plan(vec![4, 5, 6, 7, 8], vec![0]);
        let depths = |s: &[Unit]| s.iter().map(|u| u.depth).collect::<Vec<_>>();
        let shards = p.shards(2);
        assert_eq!(depths(&shards[0]), [4, 5, 8]);
        assert_eq!(depths(&shards[1]), [6, 7]);
        assert_eq!(p.shard_units(Shard { index: 1, count: 2 }), shards[1]);
    }
}
