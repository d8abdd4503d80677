//! The training step of the fully connected ResNet fused into a few CPU kernels: the same step
//! as [`ResNet::loss_and_gradients`](crate::model::resnet::ResNet::loss_and_gradients) and
//! [`Optim`](crate::train::optim::Optim), without a tensor library between the layers.
//!
//! For a batch (x, y) of B rows, h_0 = x and, with z_k = A_k h_k + b_k,
//!
//!   forward    h_{k+1} = h_k + δ_k σ(z_k),                   k = 0 .. L−1
//!   loss       ℓ = (1/(B d)) Σ_{n,i} (h_L − y)²_{n,i}
//!   backward   the adjoint recursion of [`crate::model::adjoint`], in its notation (p_k, q_k)
//!   update     u = ∂ℓ/∂w + λ w, then PyTorch's SGD or Adam step ([`crate::train::optim`])
//!
//! for every trainable w among A, b and δ (δ: `shared` or `per-layer`; `none` has δ_k = 1,
//! `fixed` δ_k = L^{−β}).
//!
//! How: activations are stored feature-major, a vector holding one feature of several samples
//! (see [`kernels`]), so that a narrow network fills its vectors. The forward pass keeps
//! σ(z_k) (z_k for gelu, whose σ′ needs it) of every layer in f32, L B d values (B rounded up
//! to the vector width), and h_k of every layer while that
//! fits in the caches, else every few layers, from where the backward pass rebuilds them
//! bit for bit (h_{k+1} = h_k + δ_k σ(z_k)); a trace too large for the last-level cache is
//! written past it ([`STREAM_CACHE_PART`]); the backward pass asks for each segment's trace
//! in the second-level cache while it goes through the segment above. It computes each layer
//! in one sweep over register tiles: z, σ, the residual, the stores. The backward pass
//! runs per layer one pointwise sweep (p, ∂ℓ/∂b_k, ∂ℓ/∂δ_k) and two tiled products (∂ℓ/∂A_k and
//! g_k); see [`kernels`] for the tiles and [`math`] for σ and σ′. The kernels are compiled
//! for AVX-512 and for AVX2 + FMA, picked at run time, and portably (which is what wasm32
//! runs). The batch is cut into chunks of [`chunk_rows`] rows, dealt in order to the worker
//! threads: a worker takes each of its chunks forward and back through every layer (so that
//! a layer's buffers stay in the first-level cache) into the chunk's own gradient, and the
//! update sums the chunks' gradients in their order, so that a network's numbers do not depend
//! on its thread count. All buffers are allocated once; a step allocates nothing that grows
//! with L. The loss on a data set is computed in the same chunks, so its memory does not grow
//! with the number of samples.

mod kernels;
mod math;
mod simd;

pub use simd::Isa;

use crate::data::synthetic::Dataset;
use crate::model::activation::Activation;
use crate::model::delta::DeltaMode;
use crate::model::weights::Weights;
use crate::parallel::{self, Team};
use crate::train::checkpoint::{Mismatch, OptimState};
use crate::train::optim::Rule;
use crate::train::session::{Stepper, TrainConfig};
use kernels::{Gradient, Job, Net, Worker};
use std::ops::Range;
use std::sync::Mutex;

/// A chunk's trace (h_k and σ(z_k) of every layer) of at most this many bytes is kept whole;
/// beyond it, h_k is kept in segments of about [`SEGMENT_BYTES`] (with σ(z_k)), rebuilt from
/// checkpoints during the backward pass (see [`kernels::Worker`]): half the memory traffic,
/// and the segment's h_k stay in the core's cache. Measured with two networks side by side
/// on this project's 2-core machine (2 MB of second-level cache a core), relu, B = 500,
/// 2026-12-05: d = 10, L = 100 (a 1 MB trace) 146 GFLOP/s kept whole against 136 in
/// segments; L = 200 127 against 134; L = 1000 106 (whole), 129 (segments of 512 KB), 117
/// (256 KB); d = 25, L = 1000 135 (whole), 156 (512 KB and 1 MB), 148 (256 KB).
const STORE_ALL_BYTES: usize = 1 << 20;
/// The workers' traces (σ(z_k) of every layer, every worker's chunk together) beyond this
/// part of the last-level cache are written past the caches ([`kernels::Worker::stream`]):
/// they come back from memory anyway, after the whole forward pass. Measured 2026-12-06 on
/// this project's 2-core machine (its VM reports 300 MB of L3), B = 500, tanh, two threads,
/// streamed against cached: d = 10, L = 1000 (traces of 20 MB in all) 0.84×, L = 3000 (60 MB)
/// 0.88×, L = 6000 (120 MB) 1.10×, L = 10⁴ (200 MB) 1.26×; d = 25, L = 10⁴ (512 MB) 1.11×.
const STREAM_CACHE_PART: usize = 4;
/// Bytes of trace per segment.
const SEGMENT_BYTES: usize = 512 << 10;
/// Fewest batch rows per worker.
const MIN_ROWS: usize = 32;
/// Rows of a chunk of a shallow network (see [`chunk_rows`]). A multiple of every instruction
/// set's lanes.
const CHUNK_ROWS: usize = 128;
/// A chunk's trace (h_k and σ(z_k) of every layer) of at most this many bytes at
/// [`CHUNK_ROWS`] rows makes [`chunk_rows`] choose them: about a core's second-level cache.
const CHUNK_TRACE_BYTES: usize = 2 << 20;
/// Most workers.
const MAX_THREADS: usize = 8;

