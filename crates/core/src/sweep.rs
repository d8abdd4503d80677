//! A sweep over depths and its bookkeeping: the config a user writes and its checked plan
//! ([`config`]), depth grids, resource estimates ([`budget`]), shards for clusters, the run
//! directory ([`run_dir`]), and the paper's experiments as sweeps ([`reproduce`]).
//!
//! May import: io, model, data, train, analysis, conv.

pub mod budget;
pub mod config;
pub mod grid;
pub mod reproduce;
pub mod run_dir;
pub mod shard;
