//! `native sweep`: the files of a run, resume, seeds, divergence, bad configs and sizes, the
//! locks of concurrent sweeps, Ctrl-C and resume, data errors, the shipped configs, and
//! sweeps on MNIST and CIFAR-10.

use crate::common::{
    native, native_command, native_on, read_analysis, refused, scratch, sweep, sweep_on, text,
    text_of, TINY,
};
use scaling_core::io::tensor_file::decode;
use scaling_core::model::weights::Weights;
use scaling_core::phase::PhaseConfig;
use scaling_core::sweep::config::SweepConfig;
use scaling_core::train::results::{DepthResult, StopReason, Summary};
use scaling_core::transfer::grid::TransferConfig;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

#[test]
fn a_sweep_writes_every_file_and_resumes() {
    let dir = scratch("sweep");
    let run = dir.join("run");
    let output = sweep(&dir, TINY);
    assert!(output.status.success(), "{}", text(&output.stderr));
    // Without a terminal, each network's end is a line with the process's progress.
    let said = text(&output.stdout);
    assert!(
        said.contains("depth 2: MaxSteps at step 120, train loss"),
        "{said}"
    );
    assert!(
        said.contains("100% of this process's work done, eta"),
        "{said}"
    );
    // TINY's ε = 1e-6 is below its data's floor E Var(y | x/‖x‖): said once, before training.
    assert_eq!(
        said.matches("is below this data's floor").count(),
        1,
        "{said}"
    );

    let config: SweepConfig =
        toml::from_str(&fs::read_to_string(run.join("config.toml")).unwrap()).unwrap();
    assert_eq!(config.depths, Some(vec![2, 6]));
    let mut data = decode(&fs::read(run.join("data.safetensors")).unwrap()).unwrap();
    assert_eq!(data.remove("x_train").unwrap().0, [200, 4]);
    assert_eq!(data.remove("y_test").unwrap().0, [40, 4]);

    for depth in [2, 6] {
        let d = run.join(format!("depth_{depth}"));
        let init =
            Weights::from_safetensors(&fs::read(d.join("init.safetensors")).unwrap()).unwrap();
        let trained =
            Weights::from_safetensors(&fs::read(d.join("weights.safetensors")).unwrap()).unwrap();
        assert_eq!((trained.depth, trained.width), (depth, 4));
        assert_eq!(trained.delta.as_ref().map(Vec::len), Some(depth));
        assert_ne!(init.a, trained.a, "training moved the weights");
        let result: DepthResult =
            serde_json::from_str(&fs::read_to_string(d.join("result.json")).unwrap()).unwrap();
        assert_eq!((result.depth, result.outcome.steps), (depth, 120));
        assert_eq!(result.outcome.stop_reason, StopReason::MaxSteps);
        let history: Vec<usize> = result.outcome.history.iter().map(|p| p.step).collect();
        assert_eq!(history, [0, 40, 80, 120]);
        let first = result.outcome.history[0].train_loss.unwrap();
        assert!(
            result.outcome.final_train_loss.unwrap() < first,
            "loss fell"
        );
    }
    let summary: Summary =
        serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary.depths.iter().map(|s| s.depth).collect::<Vec<_>>(),
        [2, 6]
    );
    // The sweep ends with its analysis and report; two depths are too few for any fit, which
    // is said, not given a number.
    let analysis = read_analysis(&run);
    assert_eq!(analysis["verdict"]["regime"], "undetermined");
    // The floor is stored, and the verdict says that ε is below it.
    assert!(
        analysis["floor"].as_f64().unwrap() > 1e-6,
        "{}",
        analysis["floor"]
    );
    let explanation = analysis["verdict"]["explanation"].as_str().unwrap();
    assert!(
        explanation.contains("below the data's floor"),
        "{explanation}"
    );
    let fit = &analysis["paths"][0]["fits"]["max-norm"];
    assert_eq!(fit["status"], "impossible", "{fit}");
    assert!(fit["reason"].as_str().unwrap().contains("2 usable depths"));
    let report = fs::read_to_string(run.join("report.html")).unwrap();
    assert!(report.contains("no fit: 2 usable depths"));

    // A finished sweep is skipped as a whole; a depth whose result.json is missing (the
    // process died while training it) is trained again.
    let weights_2 = fs::read(run.join("depth_2/weights.safetensors")).unwrap();
    fs::remove_file(run.join("depth_6/result.json")).unwrap();
    let output = sweep(&dir, TINY);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("depth 2: done before"), "{stdout}");
    assert!(!stdout.contains("depth 6: done before"), "{stdout}");
    assert!(run.join("depth_6/result.json").exists());
    assert_eq!(
        fs::read(run.join("depth_2/weights.safetensors")).unwrap(),
        weights_2
    );

    // Another sweep into the same directory is refused and changes nothing.
    let output = sweep(&dir, &TINY.replace("lr = 0.5", "lr = 0.4"));
    refused(&output, "holds a different sweep");
    assert_eq!(
        fs::read(run.join("depth_2/weights.safetensors")).unwrap(),
        weights_2
    );
    fs::remove_dir_all(&dir).unwrap();
}