/// The fused CPU implementation of the training step (see the module documentation).
pub struct FusedStepper {
    isa: Isa,
    activation: Activation,
    delta_mode: DeltaMode,
    depth: usize,
    d: usize,
    /// A_k, [L, d, d] row-major.
    a: Vec<f32>,
    /// b_k, [L, d].
    b: Vec<f32>,
    /// The trained δ: [1] (shared) or [L] (per layer).
    delta: Option<Vec<f32>>,
    /// δ_k as the update uses them, [L].
    deltas: Vec<f32>,
    /// ∂ℓ/∂δ, as long as `delta`.
    delta_grad: Vec<f32>,
    /// The optimiser's settings.
    train: TrainConfig,
    /// Updates made so far.
    t: u64,
    /// The optimiser's state, shaped as (a, b, δ): v (SGD with μ > 0) or m (Adam) ...
    m: State,
    /// ... and s (Adam); empty where not kept.
    s: State,
    threads: usize,
    /// The threads that run the workers and the update.
    team: Team,
    /// Layers per segment of the trace, when not chosen automatically.
    segment: Option<usize>,
    /// Whether the trace is written past the caches, when not chosen automatically.
    stream: Option<bool>,
    workers: Vec<Worker>,
    /// The loss and gradient of every chunk of the last batch, in its order.
    grads: Vec<Gradient>,
    data: Dataset,
}

impl FusedStepper {
    /// The step for the network with `weights` (their δ is used when `delta` trains it),
    /// training on `data` with `config`'s batch size and SGD settings.
    pub fn new(
        weights: &Weights,
        activation: Activation,
        delta: DeltaMode,
        data: &Dataset,
        config: &TrainConfig,
    ) -> Self {
        Self::on_cores(weights, activation, delta, data, config, parallel::cores())
    }

    /// As [`FusedStepper::new`] with `cores` free for its threads (see [`threads_for`]).
    pub fn on_cores(
        weights: &Weights,
        activation: Activation,
        delta: DeltaMode,
        data: &Dataset,
        config: &TrainConfig,
        cores: usize,
    ) -> Self {
        let isa = Isa::detect();
        Self::with_isa(isa, weights, activation, delta, data, config, cores)
    }

    /// As [`FusedStepper::on_cores`] on a given instruction set (it must be available).
    pub fn with_isa(
        isa: Isa,
        weights: &Weights,
        activation: Activation,
        delta_mode: DeltaMode,
        data: &Dataset,
        config: &TrainConfig,
        cores: usize,
    ) -> Self {
        let (depth, d) = (weights.depth, weights.width);
        assert!(depth >= 1 && d >= 1, "an empty network");
        assert_eq!(
            data.width, d,
            "data of width {} for a net of width {d}",
            data.width
        );
        assert_eq!(weights.a.len(), depth * d * d);
        assert_eq!(weights.b.len(), depth * d);
        let delta = match (delta_mode.trainable(), &weights.delta) {
            (true, Some(delta)) => {
                assert!(delta.len() == 1 || delta.len() == depth);
                Some(delta.clone())
            }
            (true, None) => panic!("δ mode {delta_mode:?} needs δ in the weights"),
            (false, _) => None,
        };
        let mut stepper = Self {
            isa,
            activation,
            delta_mode,
            depth,
            d,
            a: weights.a.clone(),
            b: weights.b.clone(),
            delta_grad: vec![0.0; delta.as_ref().map_or(0, Vec::len)],
            delta,
            deltas: vec![0.0; depth],
            train: config.clone(),
            t: 0,
            m: State::default(),
            s: State::default(),
            threads: 0,
            team: Team::new(0),
            segment: None,
            stream: None,
            workers: Vec::new(),
            grads: Vec::new(),
            data: data.clone(),
        };
        let states = Rule::states(&config.optim);
        let shaped = |kept: bool| State::shaped(kept, &stepper.a, &stepper.b, &stepper.delta_grad);
        (stepper.m, stepper.s) = (shaped(states >= 1), shaped(states >= 2));
        stepper.refresh_deltas();
        let batch = config.batch_size.max(1);
        stepper.set_threads(threads_for(batch, depth, d, cores), batch);
        stepper
    }

    /// Uses `threads` workers (at least 1; 1 where threads are not available), each with
    /// room for a chunk of `batch` rows. The numbers do not depend on the thread count.
    pub fn set_threads(&mut self, threads: usize, batch: usize) {
        let threads = if cfg!(target_family = "wasm") {
            1
        } else {
            threads.max(1)
        };
        let cap = batch.clamp(1, chunk_rows(self.depth, self.d));
        if threads != self.threads || self.workers.first().is_none_or(|w| w.cap < cap) {
            self.workers.clear();
            let (seg, lanes) = (self.segment(cap), self.isa.lanes());
            let stream = self.stream(threads, cap, lanes);
            self.workers = (0..threads)
                .map(|_| Worker::new(cap, seg, self.depth, self.d, lanes, stream))
                .collect();
            if threads != self.threads {
                self.team = Team::new(threads - 1);
            }
            self.threads = threads;
        }
    }

    /// Layers per segment of the trace for workers of `cap` rows: all of them when the whole
    /// trace fits in [`STORE_ALL_BYTES`], else as many as fit in [`SEGMENT_BYTES`] (see
    /// [`kernels::Worker`]), unless set by [`FusedStepper::set_segment`].
    fn segment(&self, cap: usize) -> usize {
        let layer = Worker::layer_bytes(cap, self.d);
        match self.segment {
            Some(seg) => seg,
            None if self.depth * layer <= STORE_ALL_BYTES => self.depth,
            None => (SEGMENT_BYTES / layer).max(1),
        }
    }

    /// Keeps the trace in segments of `layers` layers (`None`: the automatic choice), and
    /// rebuilds the workers.
    pub fn set_segment(&mut self, layers: Option<usize>) {
        self.segment = layers;
        self.rebuild_workers();
    }

