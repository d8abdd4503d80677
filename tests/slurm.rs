//! `native slurm` on a real Slurm (scripts/slurm-local.sh starts a one-node one; the tests
//! skip with one line when $SLURM_CONF is unset): sharded arrays give the weights of one
//! process bit for bit, a task killed mid-depth and requeued resumes from its checkpoint,
//! a task signalled USR1 (Slurm's warning before a time limit) checkpoints and requeues
//! itself, the dependent job writes the report, and `native status` counts right meanwhile;
//! a transfer grid as an array gives the results of one process.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn slurm() -> bool {
    let up = std::env::var_os("SLURM_CONF").is_some();
    if !up {
        eprintln!(
            "skipped: needs a Slurm ($SLURM_CONF; scripts/slurm-local.sh start runs one here)"
        );
    }
    up
}

fn run(program: &str, args: &[&str]) -> Output {
    let output = Command::new(program).args(args).output().expect("runs");
    assert!(
        output.status.success(),
        "{program} {args:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    output
}

fn native(args: &[&str]) -> String {
    let mut all = vec!["--backend", "cpu"];
    all.extend_from_slice(args);
    text(&run(env!("CARGO_BIN_EXE_native"), &all).stdout)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "resnet-scaling-slurm-{name}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A sweep of `depths` × 2 seeds that trains for seconds.
fn config(dir: &Path, depths: &str, max_steps: usize) -> PathBuf {
    let path = dir.join("sweep.toml");
    fs::write(
        &path,
        format!(
            "n_samples = 200\nn_test = 40\nwidth = 4\nactivation = \"tanh\"\n\
             delta = \"per-layer\"\ndepths = {depths}\nseeds = [0, 1]\nbatch_size = 50\n\
             lr = 0.5\nepsilon = 0.0\nmax_steps = {max_steps}\nlog_every = 1000\nmomentum = 0.9\n"
        ),
    )
    .unwrap();
    path
}

/// Runs the sweep of `config` in one process into DIR/one; that directory.
fn one_process(config: &Path, dir: &Path) -> PathBuf {
    let one = dir.join("one");
    let (config, out) = (config.to_str().unwrap(), one.to_str().unwrap());
    native(&["sweep", "--config", config, "--out", out, "--no-report"]);
    one
}

/// Submits the sweep as an array of `shards`; (array id, analysis id).
fn submit(config: &Path, out: &Path, shards: usize) -> (String, String) {
    let printed = native(&[
        "slurm",
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--shards",
        &shards.to_string(),
        "--checkpoint-every",
        "0.5",
        "--submit",
    ]);
    job_ids(&printed)
}

/// The (array id, analysis id) that `native slurm --submit` printed.
fn job_ids(printed: &str) -> (String, String) {
    let after = |key: &str| {
        let rest = &printed[printed.find(key).unwrap_or_else(|| panic!("{printed}")) + key.len()..];
        rest.split_whitespace().next().unwrap().to_string()
    };
    (after("job array "), after("analysis as job "))
}

/// Whether any of `jobs` is still queued or running.
fn queued(jobs: &str) -> bool {
    !text(&run("squeue", &["-h", "-j", jobs]).stdout)
        .trim()
        .is_empty()
}

/// Waits until none of `jobs` is queued, calling `meanwhile` every 100 ms.
fn wait(jobs: &str, mut meanwhile: impl FnMut()) {
    let start = Instant::now();
    while queued(jobs) {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "jobs {jobs} ran 10 min"
        );
        meanwhile();
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every network's weights, by unit directory.
fn weights(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut all = Vec::new();
    for depth in fs::read_dir(out)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("depth_"))
    {
        for seed in fs::read_dir(depth.path()).unwrap().flatten() {
            let rel = seed.path().strip_prefix(out).unwrap().to_path_buf();
            all.push((
                rel,
                fs::read(seed.path().join("weights.safetensors")).unwrap(),
            ));
        }
    }
    all.sort();
    all
}

/// The counts of `native status` (done, running, checkpointed, not started).
fn counts(out: &Path) -> [usize; 4] {
    let printed = native(&["status", out.to_str().unwrap()]);
    let line = printed.lines().find(|l| l.contains(" networks: ")).unwrap();
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    [numbers[1], numbers[2], numbers[3], numbers[4]]
}

/// How many networks have their result.json.
fn done(out: &Path) -> usize {
    let units = fs::read_dir(out)
        .unwrap()
        .flatten()
        .filter_map(|d| fs::read_dir(d.path()).ok());
    units
        .flatten()
        .flatten()
        .filter(|s| s.path().join("result.json").exists())
        .count()
}

#[test]
fn arrays_of_2_and_4_shards_equal_one_process_and_write_the_report() {
    if !slurm() {
        return;
    }
    let dir = scratch("arrays");
    let config = config(&dir, "[2, 6, 12, 24]", 150_000);
    let start = Instant::now();
    let one = one_process(&config, &dir);
    let mut times = vec![("1 process".to_string(), start.elapsed().as_secs_f64())];
    let want = weights(&one);
    assert_eq!(want.len(), 8);
    for shards in [2, 4] {
        let out = dir.join(format!("array{shards}"));
        let start = Instant::now();
        let (array, analysis) = submit(&config, &out, shards);
        let (mut last_done, mut most_running) = (0, 0);
        wait(&array, || {
            let before = done(&out);
            let [finished, running, checkpointed, waiting] = counts(&out);
            assert_eq!(finished + running + checkpointed + waiting, 8);
            assert!(before <= finished && finished <= done(&out) && finished >= last_done);
            (last_done, most_running) = (finished, most_running.max(running));
        });
        times.push((
            format!("{shards}-shard array"),
            start.elapsed().as_secs_f64(),
        ));
        wait(&analysis, || {});
        assert_eq!(counts(&out), [8, 0, 0, 0]);
        assert!(most_running >= 1, "status saw a network running");
        assert_eq!(
            weights(&out),
            want,
            "{shards} shards: the weights of one process"
        );
        assert!(out.join("summary.json").exists() && out.join("report.html").exists());
        let log = fs::read_to_string(out.join("slurm/analyze.log")).unwrap();
        assert!(log.contains("report.html"), "{log}");
    }
    eprintln!("measured, the same sweep of 8 networks on this machine: {times:?} (arrays: submission to the last task's end)");
    fs::remove_dir_all(&dir).unwrap();
}

/// The networks of shard `index` of 2, as unit directories, from `native plan`.
fn shard_dirs(config: &Path, index: usize) -> Vec<PathBuf> {
    let printed = native(&[
        "plan",
        "--config",
        config.to_str().unwrap(),
        "--shards",
        "2",
    ]);
    let line = printed
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{index}/2")))
        .unwrap();
    let units = line.split_whitespace().skip(4);
    units
        .map(|u| {
            let (depth, seed) = u.split_once('/').unwrap();
            PathBuf::from(format!("depth_{depth}/seed_{seed}"))
        })
        .collect()
}

/// Waits until one of `units` of `out` has a checkpoint and no result; that unit.
fn checkpointed(out: &Path, units: &[PathBuf]) -> PathBuf {
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no checkpoint came"
        );
        for unit in units {
            let d = out.join(unit);
            if d.join("checkpoint.safetensors").exists() && !d.join("result.json").exists() {
                return unit.clone();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until every one of `units` of `out` has its result.json (the requeued tasks have
/// run to the end), calling `meanwhile` every 100 ms; on a timeout, says what Slurm shows.
fn wait_for(out: &Path, units: &[&PathBuf], meanwhile: impl Fn()) {
    let start = Instant::now();
    while !units
        .iter()
        .all(|u| out.join(u).join("result.json").exists())
    {
        if start.elapsed() > Duration::from_secs(600) {
            let queue = text(&run("squeue", &["-h", "-o", "%i %T %r"]).stdout);
            panic!("the requeued networks did not finish in 10 min; the queue: {queue}");
        }
        meanwhile();
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until task `task` of the array has stopped running.
fn stopped(task: &str) {
    let start = Instant::now();
    while !text(&run("squeue", &["-h", "-t", "R", "-j", task]).stdout)
        .trim()
        .is_empty()
    {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "{task} still runs"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_task_requeued_and_a_warned_task_resume_from_their_checkpoints() {
    if !slurm() {
        return;
    }
    let dir = scratch("requeue");
    let config = config(&dir, "[40, 80]", 150_000);
    let one = one_process(&config, &dir);
    let out = dir.join("array");
    let (array, analysis) = submit(&config, &out, 2);
    // Task 0: its process killed outright mid-depth (SIGKILL, as when a node dies; Slurm's
    // `scancel --signal=KILL` is a cancel, TERM first, which the sweep would answer with a
    // checkpoint), then requeued by hand: it resumes from its last periodic checkpoint.
    let task0 = format!("{array}_0");
    let unit0 = checkpointed(&out, &shard_dirs(&config, 0));
    let lock = fs::read_to_string(out.join(&unit0).join(".lock")).unwrap();
    let holder: serde_json::Value = serde_json::from_str(&lock).unwrap();
    run("kill", &["-KILL", &holder["pid"].to_string()]);
    stopped(&task0);
    assert!(
        !out.join(&unit0).join("result.json").exists(),
        "killed mid-depth"
    );
    run("scontrol", &["requeue", &task0]);
    // Task 1: warned as before a time limit; it checkpoints, exits 138 and requeues itself.
    let task1 = format!("{array}_1");
    let unit1 = checkpointed(&out, &shard_dirs(&config, 1));
    run("scancel", &["--signal=USR1", &task1]);
    stopped(&task1);
    // Slurm holds a requeued task back for a while (its reason: BeginTime); let each start
    // as soon as it is back in the queue. Task 1 requeues itself after its step ends, so it
    // may come back after task 0: both are released, each when it shows up.
    let release = || {
        for task in [&task0, &task1] {
            let state = text(&run("squeue", &["-h", "-o", "%T %r", "-j", task]).stdout);
            if state.contains("BeginTime") {
                run(
                    "scontrol",
                    &["update", &format!("jobid={task}"), "StartTime=now"],
                );
            }
        }
    };
    wait_for(&out, &[&unit0, &unit1], release);
    wait(&format!("{array},{analysis}"), || {});
    for (task, unit) in [(0, &unit0), (1, &unit1)] {
        let log = fs::read_to_string(out.join(format!("slurm/sweep-{task}.log"))).unwrap();
        let name = unit
            .to_string_lossy()
            .replace("depth_", "")
            .replace("/seed_", " seed ");
        assert!(
            log.contains("resumed from its checkpoint"),
            "task {task} ({name}): {log}"
        );
    }
    let log = |task| fs::read_to_string(out.join(format!("slurm/sweep-{task}.log"))).unwrap();
    assert!(
        !log(0).contains("interrupted"),
        "task 0 was killed: {}",
        log(0)
    );
    assert!(log(1).contains("interrupted: depth"), "{}", log(1));
    assert_eq!(
        weights(&out),
        weights(&one),
        "the weights of one uninterrupted process"
    );
    assert!(out.join("report.html").exists());
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_transfer_grid_as_an_array_equals_one_process_and_writes_its_report() {
    if !slurm() {
        return;
    }
    let dir = scratch("transfer");
    let grid = dir.join("grid.toml");
    fs::write(
        &grid,
        "parametrizations = [\"standard\", \"depth-mup\"]\nlr_min = 0.1\nlr_max = 1.0\n\
         lr_points = 2\n[sweep]\nn_samples = 200\nn_test = 40\nwidth = 4\n\
         depths = [2, 4, 8]\nseeds = [0, 1]\nbatch_size = 50\nmax_steps = 40\nlog_every = 20\n",
    )
    .unwrap();
    let (grid, one, out) = (grid.to_str().unwrap(), dir.join("one"), dir.join("array"));
    native(&["transfer", "--config", grid, "--out", one.to_str().unwrap()]);
    let printed = native(&[
        "slurm",
        "--transfer",
        grid,
        "--out",
        out.to_str().unwrap(),
        "--shards",
        "2",
        "--submit",
    ]);
    let (array, analysis) = job_ids(&printed);
    wait(&format!("{array},{analysis}"), || {});
    let results = |d: &Path| fs::read_to_string(d.join("transfer.json")).unwrap();
    assert_eq!(results(&out), results(&one), "the array's grid differs");
    assert!(out.join("report.html").exists());
    let script = fs::read_to_string(out.join("slurm/sweep.sbatch")).unwrap();
    assert!(script.contains(" transfer \\") && script.contains("transfer.toml"));
    fs::remove_dir_all(&dir).unwrap();
}
