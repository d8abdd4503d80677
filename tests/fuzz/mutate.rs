//! Mutations of fuzz inputs: byte-level (flips, interesting values, inserts, deletes,
//! splices), token-level for text (numbers replaced by edge cases), and structure-aware for
//! safetensors files (the JSON header mutated as text, its length kept consistent) and run
//! directory files (`path\0bytes`: the path kept, the bytes mutated by their kind).

/// splitmix64: a small deterministic generator, so that a seed replays a run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Numbers at the edges, as text: zero, negatives, overflow, NaN, ∞, near-one bases.
const NUMBERS: [&str; 18] = [
    "0",
    "-1",
    "1",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "4294967296",
    "9223372036854775807",
    "18446744073709551615",
    "4611686018427387904",
    "1.0000000001",
    "0.9999999999",
    "65536",
    "100000",
    "\"\"",
];

/// Words at the edges, as 4 bytes: 0, ±1, sign bits, u32::MAX, and f32 NaN, ±∞, MAX, denormal.
const WORDS: [u32; 11] = [
    0,
    1,
    0xffff_ffff,
    0x7fff_ffff,
    0x8000_0000,
    0x7fc0_0000,
    0x7f80_0000,
    0xff80_0000,
    0x7f7f_ffff,
    0x0000_0001,
    0x0001_0000,
];

/// How a target's inputs are mutated.
#[derive(Clone, Copy)]
pub enum Mutator {
    Binary,
    Text,
    Safetensors,
    /// `path\0bytes`: one file of a run directory.
    RunFile,
}

impl Mutator {
    /// One to four stacked mutations of `input` (`corpus` for splices).
    pub fn mutate(self, input: &[u8], corpus: &[&[u8]], rng: &mut Rng) -> Vec<u8> {
        match self {
            Mutator::Binary => stacked(input, corpus, rng, false),
            Mutator::Text => stacked(input, corpus, rng, true),
            Mutator::Safetensors => safetensors(input, corpus, rng),
            Mutator::RunFile => run_file(input, rng),
        }
    }
}

fn stacked(input: &[u8], corpus: &[&[u8]], rng: &mut Rng, text: bool) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        once(&mut out, corpus, rng, text);
    }
    out
}

/// One mutation in place.
fn once(out: &mut Vec<u8>, corpus: &[&[u8]], rng: &mut Rng, text: bool) {
    let len = out.len();
    let at = rng.below(len + 1);
    let span = 1 + rng.below(16.min(len.max(1)));
    match rng.below(if text { 10 } else { 9 }) {
        0 if len > 0 => out[at.min(len - 1)] ^= 1 << rng.below(8),
        1 if len > 0 => out[at.min(len - 1)] = rng.next() as u8,
        2 if len > 0 => out[at.min(len - 1)] = [0, 0xff, 0x7f, 0x80, b'\n', b'"'][rng.below(6)],
        3 => {
            let end = (at + span).min(len);
            out.drain(at.min(end)..end);
        }
        4 => {
            let bytes: Vec<u8> = (0..span).map(|_| rng.next() as u8).collect();
            out.splice(at..at, bytes);
        }
        5 if len > 0 => {
            let start = rng.below(len);
            let piece = out[start..(start + span).min(len)].to_vec();
            out.splice(at..at, piece);
        }
        6 => {
            let word = WORDS[rng.below(WORDS.len())].to_le_bytes();
            let end = (at + 4).min(len);
            out.splice(at..end, word);
        }
        7 => {
            let other = corpus[rng.below(corpus.len())];
            let from = rng.below(other.len() + 1);
            out.truncate(at);
            out.extend_from_slice(&other[from..]);
        }
        8 => out.truncate(at),
        _ => number(out, rng),
    }
}

/// Replaces a run of digits (a number in text) with an edge-case number.
fn number(out: &mut Vec<u8>, rng: &mut Rng) {
    let digits: Vec<usize> = (0..out.len())
        .filter(|&i| out[i].is_ascii_digit())
        .collect();
    if digits.is_empty() {
        return;
    }
    let start = digits[rng.below(digits.len())];
    let mut end = start;
    while end < out.len() && (out[end].is_ascii_digit() || b".eE-+".contains(&out[end])) {
        end += 1;
    }
    let replacement = NUMBERS[rng.below(NUMBERS.len())].as_bytes().to_vec();
    out.splice(start..end, replacement);
}

/// A safetensors file: 8 bytes of header length, the JSON header, the tensor bytes. Half the
/// time the header is mutated as text and its length rewritten, else the whole file as bytes.
fn safetensors(input: &[u8], corpus: &[&[u8]], rng: &mut Rng) -> Vec<u8> {
    let header = input
        .get(..8)
        .map(|n| u64::from_le_bytes(n.try_into().unwrap()) as usize)
        .filter(|&n| 8 + n <= input.len());
    match header {
        Some(n) if rng.below(2) == 0 => {
            let text = stacked(&input[8..8 + n], corpus, rng, true);
            let mut out = (text.len() as u64).to_le_bytes().to_vec();
            out.extend(text);
            out.extend_from_slice(&input[8 + n..]);
            out
        }
        _ => stacked(input, corpus, rng, false),
    }
}

/// `path\0bytes`: mutates the bytes, as text for .json and .toml files, as safetensors for
/// .safetensors files.
fn run_file(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let Some(split) = input.iter().position(|&b| b == 0) else {
        return input.to_vec();
    };
    let (path, bytes) = (&input[..split], &input[split + 1..]);
    let name = String::from_utf8_lossy(path);
    let mutated = if name.ends_with(".safetensors") {
        safetensors(bytes, &[bytes], rng)
    } else {
        stacked(bytes, &[bytes], rng, true)
    };
    [path, &[0], &mutated].concat()
}