    /// Whether `threads` workers of `cap` rows write their trace past the caches: when their
    /// traces together pass a [`STREAM_CACHE_PART`] of the last-level cache (never where its
    /// size is unknown), unless set by [`FusedStepper::set_stream`].
    fn stream(&self, threads: usize, cap: usize, lanes: usize) -> bool {
        let trace = threads * self.depth * self.d * cap.div_ceil(lanes) * lanes * 4;
        let cache = parallel::last_level_cache_bytes();
        self.stream
            .unwrap_or_else(|| cache.is_some_and(|c| trace > c / STREAM_CACHE_PART))
    }

    /// Writes the trace past the caches or not (`None`: the automatic choice), and rebuilds
    /// the workers.
    pub fn set_stream(&mut self, stream: Option<bool>) {
        self.stream = stream;
        self.rebuild_workers();
    }

    /// Whether the trace is written past the caches.
    pub fn streams(&self) -> bool {
        self.workers[0].stream
    }

    fn rebuild_workers(&mut self) {
        let (threads, cap) = (self.threads, self.workers[0].cap);
        self.threads = 0;
        self.set_threads(threads, cap);
    }

    /// Layers per segment of the trace.
    pub fn segment_layers(&self) -> usize {
        self.workers[0].seg
    }

    /// The number of worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The instruction set the kernels run on.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    /// The weights, unpadded, with δ as [`ResNet::to_weights`](crate::model::resnet::ResNet::to_weights)
    /// gives it.
    pub fn to_weights(&self) -> Weights {
        let l = self.depth;
        Weights {
            depth: l,
            width: self.d,
            a: self.a.clone(),
            b: self.b.clone(),
            delta: match self.delta_mode {
                DeltaMode::None => None,
                mode @ DeltaMode::Fixed { .. } => mode.fixed(l).map(|v| vec![v as f32]),
                DeltaMode::Shared | DeltaMode::PerLayer => self.delta.clone(),
            },
        }
    }

    /// The loss ℓ on the batch (x, y), each [n, d] row-major, and its gradient, shaped as
    /// weights (`delta` is `None` unless δ is trained).
    pub fn loss_and_gradients(&mut self, x: &[f32], y: &[f32]) -> (f64, Weights) {
        let loss = self.backward(x, y);
        let (l, d) = (self.depth, self.d);
        let sum = |part: fn(&Gradient) -> &Vec<f32>| {
            let mut total = vec![0f32; part(&self.grads[0]).len()];
            for grad in &self.grads {
                total.iter_mut().zip(part(grad)).for_each(|(t, v)| *t += v);
            }
            total
        };
        let mut grad_delta = vec![0.0; self.delta.as_ref().map_or(0, Vec::len)];
        if let Some(delta) = &self.delta {
            delta_gradient(self.delta_mode, delta, &self.grads, &mut grad_delta);
        }
        let gradient = Weights {
            depth: l,
            width: d,
            a: sum(|g| &g.a),
            b: sum(|g| &g.b),
            delta: self.delta.as_ref().map(|_| grad_delta),
        };
        (loss, gradient)
    }

    /// Forward and backward on (x, y): [`FusedStepper::grads`] holds each chunk's part.
    /// Returns the loss.
    fn backward(&mut self, x: &[f32], y: &[f32]) -> f64 {
        let d = self.d;
        let n = x.len() / d;
        assert!(
            n >= 1 && x.len() == n * d && y.len() == x.len(),
            "a bad batch"
        );
        if n.min(chunk_rows(self.depth, self.d)) > self.workers[0].cap {
            self.set_threads(self.threads, n);
        }
        let depth = self.depth;
        let chunks = n.div_ceil(self.workers[0].cap);
        self.grads.resize_with(chunks, || Gradient::new(depth, d));
        let scale = 2.0 / (n * d) as f32;
        let mut grads = std::mem::take(&mut self.grads);
        let jobs = self.deal(n, &mut grads).into_iter();
        let jobs = jobs.map(|(part, grads)| Job::Train {
            x: &x[part.clone()],
            y: &y[part],
            scale,
            grads,
        });
        self.run(jobs.collect());
        self.grads = grads;
        let total: f64 = self.grads.iter().map(|g| g.loss).sum();
        total / (n * d) as f64
    }

