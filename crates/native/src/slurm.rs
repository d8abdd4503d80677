//! `native slurm`: a sweep (or, with `--transfer`, a learning-rate transfer grid) as a Slurm
//! job array, one task per shard, and its analysis as a job that runs once every task has
//! succeeded.
//!
//! DIR/slurm/sweep.sbatch    the array: `--requeue`, `--signal=USR1@120` (two minutes before
//!                           the time limit each shard checkpoints and exits 138, and the
//!                           script requeues the task, which resumes from the checkpoint),
//!                           logs appended to DIR/slurm/sweep-<task>.log
//! DIR/slurm/analyze.sbatch  `native report DIR` (the analysis first), logged to analyze.log,
//!                           submitted with `--dependency=afterany` on the array (Slurm counts
//!                           a requeued task as failed for `afterok`): it checks that every
//!                           network has finished (summary.json) and fails otherwise
//!
//! The run directory is prepared here, on the submitting machine (config.toml, the data
//! downloaded and written), so that the tasks need no network. The directory and this
//! binary must be on a file system that every node sees.

use crate::backend::BackendChoice;
use crate::files::write_atomic;
use crate::sweep::{self, read_config};
use crate::transfer;
use anyhow::{bail, ensure, Context, Result};
use clap::ValueEnum;
use scaling_core::sweep::config::{Network, SweepConfig};
use scaling_core::sweep::shard::check_count;
use scaling_core::transfer::results::CONFIG;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(clap::Args)]
pub struct SlurmArgs {
    /// Sweep configuration (TOML); without it, the built-in quick sweep.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run directory (on a file system every node sees).
    #[arg(long)]
    out: PathBuf,
    /// Array tasks: the sweep's networks dealt to them by projected cost (`native plan`).
    #[arg(long, default_value_t = 4)]
    shards: usize,
    /// The networks' seeds (overrides `seeds`), e.g. 0,1,2.
    #[arg(long, value_delimiter = ',')]
    seeds: Option<Vec<u64>>,
    #[arg(long)]
    partition: Option<String>,
    /// Time limit of each task, [D-]HH:MM:SS; a task that reaches it is checkpointed and
    /// requeued.
    #[arg(long, value_name = "HH:MM:SS")]
    time: Option<String>,
    #[arg(long, default_value_t = 1)]
    cpus_per_task: usize,
    /// GPUs per task (with `--backend cuda`).
    #[arg(long)]
    gpus: Option<usize>,
    /// Seconds between checkpoints inside a depth (default: the config's, else 300).
    #[arg(long, value_name = "SECONDS")]
    checkpoint_every: Option<f64>,
    /// Where the MNIST or CIFAR-10 files are or are downloaded to (overrides `data_dir`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// A learning-rate transfer grid (TOML) instead of a sweep: each task trains its shard of
    /// every cell, and the analysis job writes the grid's report.
    #[arg(long, value_name = "FILE")]
    transfer: Option<PathBuf>,
    /// Submit both scripts with sbatch and print the job ids.
    #[arg(long)]
    submit: bool,
}

/// Writes (and with `--submit` submits) the two scripts.
pub fn run(args: &SlurmArgs, choice: BackendChoice) -> Result<()> {
    check_words(args)?;
    let (dir, native) = (
        std::path::absolute(&args.out)?,
        std::env::current_exe().context("finding this binary")?,
    );
    let cwd = std::env::current_dir().context("the working directory")?;
    check_path("--out", &dir)?;
    check_path("this binary's path", &native)?;
    check_path("the working directory", &cwd)?;
    let (work, networks, checkpoint_every) = match &args.transfer {
        Some(path) => prepare_transfer(args, path)?,
        None => prepare_sweep(args)?,
    };
    let shards = check_count(args.shards.min(networks)).map_err(anyhow::Error::msg)?;
    if shards < args.shards {
        println!("each sweep has {networks} networks: {shards} shards");
    }
    let scripts = Scripts {
        work,
        native,
        cwd,
        dir: dir.clone(),
        shards,
        backend: choice,
        checkpoint_every,
    };
    let slurm = dir.join("slurm");
    std::fs::create_dir_all(&slurm).with_context(|| format!("creating {}", slurm.display()))?;
    let (sweep_path, analyze_path) = (slurm.join("sweep.sbatch"), slurm.join("analyze.sbatch"));
    write_atomic(&sweep_path, scripts.sweep(args).as_bytes())?;
    write_atomic(&analyze_path, scripts.analyze(args).as_bytes())?;
    println!(
        "wrote {} ({shards} tasks) and {}",
        sweep_path.display(),
        analyze_path.display()
    );
    if !args.submit {
        println!(
            "submit with: id=$(sbatch --parsable {}) && sbatch --dependency=afterany:$id {}",
            sweep_path.display(),
            analyze_path.display()
        );
        return Ok(());
    }
    let array = sbatch(&[], &sweep_path)?;
    let analysis = sbatch(&[format!("--dependency=afterany:{array}")], &analyze_path)?;
    println!("submitted the sweep as job array {array} ({shards} tasks) and its analysis as job {analysis} (once every task has ended)");
    println!(
        "watch: squeue -j {array},{analysis}   sacct -j {array},{analysis}   native status {}",
        dir.display()
    );
    Ok(())
}

