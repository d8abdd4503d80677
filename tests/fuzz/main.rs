//! Fuzzing on stable Rust, in the test command: every reader of user input gets its seed
//! corpus and every input that ever failed (tests/fuzz/corpus/<target>/), then random
//! mutations of them for $FUZZ_SECONDS seconds (default 2) per target. Targets: the sweep
//! config (TOML → plan → memory estimate), the safetensors weights (and the statistics and
//! figures drawn from them), the data file, IDX, CIFAR-10 records, and `native analyze` on a
//! run directory with one file mutated.
//!
//! A failure is a panic, an input running past the per-input timeout, a broken round trip,
//! or (for `analyze`) any end but success or a one-line error: the input is saved into its
//! corpus directory as crash-<hash>, where it stays as a regression test, and the test fails.
//! `scripts/fuzz.sh SECONDS` runs each target longer and prints inputs per target.
//!
//! No coverage feedback (that needs nightly's sanitizers): mutations are byte- and
//! token-level, and structure-aware for safetensors headers and run directories.

mod mutate;
mod targets;

use mutate::{Mutator, Rng};
use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// An input that hangs longer than this is a failure.
const TIMEOUT: Duration = Duration::from_secs(20);

/// What a target says of one input: whether it was accepted (parsed and used whole) or
/// rejected with an error; `Err` is a failure.
pub type Verdict = Result<bool, String>;

/// The directory of a target's corpus.
fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fuzz/corpus")
        .join(target)
}

/// The files of a target's corpus, sorted by name.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(corpus_dir(target))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into(),
                fs::read(&p).unwrap(),
            )
        })
        .collect()
}

/// FNV-1a, to name a saved input by its bytes.
fn hash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Keeps a failing input in the corpus, where it stays as a regression test.
fn save(target: &str, input: &[u8]) -> PathBuf {
    let path = corpus_dir(target).join(format!("crash-{:016x}", hash(input)));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, input).unwrap();
    path
}

/// One input, a panic caught as a failure.
fn check(run: &dyn Fn(&[u8]) -> Verdict, input: &[u8]) -> Verdict {
    match panic::catch_unwind(AssertUnwindSafe(|| run(input))) {
        Ok(verdict) => verdict,
        Err(payload) => Err(format!(
            "panicked: {}",
            payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    }
}

/// A watchdog: when no input finishes for [`TIMEOUT`], saves the one in progress and ends
/// the process (a hang cannot be interrupted from inside).
fn watch(target: &'static str, done: Arc<AtomicU64>, current: Arc<Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut last = (u64::MAX, Instant::now());
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let count = done.load(Ordering::Relaxed);
            if count == u64::MAX {
                return;
            }
            if count != last.0 {
                last = (count, Instant::now());
            } else if last.1.elapsed() > TIMEOUT {
                let path = save(target, &current.lock().unwrap());
                eprintln!(
                    "fuzz {target}: an input ran past {TIMEOUT:?}, saved as {}",
                    path.display()
                );
                std::process::exit(1);
            }
        }
    });
}

/// Runs the corpus of `target` (its directory, and `seeds` made at run time), then
/// mutations of it for the time budget; panics naming the saved input at the first failure.
/// Prints the count of inputs.
pub fn fuzz(
    target: &'static str,
    mutator: Mutator,
    seeds: Vec<Vec<u8>>,
    run: &dyn Fn(&[u8]) -> Verdict,
) {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| panic::set_hook(Box::new(|_| {})));
    let seconds: f64 = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            hash(target.as_bytes()) ^ now.map_or(0, |t| t.as_nanos() as u64)
        });
    let mut corpus = corpus(target);
    corpus.extend(
        seeds
            .into_iter()
            .map(|s| ("(made at run time)".to_string(), s)),
    );
    assert!(
        !corpus.is_empty(),
        "{target}: no seed corpus in {}",
        corpus_dir(target).display()
    );
    let done = Arc::new(AtomicU64::new(0));
    let current = Arc::new(Mutex::new(Vec::new()));
    watch(target, done.clone(), current.clone());
    let fail = |input: &[u8], why: String| {
        done.store(u64::MAX, Ordering::Relaxed);
        let path = save(target, input);
        let message = format!(
            "fuzz {target} (seed {seed}): {why}; input saved as {}",
            path.display()
        );
        // The quiet panic hook hides the test's own panic: say it first.
        eprintln!("{message}");
        panic!("{message}");
    };
    let mut accepted = 0;
    for (name, input) in &corpus {
        *current.lock().unwrap() = input.clone();
        match check(run, input) {
            Ok(ok) => accepted += ok as u64,
            Err(why) => fail(input, format!("corpus file {name}: {why}")),
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    // Large seeds (a gzip bomb) are run, not mutated: each would cost a second.
    let inputs: Vec<&[u8]> = corpus
        .iter()
        .map(|(_, b)| b.as_slice())
        .filter(|b| b.len() <= 16 << 10)
        .collect();
    let mut rng = Rng(seed);
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < seconds {
        let input = mutator.mutate(inputs[rng.below(inputs.len())], &inputs, &mut rng);
        current.lock().unwrap().clone_from(&input);
        match check(run, &input) {
            Ok(ok) => accepted += ok as u64,
            Err(why) => fail(&input, why),
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    let count = done.swap(u64::MAX, Ordering::Relaxed);
    println!(
        "fuzz {target}: {count} inputs ({accepted} accepted whole) in {:.1} s (seed {seed}), no failure",
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn config() {
    fuzz("config", Mutator::Text, Vec::new(), &targets::config);
}

#[test]
fn weights() {
    fuzz(
        "weights",
        Mutator::Safetensors,
        Vec::new(),
        &targets::weights,
    );
}

#[test]
fn data() {
    fuzz("data", Mutator::Safetensors, Vec::new(), &targets::data);
}

#[test]
fn idx() {
    fuzz("idx", Mutator::Binary, Vec::new(), &targets::idx);
}

#[test]
fn cifar() {
    fuzz("cifar", Mutator::Binary, Vec::new(), &targets::cifar);
}

#[test]
fn analyze() {
    let run = targets::RunTemplate::new();
    fuzz("analyze", Mutator::RunFile, run.inputs(), &|input| {
        run.analyze(input)
    });
}
