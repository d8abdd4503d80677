//! End-to-end tests of the `native` command line, one file per command: sweeps, their files,
//! resume, locks and bad input (sweep); phase diagrams (phase); analyses and reports
//! (analyze); the paper's reproduction (reproduce); learning-rate grids (transfer); shards
//! (plan); benchmarks and the fused steps (bench); and the command-line page against
//! `--help` (help).

mod common;

mod analyze;
mod bench;
mod help;
mod phase;
mod plan;
mod reproduce;
mod sweep;
mod transfer;