    /// Deals n rows to the workers in chunks of their capacity, evenly and in order, with
    /// `out`, one entry per chunk: worker t's values of x (a range of the [n, d] rows) and its
    /// chunks' entries.
    fn deal<'o, T>(&self, n: usize, out: &'o mut [T]) -> Vec<(Range<usize>, &'o mut [T])> {
        let (threads, cap, d) = (self.threads, self.workers[0].cap, self.d);
        let chunks = n.div_ceil(cap);
        assert_eq!(out.len(), chunks);
        let mut rest = out;
        (0..threads)
            .map(|t| {
                let c = (chunks * t / threads)..(chunks * (t + 1) / threads);
                let (own, others) = std::mem::take(&mut rest).split_at_mut(c.len());
                rest = others;
                ((c.start * cap).min(n) * d..(c.end * cap).min(n) * d, own)
            })
            .collect()
    }

    /// Runs jobs[t] on worker t, on its own thread for t > 0.
    fn run(&mut self, jobs: Vec<Job>) {
        let net = Net {
            d: self.d,
            depth: self.depth,
            a: &self.a,
            b: &self.b,
            deltas: &self.deltas,
        };
        let (isa, activation) = (self.isa, self.activation);
        assert_eq!(jobs.len(), self.workers.len());
        let parts: Vec<Mutex<(&mut Worker, Option<Job>)>> = self
            .workers
            .iter_mut()
            .zip(jobs)
            .map(|(worker, job)| Mutex::new((worker, Some(job))))
            .collect();
        self.team.run(&|t| {
            let mut part = parts[t].lock().expect("one thread per worker");
            let (worker, job) = &mut *part;
            let job = job.take().expect("one job per worker");
            dispatch(isa, activation, &net, worker, job);
        });
    }

    /// The loss on all rows of (x, y), in chunks, split over the workers (summed in the
    /// chunks' order).
    fn loss_on(&mut self, x: &[f32], y: &[f32]) -> f64 {
        let d = self.d;
        let n = x.len() / d;
        if n == 0 {
            return f64::NAN;
        }
        let mut losses = vec![0.0; n.div_ceil(self.workers[0].cap)];
        let jobs = self.deal(n, &mut losses).into_iter();
        let jobs = jobs.map(|(part, losses)| Job::Eval {
            x: &x[part.clone()],
            y: &y[part],
            losses,
        });
        self.run(jobs.collect());
        losses.iter().sum::<f64>() / (n * d) as f64
    }

    /// One update of the optimiser from the chunks' gradients.
    fn apply_update(&mut self) {
        let d = self.d;
        self.t += 1;
        let rule = Rule::new(&self.train.optim, self.t);
        // A and b in ranges of layers, one a thread, whatever the size: with two threads on
        // 2 cores (2026-12-06, B = 500) as fast at d = 10, L = 10 as the update on one, 2–4%
        // faster at L = 30 and 100, 4% at d = 25, L = 100.
        let (l, threads) = (self.depth, self.threads);
        let parts = threads.min(l);
        let per = l.div_ceil(parts);
        let grads = &self.grads;
        let mut ma = self.m.a.chunks_mut(per * d * d);
        let mut mb = self.m.b.chunks_mut(per * d);
        let mut sa = self.s.a.chunks_mut(per * d * d);
        let mut sb = self.s.b.chunks_mut(per * d);
        let ranges = self
            .a
            .chunks_mut(per * d * d)
            .zip(self.b.chunks_mut(per * d))
            .enumerate()
            .map(|(i, (a, b))| Layers {
                first: i * per,
                a,
                b,
                ma: ma.next().unwrap_or_default(),
                mb: mb.next().unwrap_or_default(),
                sa: sa.next().unwrap_or_default(),
                sb: sb.next().unwrap_or_default(),
            });
        let parts: Vec<Mutex<Option<Layers>>> = ranges.map(|l| Mutex::new(Some(l))).collect();
        let update = |t: usize| {
            let part = parts
                .get(t)
                .and_then(|p| p.lock().expect("one thread a part").take());
            if let Some(layers) = part {
                layers.update(grads, d, &rule);
            }
        };
        if parts.len() == 1 {
            update(0);
        } else {
            self.team.run(&update);
        }
        if let Some(delta) = self.delta.as_mut() {
            let grad = &mut self.delta_grad;
            delta_gradient(self.delta_mode, delta, &self.grads, grad);
            let (m, s) = (&mut self.m.delta, &mut self.s.delta);
            update_values(delta, m, s, &[grad], &rule);
        }
        self.refresh_deltas();
    }

    /// δ_k from δ.
    fn refresh_deltas(&mut self) {
        let l = self.depth;
        match (self.delta_mode, &self.delta) {
            (DeltaMode::None, _) => self.deltas.fill(1.0),
            (mode @ DeltaMode::Fixed { .. }, _) => {
                self.deltas.fill(mode.fixed(l).expect("fixed δ") as f32)
            }
            (DeltaMode::Shared, Some(delta)) => self.deltas.fill(delta[0].abs()),
            (DeltaMode::PerLayer, Some(delta)) => self.deltas.copy_from_slice(delta),
            (mode, None) => unreachable!("trainable δ mode {mode:?} without δ"),
        }
    }
}

/// The optimiser's state of every weight, laid out as the weights; empty
/// vectors where it keeps none.
#[derive(Default)]
struct State {
    a: Vec<f32>,
    b: Vec<f32>,
    delta: Vec<f32>,
}

impl State {
    /// Zeros shaped as a, b and δ when `kept`, else empty.
    fn shaped(kept: bool, a: &[f32], b: &[f32], delta: &[f32]) -> Self {
        let zeros = |v: &[f32]| if kept { vec![0.0; v.len()] } else { Vec::new() };
        Self {
            a: zeros(a),
            b: zeros(b),
            delta: zeros(delta),
        }
    }
}

/// The weights of a range of layers, from layer `first` on, and their optimiser state
/// (empty where not kept), for their update.
struct Layers<'a> {
    first: usize,
    a: &'a mut [f32],
    b: &'a mut [f32],
    ma: &'a mut [f32],
    mb: &'a mut [f32],
    sa: &'a mut [f32],
    sb: &'a mut [f32],
}

impl Layers<'_> {
    /// The update of A and b with the chunks' gradients.
    fn update(self, chunks: &[Gradient], d: usize, rule: &Rule) {
        let range =
            |len: usize, per_layer: usize| self.first * per_layer..self.first * per_layer + len;
        let (ra, rb) = (range(self.a.len(), d * d), range(self.b.len(), d));
        let grads: Vec<&[f32]> = chunks.iter().map(|g| &g.a[ra.clone()]).collect();
        update_values(self.a, self.ma, self.sa, &grads, rule);
        let grads: Vec<&[f32]> = chunks.iter().map(|g| &g.b[rb.clone()]).collect();
        update_values(self.b, self.mb, self.sb, &grads, rule);
    }
}

impl Stepper for FusedStepper {
    fn update(&mut self, x: &[f32], y: &[f32]) {
        self.backward(x, y);
        self.apply_update();
    }

    fn state(&self) -> OptimState {
        let kept = |s: &State| {
            (!s.a.is_empty()).then(|| Weights {
                depth: self.depth,
                width: self.d,
                a: s.a.clone(),
                b: s.b.clone(),
                delta: self.delta.as_ref().map(|_| s.delta.clone()),
            })
        };
        OptimState {
            weights: self.to_weights(),
            t: self.t,
            m: kept(&self.m),
            s: kept(&self.s),
        }
    }

