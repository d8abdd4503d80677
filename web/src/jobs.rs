//! What the page's Web Workers compute ([`crate::worker`] carries the messages): the jobs a
//! worker takes and its replies, in MessagePack (its floats may be NaN or infinite, as a
//! diverged network's are, which JSON cannot carry), and a worker's state: the data set it was
//! sent (or made from its recipe) and the depths it trains.

use crate::run::{analyse, DepthReport, DepthRun};
use crate::transfer_run::{train_network, NetworkJob};
use burn::backend::NdArray;
use futures::FutureExt;
use scaling_core::analysis::Analysis;
use scaling_core::data::synthetic::{Dataset, SyntheticConfig};
use scaling_core::model::weights::Weights;
use scaling_core::phase::{Column, PhaseCell, PhaseConfig};
use scaling_core::sweep::config::SweepConfig;
use scaling_core::train::fused::FusedStepper;
use scaling_core::train::results::DepthResult;
use scaling_core::transfer::optimum::Outcome;
use serde::{Deserialize, Serialize};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

/// What a worker is asked to do.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Job {
    /// Keep this data set for the jobs that follow; no reply.
    Data(DataSource),
    /// Train a network of a transfer grid on the data set.
    Network(Box<NetworkJob>),
    /// Compute one (L, H) column of a phase diagram, on burn's NdArray (the probe reads its
    /// tensors back synchronously).
    Column { config: PhaseConfig, column: Column },
    /// Train the network of depth L of a sweep (started, from `config`, at its first chunk)
    /// from one loss measurement to the next, and on to the next ones until `seconds` have
    /// passed or it stops; report it, with its weights if asked or if it stopped.
    Chunk {
        config: Box<SweepConfig>,
        depth: usize,
        seconds: f64,
        weights: bool,
    },
    /// Core's analysis of trained networks of a sweep ([`analyse`]), on the data set.
    Analyse {
        config: Box<SweepConfig>,
        nets: Vec<(DepthResult, Weights)>,
    },
}

/// A view's data set as it travels to a worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum DataSource {
    /// The synthetic set's recipe: whoever needs the rows generates them, so that the page's
    /// thread does not (2,000 samples of the default settings integrate their ODE for about
    /// 30 ms in wasm, a long frame).
    Synthetic(SyntheticConfig),
    /// The rows themselves (MNIST's, from the page's asset), as safetensors bytes.
    Rows(Vec<u8>),
}

impl DataSource {
    /// The rows of `data`.
    pub fn rows(data: &Dataset) -> Self {
        Self::Rows(data.to_safetensors())
    }

    /// The data set: generated from its recipe, or read from its rows.
    pub fn dataset(&self) -> Result<Dataset, String> {
        match self {
            Self::Synthetic(c) => Ok(c.generate()),
            Self::Rows(bytes) => {
                Dataset::from_safetensors(bytes).map_err(|e| format!("a malformed data set: {e}"))
            }
        }
    }
}

/// A worker's answer to a job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Reply {
    /// The network's place in its grid and what it ended at.
    Network {
        index: usize,
        outcome: Outcome,
    },
    /// The cells of the column, one per β.
    Column(Vec<PhaseCell>),
    /// The depth after the chunk.
    Depth(Box<DepthReport>),
    Analysis(Box<Analysis>),
    /// Why the job could not be done.
    Failed(String),
}

/// A job or a reply as a message: MessagePack with the fields named, as JSON would have them
/// (so that untagged enums, such as a phase diagram's axes, and skipped fields read back).
pub fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(value).expect("jobs and replies serialise")
}

/// A job or a reply from its message.
pub fn from_bytes<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| format!("a malformed message: {e}"))
}

/// A worker's state: the data set it was sent, and the depths it trains, by L.
#[derive(Default)]
pub struct WorkerState {
    data: Option<Dataset>,
    runs: BTreeMap<usize, DepthRun<FusedStepper>>,
}