/// The sweep's config and run directory, prepared here: what the array trains, its networks
/// and the seconds between checkpoints.
fn prepare_sweep(args: &SlurmArgs) -> Result<(Work, usize, f64)> {
    let mut config = match &args.config {
        Some(path) => read_config(path)?,
        None => SweepConfig::default(),
    };
    if let Some(seeds) = &args.seeds {
        config.seeds = Some(seeds.clone());
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = Some(dir.display().to_string());
    }
    config.checkpoint_every = args.checkpoint_every.or(config.checkpoint_every);
    let plan = config.plan().context("invalid sweep config")?;
    if matches!(plan.network, Network::Conv(_)) {
        println!("note: CIFAR-10 networks are not checkpointed inside a depth: give the tasks a --time longer than the largest depth takes (at the time-limit warning such a task exits 1, not requeued)");
    }
    sweep::prepare_dir(&config, &plan, &args.out)?;
    Ok((Work::Sweep, plan.units().len(), config.checkpoint_every()))
}

/// A transfer grid's directory, every cell's run directory prepared here (its data written):
/// each task trains its shard of every cell.
fn prepare_transfer(args: &SlurmArgs, path: &Path) -> Result<(Work, usize, f64)> {
    ensure!(
        args.config.is_none() && args.seeds.is_none(),
        "--transfer takes the grid's own sweep: no --config or --seeds beside it"
    );
    let places = transfer::Places {
        data_dir: args.data_dir.as_deref(),
        checkpoint_every: args.checkpoint_every,
    };
    let grid = transfer::prepare(Some(path), &args.out, places)?;
    let checkpoint_every = grid.sweep.checkpoint_every();
    for cell in grid.cells() {
        let config = grid.config(cell);
        let plan = config.plan()?;
        sweep::prepare_dir(&config, &plan, &args.out.join(cell.dir_name()))?;
    }
    let networks = grid.depths.len() * grid.seeds.len();
    Ok((Work::Transfer, networks, checkpoint_every))
}

/// Refuses values that would not read back as one word of a batch script.
fn check_words(args: &SlurmArgs) -> Result<()> {
    let word = |flag: &str, v: &Option<String>, extra: &str| -> Result<()> {
        match v {
            Some(v)
                if v.is_empty()
                    || !v
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c)) =>
            {
                bail!("--{flag} {v:?}: letters, digits and {extra:?} only")
            }
            _ => Ok(()),
        }
    };
    word("partition", &args.partition, "_-.,")?;
    word("time", &args.time, ":-")?;
    ensure!(
        args.cpus_per_task >= 1,
        "--cpus-per-task must be at least 1"
    );
    Ok(())
}

/// Refuses a path that would not read back as itself in a batch script: #SBATCH lines take
/// no quotes, and % is a Slurm pattern.
fn check_path(what: &str, path: &Path) -> Result<()> {
    let text = path.display().to_string();
    let bad = |c: char| c.is_whitespace() || c.is_control() || "%'\"$`\\".contains(c);
    ensure!(
        !text.contains(bad),
        "{what} {text:?}: a batch script cannot name a path with spaces, quotes, $, ` or %"
    );
    Ok(())
}