    fn restore(&mut self, state: &OptimState) -> Result<(), Mismatch> {
        let trained = self.delta.as_ref().map(Vec::len);
        state.check(self.depth, self.d, trained, Rule::states(&self.train.optim))?;
        self.a.copy_from_slice(&state.weights.a);
        self.b.copy_from_slice(&state.weights.b);
        if let (Some(delta), Some(saved)) = (self.delta.as_mut(), &state.weights.delta) {
            delta.copy_from_slice(saved);
        }
        for (kept, saved) in [(&mut self.m, &state.m), (&mut self.s, &state.s)] {
            if let Some(saved) = saved {
                kept.a.copy_from_slice(&saved.a);
                kept.b.copy_from_slice(&saved.b);
                kept.delta
                    .copy_from_slice(saved.delta.as_deref().unwrap_or_default());
            }
        }
        self.t = state.t;
        self.refresh_deltas();
        Ok(())
    }

    fn train_loss(&mut self) -> f64 {
        let data = std::mem::replace(&mut self.data, empty(self.d));
        let loss = self.loss_on(&data.x_train, &data.y_train);
        self.data = data;
        loss
    }

    fn test_loss(&mut self) -> f64 {
        let data = std::mem::replace(&mut self.data, empty(self.d));
        let loss = self.loss_on(&data.x_test, &data.y_test);
        self.data = data;
        loss
    }
}

fn empty(width: usize) -> Dataset {
    Dataset {
        width,
        x_train: Vec::new(),
        y_train: Vec::new(),
        x_test: Vec::new(),
        y_test: Vec::new(),
    }
}

/// ∂ℓ/∂δ into `grad` (as long as δ) from the chunks' per-layer sums Σ g_{k+1} ⊙ σ(z_k).
fn delta_gradient(mode: DeltaMode, delta: &[f32], chunks: &[Gradient], grad: &mut [f32]) {
    let layer = |k: usize| chunks.iter().map(|g| g.delta[k] as f64).sum::<f64>();
    match mode {
        DeltaMode::PerLayer => {
            for (k, g) in grad.iter_mut().enumerate() {
                *g = layer(k) as f32;
            }
        }
        DeltaMode::Shared => {
            let depth = chunks[0].delta.len();
            let total: f64 = (0..depth).map(layer).sum();
            grad[0] = sign(delta[0]) * total as f32;
        }
        DeltaMode::None | DeltaMode::Fixed { .. } => unreachable!("δ is not trained"),
    }
}

/// sign(x) with sign(0) = 0, as burn's `sign`.
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The optimiser's update (see [`crate::train::optim`]) of w with the gradient Σ of `grads`
/// (each as long as w) and the state m, s (as long as w, or empty when not kept), in blocks
/// of 256 values whose loops the compiler vectorises (blocks of 16 took 3.5% of a step at
/// d = 10, L = 100 on one thread, 256 take 1.5%: 2026-12-06).
fn update_values(w: &mut [f32], m: &mut [f32], s: &mut [f32], grads: &[&[f32]], rule: &Rule) {
    let wd = rule.weight_decay();
    let mut u = [0f32; 256];
    for c in (0..w.len()).step_by(u.len()) {
        let r = c..(c + u.len()).min(w.len());
        let u = &mut u[..r.len()];
        let w = &mut w[r.clone()];
        u.iter_mut().zip(w.iter()).for_each(|(u, w)| *u = wd * w);
        for g in grads {
            u.iter_mut().zip(&g[r.clone()]).for_each(|(u, g)| *u += g);
        }
        rule.step(w, u, part(m, r.clone()), part(s, r));
    }
}

/// The values r of a state buffer, or the empty buffer.
fn part(v: &mut [f32], r: std::ops::Range<usize>) -> &mut [f32] {
    if v.is_empty() {
        v
    } else {
        &mut v[r]
    }
}

/// Rows of a chunk of a network of depth L and width d: a batch is cut into chunks of this
/// many rows (the last one shorter), each taken through the network by one worker
/// ([`kernels::Job`]) with its own gradient, and the loss and the gradient are summed over the
/// chunks in their order, so that a network's numbers do not depend on its thread count.
/// [`CHUNK_ROWS`] while a chunk's trace fits in [`CHUNK_TRACE_BYTES`]: a layer's buffers of a
/// chunk (h_k, σ(z_k), g, p: 5 KB each at d = 10) stay in the first-level cache, the trace in
/// the second. Beyond, the trace comes from memory whatever the chunk, and twice the rows
/// halve the other traffic a chunk makes: A_k read and its own ∂ℓ/∂A_k written at every layer,
/// d floats for every row's d floats of trace (2026-12-05, two threads, B = 500: d = 25, L =
/// 1000 at 128 rows ran 10% slower than at 250).
pub fn chunk_rows(depth: usize, d: usize) -> usize {
    if Worker::layer_bytes(CHUNK_ROWS, d) * depth <= CHUNK_TRACE_BYTES {
        CHUNK_ROWS
    } else {
        2 * CHUNK_ROWS
    }
}

/// The threads that split a batch of B rows of a network of depth L and width d when `cores`
/// are free (what [`FusedStepper::new`] takes with every core of the machine): as many as
/// the cores, the rows ([`MIN_ROWS`] each) and [`MAX_THREADS`] allow, and no more than the
/// batch's chunks. However small the network, a second thread pays for a lone one (B = 500,
/// 2026-12-06, 2 cores: 1.67× one thread at d = 10, L = 10; 1.26–1.40× at L = 25 to 100;
/// 1.40–1.79× at d = 25 and 32, L = 10 to 25); a sweep's pool (`native sweep --jobs`) gives
/// its networks fewer when they can run side by side. A network's numbers do not depend on
/// its thread count (see [`chunk_rows`]); they depend on the machine only through its
/// instruction set.
pub fn threads_for(batch: usize, depth: usize, d: usize, cores: usize) -> usize {
    let chunks = batch.div_ceil(chunk_rows(depth, d));
    cores
        .min(batch / MIN_ROWS)
        .min(chunks)
        .clamp(1, MAX_THREADS)
}

