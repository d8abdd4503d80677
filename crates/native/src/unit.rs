//! Training one unit (a depth × seed) of a fully connected sweep into its directory, with
//! checkpoints: every `checkpoint_every` seconds, and when a signal arrives (see
//! [`crate::interrupt`]), the training pauses after an update and writes
//! checkpoint.safetensors ([`Checkpoint`]) atomically; a rerun resumes from it with the
//! same updates, so that the final weights equal, bit for bit, those of a training never
//! stopped. result.json, written last, marks the unit finished; the checkpoint is then
//! removed.

use crate::files::{write_atomic, write_json};
use crate::interrupt::{self, Interrupted, Section};
use crate::progress::Progress;
use anyhow::{Context, Result};
use scaling_core::data::synthetic::Dataset;
use scaling_core::sweep::config::{Plan, Unit};
use scaling_core::sweep::run_dir::UnitDir;
use scaling_core::train::checkpoint::Checkpoint;
use scaling_core::train::fused::FusedStepper;
use scaling_core::train::results::{DepthResult, TrainOutcome};
use scaling_core::train::session::{train_until, BurnStepper, Session, Stepper};
use scaling_core::Scan;
use std::fs;
use std::time::{Duration, Instant};

/// Reads the unit's checkpoint, if it has one.
pub fn read_checkpoint(dir: &UnitDir) -> Result<Option<Checkpoint>> {
    let path = dir.checkpoint();
    if !path.exists() {
        return Ok(None);
    }
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Checkpoint::from_safetensors(&bytes)
        .map(Some)
        .with_context(|| {
            format!(
                "{} is malformed (remove it to train the unit from its start)",
                path.display()
            )
        })
}

/// How one unit trains: with the fused CPU step, its threads taken from this many cores (see
/// [`scaling_core::train::fused::threads_for`]), or on the burn backend named.
pub enum Engine<'a> {
    Fused { cores: usize },
    Burn(&'a str),
}

/// One unit's training, with what it needs to checkpoint and report.
pub struct UnitTraining<'a> {
    pub plan: &'a Plan,
    pub data: &'a Dataset,
    pub unit: Unit,
    pub dir: &'a UnitDir,
    /// Time between checkpoints.
    pub every: Duration,
    pub progress: &'a Progress,
}

impl UnitTraining<'_> {
    /// Trains the network of the unit and writes its files, result.json last, on `engine`
    /// (burn's on B); from its checkpoint when it has one.
    pub fn train_dense<B: Scan>(&self, device: &B::Device, engine: Engine) -> Result<DepthResult> {
        let config = self.plan.model(self.unit);
        let weights = config.init_weights();
        write_atomic(&self.dir.init(), &weights.to_safetensors())?;
        let (act, delta, data) = (config.activation, config.delta, self.data);
        let train = self.plan.training(self.unit);
        match engine {
            Engine::Fused { cores } => {
                let mut stepper = FusedStepper::on_cores(&weights, act, delta, data, &train, cores);
                let (isa, threads) = (stepper.isa().name(), stepper.threads());
                let name = format!("the fused step ({isa}, {threads} threads)");
                self.train(&mut stepper, &name)
            }
            Engine::Burn(backend) => {
                let model = scaling_core::ResNet::<B>::from_weights(&weights, act, delta, device);
                let mut stepper = BurnStepper::new(model, data, &train);
                self.train(&mut stepper, &format!("burn on {backend}"))
            }
        }
    }

    /// Trains with `stepper`, called `engine` in the checkpoint (from the checkpoint when
    /// there is one) under a progress bar, checkpointing as the module says; then writes the
    /// weights and result.json.
    fn train(&self, stepper: &mut impl Stepper, engine: &str) -> Result<DepthResult> {
        let train = self.plan.training(self.unit);
        let label = label(self.plan, self.unit);
        let (mut session, mut wall_time_s) = match read_checkpoint(self.dir)? {
            Some(c) => {
                stepper
                    .restore(&c.state)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("{}", self.dir.checkpoint().display()))?;
                let say = |line: String| self.progress.println(line);
                say(format!(
                    "{label}: resumed from its checkpoint at step {}",
                    c.step
                ));
                if c.engine != engine {
                    say(format!(
                        "{label}: the checkpoint was written by {}, this is {}: the weights may differ from an uninterrupted run's in the last bits",
                        c.engine, engine
                    ));
                }
                (
                    Session::resume(self.data, &train, c.step, &c.history),
                    c.wall_time_s,
                )
            }
            None => (Session::new(self.data, &train), 0.0),
        };
        let bar = self
            .progress
            .network(&label, self.unit.depth, train.max_steps);
        bar.show(session.step(), None);
        let outcome = loop {
            let start = Instant::now();
            let pausable = Section::pausable();
            let done = train_until(
                stepper,
                &mut session,
                self.data,
                |step, loss| bar.show(step, loss),
                |_| interrupt::received().is_some() || start.elapsed() >= self.every,
            );
            wall_time_s += start.elapsed().as_secs_f64();
            if let Some(outcome) = done {
                break outcome;
            }
            // Still pausable: a signal during the write is answered once it is written.
            self.checkpoint(stepper, &session, wall_time_s, engine)?;
            drop(pausable);
            if let Some(signal) = interrupt::received() {
                bar.abandon();
                return Err(Interrupted {
                    signal,
                    message: format!(
                        "interrupted: {} checkpointed at step {} of {}; run the same command to resume",
                        label,
                        session.step(),
                        train.max_steps
                    ),
                }
                .into());
            }
        };
        bar.finish(&outcome);
        write_atomic(
            &self.dir.weights(),
            &stepper.state().weights.to_safetensors(),
        )?;
        let result = write_result(self.dir, self.unit.depth, wall_time_s, outcome)?;
        let _ = fs::remove_file(self.dir.checkpoint());
        Ok(result)
    }

    /// Writes the checkpoint of the training paused at `session`.
    fn checkpoint(
        &self,
        stepper: &impl Stepper,
        session: &Session,
        wall_time_s: f64,
        engine: &str,
    ) -> Result<()> {
        let checkpoint = Checkpoint {
            step: session.step(),
            history: session.history().to_vec(),
            wall_time_s,
            engine: engine.to_string(),
            state: stepper.state(),
        };
        write_atomic(&self.dir.checkpoint(), &checkpoint.to_safetensors())
    }
}

/// "depth L" or, with several seeds, "depth L seed s": how progress names a unit.
pub fn label(plan: &Plan, unit: Unit) -> String {
    if plan.per_seed_dirs {
        format!("depth {} seed {}", unit.depth, unit.seed)
    } else {
        format!("depth {}", unit.depth)
    }
}

/// Writes result.json, the last file of a unit: its presence marks it finished.
pub fn write_result(
    dir: &UnitDir,
    depth: usize,
    wall_time_s: f64,
    outcome: TrainOutcome,
) -> Result<DepthResult> {
    let result = DepthResult {
        depth,
        wall_time_s,
        outcome,
    };
    write_json(&dir.result(), &result)?;
    Ok(result)
}