impl WorkerState {
    /// Does `job`; `seconds()` gives the time, for a depth's timing. `None` for a data set.
    pub fn answer(&mut self, job: Job, seconds: impl Fn() -> f64) -> Option<Reply> {
        if let Job::Data(source) = &job {
            return match source.dataset() {
                Ok(data) => {
                    self.data = Some(data);
                    None
                }
                Err(e) => Some(Reply::Failed(e)),
            };
        }
        Some(self.reply(job, seconds).unwrap_or_else(Reply::Failed))
    }

    fn reply(&mut self, job: Job, seconds: impl Fn() -> f64) -> Result<Reply, String> {
        if let Job::Column { config, column } = job {
            let cells = config.column::<NdArray<f32>>(column, &Default::default());
            return Ok(Reply::Column(cells));
        }
        let data = self.data.as_ref().ok_or("a job before its data set")?;
        Ok(match job {
            Job::Network(job) => Reply::Network {
                index: job.index,
                outcome: train_network(&job, data).map_err(|e| e.to_string())?,
            },
            Job::Chunk {
                config,
                depth,
                seconds: budget,
                weights,
            } => {
                let run = match self.runs.entry(depth) {
                    Entry::Occupied(run) => run.into_mut(),
                    Entry::Vacant(slot) => {
                        let plan = config.plan().map_err(|e| e.to_string())?;
                        slot.insert(DepthRun::new(&plan, data, depth, &()))
                    }
                };
                let ready = "the CPU step never waits";
                let start = seconds();
                loop {
                    run.advance(data, &seconds).now_or_never().expect(ready);
                    if run.stop.is_some() || seconds() - start >= budget {
                        break;
                    }
                }
                let mut report = run.report();
                if weights || run.stop.is_some() {
                    report.weights = Some(run.weights().now_or_never().expect(ready));
                }
                Reply::Depth(Box::new(report))
            }
            Job::Analyse { config, nets } => {
                let plan = config.plan().map_err(|e| e.to_string())?;
                Reply::Analysis(Box::new(analyse(&plan, data, nets)))
            }
            Job::Data(_) | Job::Column { .. } => unreachable!("answered above"),
        })
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::settings::{Form, Settings};
    use futures::executor::block_on;
    use scaling_core::sweep::config::DataPlan;

    /// A small sweep and its data set, made as the page makes it.
    fn sweep() -> (SweepConfig, Dataset) {
        let config = small();
        let data = recipe(&config).generate();
        (config, data)
    }

    /// The synthetic data set's recipe of `config`.
    fn recipe(config: &SweepConfig) -> SyntheticConfig {
        let DataPlan::Synthetic(c) = config.plan().unwrap().data else {
            unreachable!("synthetic")
        };
        c
    }

    fn small() -> SweepConfig {
        let mut s = Settings::default();
        for (key, value) in [
            ("n_samples", "64"),
            ("width", "4"),
            ("depths", "2,4,8"),
            ("batch_size", "16"),
            ("max_steps", "60"),
        ] {
            s.set(key, value);
        }
        s.config().unwrap()
    }

    /// Sends `job` as a message and reads the reply from its message, as the page does.
    fn ask(worker: &mut WorkerState, job: &Job) -> Option<Reply> {
        let job = from_bytes(&to_bytes(job)).unwrap();
        let reply = worker.answer(job, || 0.0)?;
        Some(from_bytes(&to_bytes(&reply)).unwrap())
    }

    #[test]
    fn a_worker_trains_a_depth_chunk_by_chunk_as_the_page_did() {
        let (config, data) = sweep();
        let plan = config.plan().unwrap();
        let mut worker = WorkerState::default();
        let chunk = Job::Chunk {
            config: Box::new(config.clone()),
            depth: 4,
            seconds: 0.0,
            weights: false,
        };
        let Some(Reply::Failed(e)) = ask(&mut worker, &chunk) else {
            panic!("a chunk before the data set")
        };
        assert!(e.contains("before its data set"), "{e}");
        // The worker makes the data set from its recipe, the same rows as the page's.
        let source = DataSource::Synthetic(recipe(&config));
        assert!(ask(&mut worker, &Job::Data(source)).is_none());
        let mut here = DepthRun::<FusedStepper>::new(&plan, &data, 4, &());
        loop {
            block_on(here.advance(&data, || 0.0));
            let Some(Reply::Depth(report)) = ask(&mut worker, &chunk) else {
                panic!("a depth's report")
            };
            assert_eq!(report.result, here.report().result);
            // Weights only when asked, and at the end.
            assert_eq!(report.weights.is_some(), here.stop.is_some());
            if let Some(w) = &report.weights {
                assert_eq!(*w, block_on(here.weights()));
                break;
            }
        }
        assert_eq!(here.steps(), 60);

        // With time to spare, one chunk trains a depth to its end: the same numbers.
        let whole = Job::Chunk {
            config: Box::new(config.clone()),
            depth: 8,
            seconds: f64::INFINITY,
            weights: false,
        };
        let Some(Reply::Depth(report)) = ask(&mut worker, &whole) else {
            panic!("a depth's report")
        };
        let mut here = DepthRun::<FusedStepper>::new(&plan, &data, 8, &());
        while here.stop.is_none() {
            block_on(here.advance(&data, || 0.0));
        }
        assert_eq!(report.result, here.report().result);
        assert_eq!(report.weights, Some(block_on(here.weights())));
    }

    #[test]
    fn a_phase_column_is_computed_as_the_page_did() {
        let config = crate::phase_settings::PhaseSettings::default()
            .config()
            .unwrap();
        let column = config.columns()[3];
        let job = Job::Column {
            config: config.clone(),
            column,
        };
        let Some(Reply::Column(cells)) = ask(&mut WorkerState::default(), &job) else {
            panic!("a column")
        };
        // The axes cross as they are (an untagged enum: a linspace is not a list of three).
        let want = config.column::<NdArray<f32>>(column, &Default::default());
        assert_eq!(cells.len(), 14);
        assert_eq!(cells, want);
    }

    #[test]
    fn a_worker_analyses_as_the_page_does_and_non_finite_numbers_survive() {
        let (config, data) = sweep();
        let plan = config.plan().unwrap();
        let nets: Vec<(DepthResult, Weights)> = plan
            .depths
            .iter()
            .map(|&l| {
                let mut run = DepthRun::<FusedStepper>::new(&plan, &data, l, &());
                while run.stop.is_none() {
                    block_on(run.advance(&data, || 0.0));
                }
                (run.result(), block_on(run.weights()))
            })
            .collect();
        let mut worker = WorkerState::default();
        let Some(Reply::Failed(e)) = ask(&mut worker, &Job::Data(DataSource::Rows(vec![1, 2])))
        else {
            panic!("malformed rows refused")
        };
        assert!(e.contains("malformed data set"), "{e}");
        assert!(ask(&mut worker, &Job::Data(DataSource::rows(&data))).is_none());
        let job = Job::Analyse {
            config: Box::new(config),
            nets: nets.clone(),
        };
        let Some(Reply::Analysis(analysis)) = ask(&mut worker, &job) else {
            panic!("an analysis")
        };
        assert_eq!(*analysis, analyse(&plan, &data, nets.clone()));
        // A diverged network's weights cross as they are.
        let mut weights = nets[0].1.clone();
        weights.a[0] = f32::NAN;
        weights.b[0] = f32::INFINITY;
        let back: Weights = from_bytes(&to_bytes(&weights)).unwrap();
        assert!(back.a[0].is_nan() && back.b[0] == f32::INFINITY);
        assert_eq!(back.a[1..], weights.a[1..]);
    }
}