/// Runs a job on `isa` with the activation's kernels.
fn dispatch(isa: Isa, activation: Activation, net: &Net, worker: &mut Worker, job: Job) {
    macro_rules! with_act {
        ($run:ident) => {
            match activation {
                Activation::Tanh => $run::<math::Tanh>(net, worker, job),
                Activation::Relu => $run::<math::Relu>(net, worker, job),
                Activation::Linear => $run::<math::Linear>(net, worker, job),
                Activation::Sigmoid => $run::<math::Sigmoid>(net, worker, job),
                Activation::Gelu => $run::<math::Gelu>(net, worker, job),
                Activation::Abs => $run::<math::Abs>(net, worker, job),
            }
        };
    }
    match isa {
        Isa::Portable => with_act!(run_portable),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => with_act!(run_avx2),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => with_act!(run_avx512),
    }
}

fn run_portable<A: math::Act>(net: &Net, worker: &mut Worker, job: Job) {
    // SAFETY: the portable vectors need no instruction set; `Net` and `Worker` are built by
    // this module with the sizes the kernels assert.
    unsafe { kernels::run::<simd::Portable, A, 4, 2, 2>(simd::Portable, net, worker, job) }
}

#[cfg(target_arch = "x86_64")]
fn run_avx2<A: math::Act>(net: &Net, worker: &mut Worker, job: Job) {
    #[target_feature(enable = "avx2,fma")]
    unsafe fn inner<A: math::Act>(net: &Net, worker: &mut Worker, job: Job) {
        // SAFETY: this function runs only where AVX2 and FMA were detected.
        unsafe {
            kernels::run::<simd::x86::Avx2, A, 6, 2, 2>(simd::x86::Avx2::new(), net, worker, job)
        }
    }
    assert!(
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    );
    // SAFETY: the features were just checked.
    unsafe { inner::<A>(net, worker, job) }
}