/// A sweep with `seeds` trains every depth once per seed into depth_<L>/seed_<s>/, resumes
/// network by network, and its analysis pools the seeds; Adam trains on both CPU steps alike.
#[test]
fn a_sweep_with_seeds_and_adam_writes_one_network_per_depth_and_seed() {
    let dir = scratch("seeds");
    let run = dir.join("run");
    let config = TINY.replace("lr = 0.5", "lr = 0.01")
        + "optimizer = \"adam\"\nseeds = [3, 5]\ndepths = [2, 3, 4]\n";
    let config = config.replace("depths = [2, 6]\n", "");
    let output = sweep(&dir, &config);
    assert!(output.status.success(), "{}", text(&output.stderr));
    for depth in [2, 3, 4] {
        for seed in [3, 5] {
            let d = run.join(format!("depth_{depth}/seed_{seed}"));
            let result: DepthResult =
                serde_json::from_str(&fs::read_to_string(d.join("result.json")).unwrap()).unwrap();
            let history = &result.outcome.history;
            assert!(
                history.last().unwrap().train_loss < history[0].train_loss,
                "L = {depth}, seed {seed}: Adam lowers the loss"
            );
        }
    }
    let seed_3 = fs::read(run.join("depth_2/seed_3/weights.safetensors")).unwrap();
    assert_ne!(
        seed_3,
        fs::read(run.join("depth_2/seed_5/weights.safetensors")).unwrap(),
        "the seeds draw different networks"
    );
    let summary: Summary =
        serde_json::from_str(&fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    let units: Vec<_> = summary.depths.iter().map(|s| (s.depth, s.seed)).collect();
    assert_eq!(units, [(2, 3), (2, 5), (3, 3), (3, 5), (4, 3), (4, 5)]);
    let analysis = read_analysis(&run);
    let max_norm = &analysis["paths"][0]["fits"]["max-norm"];
    assert_eq!(max_norm["seeds"], 2, "{max_norm}");
    assert_eq!(max_norm["interval"], "bootstrap", "{max_norm}");

    // One network lost: only it is trained again, and the fused step trains it as ndarray did.
    let losses = || -> Vec<f64> {
        let path = run.join("depth_3/seed_5/result.json");
        let result: DepthResult = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        result
            .outcome
            .history
            .iter()
            .map(|p| p.train_loss.unwrap())
            .collect()
    };
    let before = losses();
    fs::remove_file(run.join("depth_3/seed_5/result.json")).unwrap();
    let output = sweep_on("cpu", &dir, &config);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("depth 2 seed 3: done before"), "{stdout}");
    assert!(!stdout.contains("depth 3 seed 5: done before"), "{stdout}");
    let after = losses();
    assert_eq!(after.len(), before.len());
    for (x, y) in after.iter().zip(&before) {
        assert!((x - y).abs() <= 1e-3 * y, "{after:?} vs {before:?}");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_diverging_depth_is_marked_and_the_sweep_goes_on() {
    let dir = scratch("diverge");
    let config = TINY
        .replace("activation = \"tanh\"", "activation = \"linear\"")
        .replace("delta = \"per-layer\"", "delta = \"none\"")
        .replace("lr = 0.5", "lr = 1e6");
    let output = sweep(&dir, &config);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let summary: Summary =
        serde_json::from_str(&fs::read_to_string(dir.join("run/summary.json")).unwrap()).unwrap();
    assert_eq!(summary.depths.len(), 2);
    assert!(summary
        .depths
        .iter()
        .all(|s| s.stop_reason == StopReason::Diverged));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_configs_are_refused_with_the_key_and_nothing_written() {
    let dir = scratch("bad");
    for (config, expected) in [
        (TINY.replace("lr = 0.5", "lr = -1"), "`lr`"),
        (TINY.replace("width = 4", "width = 0"), "`width`"),
        (
            TINY.replace("depths = [2, 6]", "depths = [0, 6]"),
            "`depths`",
        ),
        (
            TINY.replace("batch_size = 50", "batch_size = 500"),
            "`batch_size`",
        ),
        (format!("{TINY}\nlearning_rate = 0.1\n"), "learning_rate"),
        (format!("{TINY}\ninit = \"fbm\"\nhurst = 1.5\n"), "`hurst`"),
        (format!("{TINY}\nbeta = 0.5\n"), "`beta`"),
        (
            TINY.replace("activation = \"tanh\"", "activation = \"swish\""),
            "swish",
        ),
        ("n_samples = [".to_string(), "sweep.toml"),
    ] {
        refused(&sweep(&dir, &config), expected);
        assert!(!dir.join("run").exists(), "wrote a run for: {config}");
    }
    let missing = native(&["sweep", "--config", "/nonexistent/sweep.toml", "--out", "x"]);
    refused(&missing, "/nonexistent/sweep.toml");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_shipped_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut count = 0;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("phase-") {
            let config: PhaseConfig = toml::from_str(&text).unwrap();
            config
                .check()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        if name.starts_with("transfer-") {
            let config: TransferConfig =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            config
                .grid()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        let config: SweepConfig =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        config
            .plan()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        count += 1;
    }
    assert!(count >= 4);
}

#[test]
fn an_mnist_sweep_embeds_real_mnist() {
    let Ok(mnist) = std::env::var("RESNET_SCALING_MNIST_DIR") else {
        eprintln!(
            "skipped: needs the MNIST IDX files in $RESNET_SCALING_MNIST_DIR \
             (scripts/test-data.sh fetches them)"
        );
        return;
    };
    let dir = scratch("mnist");
    let config = format!(
        "dataset = \"mnist\"\ndata_dir = \"{mnist}\"\nn_samples = 1000\nn_test = 200\n\
         activation = \"relu\"\ndelta = \"per-layer\"\ndepths = [3, 5, 8]\nbatch_size = 100\n\
         lr = 0.1\nepsilon = 1e-2\nmax_steps = 40\nlog_every = 20\n"
    );
    let output = sweep(&dir, &config);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let run = dir.join("run");
    let mut data = decode(&fs::read(run.join("data.safetensors")).unwrap()).unwrap();
    let (shape, x) = data.remove("x_train").unwrap();
    assert_eq!(shape, [1000, 25]);
    let norm: f32 = x[..25].iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);
    let w = Weights::from_safetensors(&fs::read(run.join("depth_8/weights.safetensors")).unwrap())
        .unwrap();
    assert_eq!((w.depth, w.width), (8, 25));
    assert_eq!(read_analysis(&run)["main_path"], "delta_A");
    // A data directory without the files and no network: a clear error, nothing trained.
    let empty = dir.join("nothing-here");
    let output = native(&[
        "sweep",
        "--config",
        dir.join("sweep.toml").to_str().unwrap(),
        "--out",
        dir.join("run2").to_str().unwrap(),
        "--data-dir",
        empty.to_str().unwrap(),
    ]);
    refused(&output, "ossci-datasets");
    fs::remove_dir_all(&dir).unwrap();
}

/// A CIFAR-10 data directory in the official binary format, of random images.
fn random_cifar(dir: &Path, per_batch: usize) {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as u8
    };
    let files = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ];
    fs::create_dir_all(dir).unwrap();
    for name in files {
        let mut bytes = Vec::new();
        for _ in 0..per_batch {
            bytes.push(next() % 10);
            bytes.extend((0..3072).map(|_| next()));
        }
        fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn a_cifar_sweep_trains_the_conv_resnet_and_measures_its_layers() {
    let dir = scratch("cifar");
    let data = dir.join("cifar");
    random_cifar(&data, 8);
    // Enough updates that every net trains (its loss ends below 90% of the initial one; a net
    // that did not train would be left out of the fits).
    let config = format!(
        "dataset = \"cifar10\"\ndata_dir = \"{}\"\nn_samples = 40\nn_test = 8\n\
         depths = [8, 11, 12]\nbase_channels = 2\nbatch_size = 8\nlr = 0.1\n\
         epsilon = 1e-6\nmax_steps = 30\nlog_every = 30\n",
        data.display()
    );
    let output = sweep(&dir, &config);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let run = dir.join("run");
    assert!(!run.join("data.safetensors").exists());
    let result: DepthResult =
        serde_json::from_str(&fs::read_to_string(run.join("depth_11/result.json")).unwrap())
            .unwrap();
    assert_eq!(result.outcome.steps, 30);
    assert!(result.outcome.final_test_accuracy.is_some());
    let weights = decode(&fs::read(run.join("depth_11/weights.safetensors")).unwrap()).unwrap();
    assert_eq!(weights["block10.conv2"].0, [16, 16, 3, 3]);
    let norms: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(run.join("depth_11/norms.json")).unwrap())
            .unwrap();
    assert_eq!(norms[0]["name"], "conv1");
    assert_eq!(norms[1]["norms"].as_array().unwrap().len(), 11);
    let analysis = read_analysis(&run);
    assert_eq!(analysis["main_path"], "conv1");
    assert_eq!(analysis["paths"][0]["fits"]["max-norm"]["status"], "fitted");
    for name in [
        "layers-conv1",
        "layers-conv2",
        "max-norm",
        "increments",
        "network-L12-seed0",
    ] {
        assert!(run.join(format!("figures/{name}.svg")).exists(), "{name}");
    }
    let report = fs::read_to_string(run.join("report.html")).unwrap();
    assert!(report.contains("conv2_k"));
    assert!(
        report.contains("Spectral norm of every conv1 layer"),
        "layers figure inline"
    );
    // A corrupt batch file is named.
    fs::write(data.join("test_batch.bin"), [1u8; 100]).unwrap();
    fs::remove_dir_all(&run).unwrap();
    refused(&sweep(&dir, &config), "test_batch.bin");
    fs::remove_dir_all(&dir).unwrap();
}

/// `native sweep` with a config file, as a child process not yet waited for.
fn spawn_sweep(config: &Path, out: &Path) -> std::process::Child {
    native_command()
        .args(["sweep", "--config", config.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--no-report"])
        .args(["--backend", "ndarray"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("native runs")
}

#[test]
fn two_sweeps_started_together_one_wins_the_other_refuses() {
    let dir = scratch("race");
    let config = |seed: u64| {
        let path = dir.join(format!("seed{seed}.toml"));
        fs::write(&path, format!("{TINY}\nseed = {seed}\n")).unwrap();
        path
    };
    let configs = [config(0), config(1)];
    // What each sweep writes when it runs alone.
    let alone: Vec<(Vec<u8>, Vec<u8>)> = configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let out = dir.join(format!("alone{i}"));
            assert!(spawn_sweep(c, &out).wait().unwrap().success());
            let read = |f: &str| fs::read(out.join(f)).unwrap();
            (
                read("data.safetensors"),
                read("depth_6/weights.safetensors"),
            )
        })
        .collect();
    let pairs = 12;
    for pair in 0..pairs {
        let out = dir.join(format!("pair{pair}"));
        let children: Vec<_> = configs.iter().map(|c| spawn_sweep(c, &out)).collect();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let won: Vec<usize> = (0..2).filter(|&i| outputs[i].status.success()).collect();
        assert_eq!(won.len(), 1, "pair {pair}: exactly one sweep wins");
        let lost = &outputs[1 - won[0]];
        let why = text(&lost.stderr);
        assert!(
            why.contains("is in use by") || why.contains("holds a different sweep"),
            "pair {pair}: {why}"
        );
        assert_eq!(why.trim().lines().count(), 1, "one line: {why}");
        // The directory is the winner's, whole.
        let config: SweepConfig =
            toml::from_str(&fs::read_to_string(out.join("config.toml")).unwrap()).unwrap();
        assert_eq!(config.seed, won[0] as u64, "pair {pair}");
        let (data, weights) = &alone[won[0]];
        assert_eq!(&fs::read(out.join("data.safetensors")).unwrap(), data);
        assert_eq!(
            &fs::read(out.join("depth_6/weights.safetensors")).unwrap(),
            weights
        );
        assert!(!out.join(".lock").exists(), "the lock goes with its holder");
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_network_in_training_is_skipped_by_a_second_sweep_and_a_killed_ones_taken_over() {
    let dir = scratch("lock");
    let path = dir.join("long.toml");
    fs::write(
        &path,
        TINY.replace("max_steps = 120", "max_steps = 100000000")
            .replace("epsilon = 1e-6", "epsilon = 0.0")
            .replace("depths = [2, 6]", "depths = [2]"),
    )
    .unwrap();
    let out = dir.join("run");
    let mut first = spawn_sweep(&path, &out);
    let lock = out.join("depth_2/.lock");
    let start = std::time::Instant::now();
    while !fs::read_to_string(&lock).is_ok_and(|t| t.contains("pid")) {
        assert!(
            start.elapsed().as_secs() < 60,
            "the sweep took the unit's lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let second = spawn_sweep(&path, &out).wait_with_output().unwrap();
    assert!(second.status.success(), "{}", text(&second.stderr));
    let said = text(&second.stdout);
    assert!(
        said.contains(&format!("skipped, depth 2 is in use by pid {}", first.id())),
        "{said}"
    );
    assert!(
        said.contains("not every network of the sweep has finished"),
        "{said}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(lock.exists(), "a killed sweep leaves its lock");
    // The next run takes the dead process's lock over (here a shorter sweep, in its place).
    fs::remove_file(out.join("config.toml")).unwrap();
    fs::write(&path, TINY).unwrap();
    let third = spawn_sweep(&path, &out).wait_with_output().unwrap();
    assert!(third.status.success(), "{}", text(&third.stderr));
    assert!(text(&third.stderr).contains("taking over the lock"));
    assert!(out.join("depth_6/result.json").exists() && !lock.exists());
    assert!(out.join("summary.json").exists());
    fs::remove_dir_all(&dir).unwrap();
}

/// `native sweep` of `config` into `out` on `backend`, interrupted by SIGINT after `after`
/// and run again until it finishes; how many times it paused a training (and said so).
fn interrupted_sweep(
    backend: &str,
    config: &Path,
    out: &Path,
    after: std::time::Duration,
) -> usize {
    let mut interruptions = 0;
    for _ in 0..100 {
        let child = native_command()
            .args([
                "--backend",
                backend,
                "sweep",
                "--config",
                config.to_str().unwrap(),
            ])
            .args([
                "--out",
                out.to_str().unwrap(),
                "--no-report",
                "--checkpoint-every",
                "0.2",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(after);
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        let output = child.wait_with_output().unwrap();
        match output.status.code() {
            Some(0) => return interruptions,
            // Killed before its handler was installed (no code), or outside a training
            // (130, nothing said: as without a handler), or paused in one (130, one line).
            None => {}
            Some(130) => {
                // A run killed before its handler was installed leaves its lock, which the
                // next run takes over, saying so first.
                let stderr = text(&output.stderr);
                let lines: Vec<&str> = stderr
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !l.starts_with("taking over the lock"))
                    .collect();
                // One line per network that was training (several train at once).
                assert!(lines.len() <= 2, "more lines than networks: {stderr}");
                for why in &lines {
                    assert!(
                        why.contains("checkpointed at step") || why.contains("after finishing"),
                        "{why}"
                    );
                    assert!(
                        why.contains("run the same command to resume") || why.contains("to go on"),
                        "{why}"
                    );
                }
                interruptions += usize::from(!lines.is_empty());
            }
            other => panic!("exit {other:?}: {}", text(&output.stderr)),
        }
    }
    panic!("the sweep did not finish in 100 runs of {after:?}");
}

#[test]
fn a_sweep_stopped_by_ctrl_c_resumes_to_the_same_weights_bit_for_bit() {
    let dir = scratch("resume");
    for (backend, optimizer, steps) in [
        ("cpu", "momentum = 0.9", 400_000),
        ("cpu", "optimizer = \"adam\"\nlr = 0.01", 400_000),
        ("ndarray", "momentum = 0.9", 20_000),
        ("ndarray", "optimizer = \"adam\"\nlr = 0.01", 20_000),
    ] {
        let config = dir.join("c.toml");
        let text = TINY
            .replace("max_steps = 120", &format!("max_steps = {steps}"))
            .replace("epsilon = 1e-6", "epsilon = 0.0")
            .replace("lr = 0.5", "")
            + optimizer
            + "\nlr = 0.1\n";
        let text = if optimizer.contains("adam") {
            text.replace("\nlr = 0.1\n", "\n")
        } else {
            text
        };
        fs::write(&config, text).unwrap();
        let (whole, paused) = (dir.join("whole"), dir.join("paused"));
        let _ = (fs::remove_dir_all(&whole), fs::remove_dir_all(&paused));
        let plain = native_on(
            backend,
            &[
                "sweep",
                "--config",
                config.to_str().unwrap(),
                "--out",
                whole.to_str().unwrap(),
                "--no-report",
            ],
        );
        assert!(plain.status.success(), "{}", text_of(&plain));
        let n = interrupted_sweep(
            backend,
            &config,
            &paused,
            std::time::Duration::from_millis(700),
        );
        assert!(n >= 1, "{backend} {optimizer}: interrupted at least once");
        for depth in [2, 6] {
            let read = |run: &Path| {
                fs::read(run.join(format!("depth_{depth}/weights.safetensors"))).unwrap()
            };
            assert_eq!(
                read(&whole),
                read(&paused),
                "{backend} {optimizer}: depth {depth} after {n} interruptions"
            );
            let history = |run: &Path| {
                let r: DepthResult = serde_json::from_str(
                    &fs::read_to_string(run.join(format!("depth_{depth}/result.json"))).unwrap(),
                )
                .unwrap();
                (r.outcome.steps, r.outcome.history)
            };
            assert_eq!(history(&whole), history(&paused));
            assert!(!paused
                .join(format!("depth_{depth}/checkpoint.safetensors"))
                .exists());
        }
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sizes_beyond_bounds_or_memory_are_refused_at_once() {
    let dir = scratch("sizes");
    for (config, expected) in [
        (
            TINY.replace("width = 4", "width = 4611686018427387904"),
            "`width`",
        ),
        (
            TINY.replace("depths = [2, 6]", "depths = [2, 4611686018427387904]"),
            "`depths`",
        ),
        (
            TINY.replace(
                "depths = [2, 6]",
                "depth_min = 3\ndepth_max = 9100\ndepth_base = 1.0000000001",
            ),
            "`depth_base`",
        ),
    ] {
        let start = std::time::Instant::now();
        refused(&sweep(&dir, &config), expected);
        assert!(start.elapsed().as_secs() < 10, "refused at once");
        assert!(!dir.join("run").exists());
    }
    // More memory than the machine has: the estimate, the key, nothing written.
    let path = dir.join("sweep.toml");
    fs::write(&path, TINY).unwrap();
    let output = native_command()
        .args(["sweep", "--config", path.to_str().unwrap()])
        .args(["--out", dir.join("run").to_str().unwrap()])
        .env("RESNET_SCALING_MEMORY", "10000")
        .output()
        .unwrap();
    refused(&output, "the sweep needs about");
    refused(&output, "more than the 9.766 KiB available");
    assert!(!dir.join("run").exists());
    // A long value in a TOML error is cut, on one line with its line and column.
    let long = "x".repeat(5000);
    refused(
        &sweep(&dir, &format!("{TINY}\ninit = \"{long}\"\n")),
        "sweep.toml:14:8: unknown variant `xxx",
    );
    let stderr = text(&sweep(&dir, &format!("{TINY}\ninit = \"{long}\"\n")).stderr);
    assert!(
        stderr.len() < 400 && stderr.trim().lines().count() == 1,
        "{stderr}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_data_error_leaves_no_run_directory() {
    let dir = scratch("data-error");
    let cifar = dir.join("cifar");
    random_cifar(&cifar, 3);
    let config = format!(
        "dataset = \"cifar10\"\ndata_dir = \"{}\"\nn_samples = 16\nn_test = 3\nbatch_size = 4\ndepths = [8]\nbase_channels = 2\nmax_steps = 1\n",
        cifar.display()
    );
    refused(
        &sweep(&dir, &config),
        "15 training images, fewer than the 16",
    );
    assert!(!dir.join("run").exists(), "nothing left behind");
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn networks_trained_side_by_side_equal_each_trained_alone_bit_for_bit() {
    let dir = scratch("jobs");
    // Alone, each network but 140 splits its batch, two chunks of 128 rows, over the 2
    // threads (140's trace takes one chunk of 256). Together, the pool deals the threads by
    // cost: 140 and 120 take one each, side by side, and the others one or two as threads
    // come free.
    let config = |depths: &str| {
        TINY.replace("depths = [2, 6]", &format!("depths = {depths}"))
            .replace("width = 4", "width = 16")
            .replace("n_samples = 200", "n_samples = 512")
            .replace("batch_size = 50", "batch_size = 256")
            .replace("max_steps = 120", "max_steps = 40")
            .replace("epsilon = 1e-6", "epsilon = 0.0")
            .replace("lr = 0.5", "lr = 0.05")
    };
    let run = |name: &str, depths: &str| {
        let path = dir.join(format!("{name}.toml"));
        fs::write(&path, config(depths)).unwrap();
        let out = dir.join(name);
        let (path, out_str) = (path.to_str().unwrap(), out.to_str().unwrap());
        let args = ["sweep", "--config", path, "--out", out_str, "--no-report"];
        let output = native_on("cpu", &[&args[..], &["--jobs", "2"]].concat());
        assert!(output.status.success(), "{}", text_of(&output));
        out
    };
    let together = run("together", "[2, 140, 8, 30, 120]");
    let files = |run: &Path, depth: usize| {
        let unit = run.join(format!("depth_{depth}"));
        let result: DepthResult =
            serde_json::from_str(&fs::read_to_string(unit.join("result.json")).unwrap()).unwrap();
        let weights = fs::read(unit.join("weights.safetensors")).unwrap();
        (weights, result.outcome.history)
    };
    for depth in [2, 140, 8, 30, 120] {
        let alone = run(&format!("alone{depth}"), &format!("[{depth}]"));
        assert!(
            files(&together, depth) == files(&alone, depth),
            "depth {depth}: trained beside others, its numbers changed"
        );
    }
    fs::remove_dir_all(&dir).unwrap();
}