/// Submits `script`; its job id.
fn sbatch(options: &[String], script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(options)
        .arg(script)
        .output()
        .context("running sbatch (is Slurm installed here?)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    let id = text
        .trim()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    if !output.status.success() || id.is_empty() {
        bail!(
            "sbatch {} failed: {}",
            script.display(),
            crate::text::one_line(&String::from_utf8_lossy(&output.stderr), 300)
        );
    }
    Ok(id)
}

/// What a job array trains.
#[derive(Clone, Copy)]
enum Work {
    Sweep,
    /// A transfer grid: each task trains its shard of every cell.
    Transfer,
}

/// What both scripts name.
struct Scripts {
    work: Work,
    native: PathBuf,
    /// Where the tasks run (relative paths in the config, e.g. `data_dir`, are from there).
    cwd: PathBuf,
    dir: PathBuf,
    shards: usize,
    backend: BackendChoice,
    checkpoint_every: f64,
}

impl Scripts {
    /// The #SBATCH lines both scripts share.
    fn resources(&self, args: &SlurmArgs) -> String {
        let mut lines = format!(
            "#SBATCH --chdir={}\n#SBATCH --cpus-per-task={}\n",
            self.cwd.display(),
            args.cpus_per_task
        );
        if let Some(p) = &args.partition {
            lines += &format!("#SBATCH --partition={p}\n");
        }
        if let Some(t) = &args.time {
            lines += &format!("#SBATCH --time={t}\n");
        }
        lines
    }

    fn sweep(&self, args: &SlurmArgs) -> String {
        let (n, dir, native) = (self.shards, self.dir.display(), self.native.display());
        let (what, command, file) = match self.work {
            Work::Sweep => ("the sweep", "sweep", "config.toml"),
            Work::Transfer => ("every cell of the transfer grid", "transfer", CONFIG),
        };
        let backend = self.backend.to_possible_value().expect("a named backend");
        let gpus = args
            .gpus
            .map_or(String::new(), |g| format!("#SBATCH --gpus={g}\n"));
        format!(
            "#!/bin/bash\n\
             # Written by `native slurm`: shard $SLURM_ARRAY_TASK_ID of {n} of {what} in {dir}.\n\
             #SBATCH --job-name=scaling-sweep\n\
             #SBATCH --array=0-{last}\n\
             #SBATCH --requeue\n\
             #SBATCH --signal=USR1@120\n\
             #SBATCH --open-mode=append\n\
             #SBATCH --output={dir}/slurm/sweep-%a.log\n\
             {resources}{gpus}\
             # USR1, two minutes before the time limit: the shard checkpoints and exits 138;\n\
             # the task is then requeued and resumes from its checkpoint.\n\
             srun --cpus-per-task=\"$SLURM_CPUS_PER_TASK\" '{native}' --backend {backend} {command} \\\n\
             \x20   --config '{dir}/{file}' --out '{dir}' --no-report \\\n\
             \x20   --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --checkpoint-every {every} \\\n\
             \x20   --jobs \"$SLURM_CPUS_PER_TASK\"\n\
             status=$?\n\
             if [ \"$status\" -eq 138 ]; then\n\
             \x20   scontrol requeue \"${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}\"\n\
             fi\n\
             exit \"$status\"\n",
            last = n - 1,
            resources = self.resources(args),
            backend = backend.get_name(),
            every = self.checkpoint_every,
        )
    }

    fn analyze(&self, args: &SlurmArgs) -> String {
        let (dir, native) = (self.dir.display(), self.native.display());
        // A transfer grid's report names the first unfinished network itself.
        let finished = match self.work {
            Work::Sweep => format!(
                "# summary.json exists once every network has finished.\n\
                 if [ ! -f '{dir}/summary.json' ]; then\n\
                 \x20   echo 'not every network has finished: see native status {dir}' >&2\n\
                 \x20   exit 1\n\
                 fi\n"
            ),
            Work::Transfer => String::new(),
        };
        format!(
            "#!/bin/bash\n\
             # Written by `native slurm`: the analysis and report of the run in {dir}.\n\
             #SBATCH --job-name=scaling-analyze\n\
             #SBATCH --open-mode=append\n\
             #SBATCH --output={dir}/slurm/analyze.log\n\
             {resources}\
             # Submitted with --dependency=afterany on the array: a task that was requeued\n\
             # counts as failed for afterok.\n\
             {finished}\
             srun '{native}' --backend cpu report '{dir}'\n",
            resources = self.resources(args),
        )
    }
}