#[cfg(target_arch = "x86_64")]
fn run_avx512<A: math::Act>(net: &Net, worker: &mut Worker, job: Job) {
    #[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
    unsafe fn inner<A: math::Act>(net: &Net, worker: &mut Worker, job: Job) {
        // SAFETY: this function runs only where AVX-512F and DQ were detected.
        unsafe {
            kernels::run::<simd::x86::Avx512, A, 6, 4, 4>(
                simd::x86::Avx512::new(),
                net,
                worker,
                job,
            )
        }
    }
    assert!(Isa::detect() == Isa::Avx512);
    // SAFETY: the feature was just checked.
    unsafe { inner::<A>(net, worker, job) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic::SyntheticConfig;
    use crate::model::init::{normal_vec, rng};
    use crate::model::resnet::{host_tensor, mse, ResNet, ResNetConfig};
    use crate::testing::TestBackend as B;
    use crate::train::optim::OptimConfig;
    use crate::train::optim::{Optim, Optimizer};
    use crate::train::session::{train, BurnStepper};
    use burn::tensor::Tensor;

    use crate::testing::TEST_MODES as MODES;

    /// The instruction sets of this machine: the portable kernels always, the others when
    /// the CPU has them.
    fn isas() -> Vec<Isa> {
        let mut isas = vec![Isa::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                isas.push(Isa::Avx2);
            }
            if Isa::detect() == Isa::Avx512 {
                isas.push(Isa::Avx512);
            }
        }
        isas
    }

    fn host<const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
        t.into_data().convert::<f64>().to_vec().unwrap()
    }

    fn wide(v: &[f32]) -> Vec<f64> {
        v.iter().map(|&x| x as f64).collect()
    }

    /// Every entry within tol × max(max|want|, 1e-6) of the wanted one.
    fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
        crate::testing::assert_close(what, got, want, tol, 1e-6)
    }

    fn batch(values: &[f32], d: usize) -> Tensor<B, 2> {
        host_tensor(values.to_vec(), [values.len() / d, d], &Default::default())
    }

    /// Weights large enough that every layer matters (δ three times its init).
    fn weights(act: Activation, mode: DeltaMode, depth: usize, d: usize) -> Weights {
        let mut weights = ResNetConfig::new(d, depth, act, mode)
            .with_initial_sd(2.0)
            .with_seed(3)
            .init_weights();
        if mode.trainable() {
            let delta = weights.delta.as_mut().unwrap();
            delta.iter_mut().for_each(|v| *v *= 3.0);
        }
        weights
    }

    /// Loss, gradient and two updates with weight decay, by SGD with momentum and by Adam, on
    /// every instruction set, with one and with three workers (rows split unevenly), with the
    /// whole trace and in segments (h_k rebuilt), the trace written through the caches and
    /// past them, for every activation and δ mode, against the
    /// burn model (f64) with the adjoint pass and `Optim`.
    #[test]
    fn fused_step_equals_the_burn_step() {
        let device = Default::default();
        // Rows of h padded (3), tiles of every row count up to 5 (20 in blocks of 5, 10, 3),
        // samples in whole tiles of vectors and single vectors, with padding samples (37 and
        // 150 are no multiple of 8 or 16), split over threads unevenly.
        for (d, depth, n) in [(3, 5, 37), (20, 3, 37), (10, 4, 150)] {
            let mut r = rng(5, d as u64);
            let batches: Vec<(Vec<f32>, Vec<f32>)> = (0..2)
                .map(|_| {
                    (
                        normal_vec(&mut r, n * d, 1.0),
                        normal_vec(&mut r, n * d, 0.5),
                    )
                })
                .collect();
            let data = SyntheticConfig {
                width: d,
                n_train: 8,
                n_test: 2,
                noise: 0.0,
                seed: 0,
            }
            .generate();
            let sgd = TrainConfig::new(n, OptimConfig::new(0.05), 0.0, 2)
                .with_momentum(0.9)
                .with_weight_decay(0.01);
            let adam = TrainConfig::new(n, OptimConfig::new(0.01), 0.0, 2)
                .with_optimizer(Optimizer::ADAM)
                .with_weight_decay(0.01);
            let cases = Activation::ALL
                .into_iter()
                .flat_map(|act| MODES.into_iter().map(move |mode| (act, mode)));
            for (act, mode) in cases {
                for config in [&sgd, &adam] {
                    let w0 = weights(act, mode, depth, d);
                    let mut model = ResNet::<B>::from_weights(&w0, act, mode, &device);
                    let mut optim = Optim::<B>::new(&config.optim);
                    let mut reference = Vec::new();
                    for (x, y) in &batches {
                        let (loss, grads) = model.loss_and_gradients(batch(x, d), batch(y, d));
                        reference.push((host(loss)[0], grads.clone()));
                        model = optim.step(model, grads);
                    }
                    let want = model.to_weights();
                    for isa in isas() {
                        for (threads, segment, stream) in [
                            (1, None, false),
                            (3, None, false),
                            (1, Some(1), false),
                            (3, Some(2), true),
                            (1, None, true),
                        ] {
                            let what = format!(
                                "{} {mode:?} {} d={d} {} threads={threads} segment={segment:?} \
                                 stream={stream}",
                                act.name(),
                                config.optim.optimizer.name(),
                                isa.name()
                            );
                            let mut fused =
                                FusedStepper::with_isa(isa, &w0, act, mode, &data, config, 1);
                            fused.set_threads(threads, n);
                            fused.set_segment(segment);
                            fused.set_stream(Some(stream));
                            assert_eq!(fused.streams(), stream);
                            for (i, (x, y)) in batches.iter().enumerate() {
                                let (loss, grad) = fused.loss_and_gradients(x, y);
                                let (want_loss, want_grad) = &reference[i];
                                let tol = 2e-5;
                                assert_close(
                                    &format!("{what} loss {i}"),
                                    &[loss],
                                    &[*want_loss],
                                    tol,
                                );
                                assert_close(
                                    &format!("{what} dA {i}"),
                                    &wide(&grad.a),
                                    &host(want_grad.a.clone()),
                                    tol,
                                );
                                assert_close(
                                    &format!("{what} db {i}"),
                                    &wide(&grad.b),
                                    &host(want_grad.b.clone()),
                                    tol,
                                );
                                assert_eq!(
                                    grad.delta.is_some(),
                                    want_grad.delta.is_some(),
                                    "{what}"
                                );
                                if let (Some(g), Some(w)) = (&grad.delta, &want_grad.delta) {
                                    assert_close(
                                        &format!("{what} dδ {i}"),
                                        &wide(g),
                                        &host(w.clone()),
                                        tol,
                                    );
                                }
                                fused.update(x, y);
                            }
                            let got = fused.to_weights();
                            assert_close(&format!("{what} A"), &wide(&got.a), &wide(&want.a), 1e-5);
                            assert_close(&format!("{what} b"), &wide(&got.b), &wide(&want.b), 1e-5);
                            assert_eq!(got.delta.is_some(), want.delta.is_some(), "{what}");
                            if let (Some(g), Some(w)) = (&got.delta, &want.delta) {
                                assert_close(&format!("{what} δ"), &wide(g), &wide(w), 1e-5);
                            }
                        }
                    }
                }
            }
        }
    }

    /// The loss on a data set (in chunks, over workers) equals the burn model's.
    #[test]
    fn data_set_losses_equal_the_burn_model() {
        let (d, depth) = (6, 4);
        let data = SyntheticConfig {
            width: d,
            n_train: 300,
            n_test: 70,
            noise: 0.1,
            seed: 2,
        }
        .generate();
        let config = TrainConfig::new(50, OptimConfig::new(0.1), 0.0, 1);
        for act in Activation::ALL {
            let w = weights(act, DeltaMode::PerLayer, depth, d);
            let model =
                ResNet::<B>::from_weights(&w, act, DeltaMode::PerLayer, &Default::default());
            let want = |x: &[f32], y: &[f32]| host(mse(model.forward(batch(x, d)), batch(y, d)))[0];
            for threads in [1, 2] {
                let mut fused = FusedStepper::new(&w, act, DeltaMode::PerLayer, &data, &config);
                // Chunks of 17 rows.
                fused.set_threads(threads, 17 * threads);
                let what = format!("{} threads={threads}", act.name());
                assert_close(
                    &what,
                    &[fused.train_loss()],
                    &[want(&data.x_train, &data.y_train)],
                    1e-5,
                );
                assert_close(
                    &what,
                    &[fused.test_loss()],
                    &[want(&data.x_test, &data.y_test)],
                    1e-5,
                );
            }
        }
    }

    /// A short training by `train` gives the same loss history and weights with the fused
    /// step as with the burn step.
    #[test]
    fn training_follows_the_burn_training() {
        let device = Default::default();
        let data = SyntheticConfig {
            width: 4,
            n_train: 200,
            n_test: 50,
            noise: 0.0,
            seed: 1,
        }
        .generate();
        let sgd = TrainConfig::new(20, OptimConfig::new(0.5), 0.0, 200)
            .with_log_every(50)
            .with_momentum(0.5)
            .with_weight_decay(1e-3);
        let adam = TrainConfig {
            optim: OptimConfig::new(0.01)
                .with_optimizer(Optimizer::ADAM)
                .with_weight_decay(sgd.optim.weight_decay),
            ..sgd.clone()
        };
        for (act, mode, config) in [
            (Activation::Tanh, DeltaMode::Shared, &sgd),
            (Activation::Relu, DeltaMode::PerLayer, &sgd),
            (Activation::Gelu, DeltaMode::Fixed { beta: 1.0 }, &sgd),
            (Activation::Tanh, DeltaMode::Shared, &adam),
            (Activation::Relu, DeltaMode::PerLayer, &adam),
            (Activation::Abs, DeltaMode::Fixed { beta: 0.5 }, &adam),
        ] {
            let weights = ResNetConfig::new(4, 8, act, mode)
                .with_initial_sd(0.5)
                .init_weights();
            let model = ResNet::<B>::from_weights(&weights, act, mode, &device);
            let mut burn_stepper = BurnStepper::new(model, &data, config);
            let want = train(&mut burn_stepper, &data, config, |_, _| {});
            let mut fused = FusedStepper::new(&weights, act, mode, &data, config);
            fused.set_segment(Some(3));
            let got = train(&mut fused, &data, config, |_, _| {});
            let what = format!("{} {mode:?} {}", act.name(), config.optim.optimizer.name());
            assert_eq!(got.steps, want.steps, "{what}");
            assert_eq!(got.stop_reason, want.stop_reason, "{what}");
            let losses = |o: &crate::train::results::TrainOutcome| -> Vec<f64> {
                o.history.iter().map(|p| p.train_loss.unwrap()).collect()
            };
            assert!(
                losses(&want)[4] < 0.5 * losses(&want)[0],
                "{what}: it learns"
            );
            assert_close(
                &format!("{what} losses"),
                &losses(&got),
                &losses(&want),
                1e-4,
            );
            assert_close(
                &format!("{what} test loss"),
                &[got.final_test_loss.unwrap()],
                &[want.final_test_loss.unwrap()],
                1e-4,
            );
            let (gw, ww) = (fused.to_weights(), burn_stepper.model.to_weights());
            assert_close(&format!("{what} A"), &wide(&gw.a), &wide(&ww.a), 1e-4);
        }
    }

    /// A training paused after `pause` updates, written to a checkpoint, read back into a
    /// fresh stepper and resumed, ends with the same weights, bit for bit, and the same
    /// outcome as the training never paused: SGD with momentum and Adam, every δ mode, a
    /// pause between loss measurements and one right after a measurement.
    #[test]
    fn a_resumed_training_equals_the_uninterrupted_one() {
        use crate::train::checkpoint::Checkpoint;
        use crate::train::session::{train_until, Session, TrainConfig};
        let data = SyntheticConfig {
            width: 4,
            n_train: 60,
            n_test: 10,
            noise: 0.0,
            seed: 1,
        }
        .generate();
        let optimizers = [(Optimizer::Sgd, 0.9), (Optimizer::ADAM, 0.0)];
        for ((optimizer, momentum), mode) in
            optimizers.into_iter().flat_map(|o| MODES.map(|m| (o, m)))
        {
            let config = TrainConfig::new(16, OptimConfig::new(0.05), 0.0, 60)
                .with_log_every(7)
                .with_optimizer(optimizer)
                .with_momentum(momentum)
                .with_seed(4);
            let init = weights(Activation::Tanh, mode, 5, 4);
            let stepper = || FusedStepper::new(&init, Activation::Tanh, mode, &data, &config);
            let mut whole = stepper();
            let want = train(&mut whole, &data, &config, |_, _| {});
            for pause in [25, 21] {
                let what = format!("{optimizer:?} μ={momentum} {mode:?} paused at {pause}");
                let mut first = stepper();
                let mut session = Session::new(&data, &config);
                let paused =
                    train_until(&mut first, &mut session, &data, |_, _| {}, |s| s == pause);
                assert!(paused.is_none(), "{what}");
                let bytes = Checkpoint {
                    step: session.step(),
                    history: session.history().to_vec(),
                    wall_time_s: 0.0,
                    engine: String::new(),
                    state: first.state(),
                }
                .to_safetensors();
                let checkpoint = Checkpoint::from_safetensors(&bytes).unwrap();
                let mut second = stepper();
                second.restore(&checkpoint.state).unwrap();
                let mut session =
                    Session::resume(&data, &config, checkpoint.step, &checkpoint.history);
                let got = train_until(&mut second, &mut session, &data, |_, _| {}, |_| false);
                assert_eq!(got.as_ref(), Some(&want), "{what}");
                assert_eq!(second.to_weights(), whole.to_weights(), "{what}");
            }
        }
    }

    /// A network's numbers do not depend on its thread count: whole trainings on 1, 2 and 3
    /// threads (a batch of 300 rows: chunks of 128, 128 and 44, dealt 1/1/1, 1/2 or 3) end
    /// with the same weights and losses, bit for bit, for every δ mode and both optimisers.
    #[test]
    fn the_numbers_do_not_depend_on_the_thread_count() {
        let data = SyntheticConfig {
            width: 3,
            n_train: 700,
            n_test: 150,
            noise: 0.0,
            seed: 2,
        }
        .generate();
        for (optimizer, mode) in [Optimizer::Sgd, Optimizer::ADAM]
            .into_iter()
            .flat_map(|o| MODES.map(|m| (o, m)))
        {
            let config = TrainConfig::new(300, OptimConfig::new(1e-3), 0.0, 12)
                .with_log_every(4)
                .with_optimizer(optimizer)
                .with_seed(5);
            let init = weights(Activation::Relu, mode, 4, 3);
            let run = |threads: usize| {
                let mut fused = FusedStepper::new(&init, Activation::Relu, mode, &data, &config);
                fused.set_threads(threads, config.batch_size);
                let outcome = train(&mut fused, &data, &config, |_, _| {});
                (outcome, fused.to_weights())
            };
            let one = run(1);
            assert!(one.0.final_train_loss.is_some_and(f64::is_finite));
            for threads in [2, 3] {
                assert_eq!(
                    run(threads),
                    one,
                    "{optimizer:?} {mode:?} {threads} threads"
                );
            }
        }
    }
}
